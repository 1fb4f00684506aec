import t from 'tap';
import * as tf from '@tensorflow/tfjs';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { selectBackend } from '../../../../trainer/engine/backend/select-backend.js';
import { Rng } from '../../../../trainer/util/rng.js';
import { maxRelError, randomHost, type HostTensor } from '../../../helpers/backend-compare.js';

/** Parameters by name; each net below reads the ones it declares. */
type Params = Record<string, tf.Variable>;
interface TinyNet {
  name: string;
  params: Record<string, number[]>;
  input: number[];
  loss: (p: Params, x: tf.Tensor4D, labels: tf.Tensor2D) => tf.Scalar;
}

function bnRelu(h: tf.Tensor4D, gamma: tf.Tensor, beta: tf.Tensor): tf.Tensor4D {
  const { mean, variance } = tf.moments(h, [0, 1, 2]);
  return tf.relu(tf.batchNorm(h, mean, variance, beta, gamma, 1e-3)) as tf.Tensor4D;
}

function conv(x: tf.Tensor4D, w: tf.Variable, stride: number, pad: 'same' | 'valid'): tf.Tensor4D {
  return tf.conv2d(x, w as tf.Tensor4D, stride, pad);
}

const nets: TinyNet[] = [
  {
    // conv-bn-relu, a strided residual block with a 1x1 projection, global average pool, dense.
    name: 'residual: conv-bn-relu, stride-2 block, global pool, dense',
    input: [4, 9, 9, 3],
    params: {
      w1: [3, 3, 3, 8], g1: [8], b1: [8],
      w2: [3, 3, 8, 12], g2: [12], b2: [12],
      proj: [1, 1, 8, 12],
      dense: [12, 5], bias: [5],
    },
    loss: (p, x, labels) => {
      const h1 = bnRelu(conv(x, p.w1, 1, 'same'), p.g1, p.b1);
      const h2 = bnRelu(conv(h1, p.w2, 2, 'same'), p.g2, p.b2);
      const h = tf.relu(tf.add(h2, conv(h1, p.proj, 2, 'valid')));
      const logits = tf.add(tf.matMul(tf.mean(h, [1, 2]) as tf.Tensor2D, p.dense as tf.Tensor2D), p.bias);
      return tf.losses.softmaxCrossEntropy(labels, logits) as tf.Scalar;
    },
  },
  {
    // LeNet shape: 5x5 valid convs, tanh, 2x2 max and average pools, flatten, dense.
    name: 'LeNet-like: conv5-tanh-maxpool, conv5-relu-avgpool, dense',
    input: [3, 16, 16, 3],
    params: { w1: [5, 5, 3, 6], c1: [6], w2: [3, 3, 6, 8], dense: [2 * 2 * 8, 4], bias: [4] },
    loss: (p, x, labels) => {
      const h1 = tf.maxPool(tf.tanh(tf.add(conv(x, p.w1, 1, 'valid'), p.c1)) as tf.Tensor4D, 2, 2, 'valid') as tf.Tensor4D;
      const h2 = tf.avgPool(tf.relu(conv(h1, p.w2, 1, 'valid')), 2, 2, 'valid');
      const logits = tf.add(tf.matMul(tf.reshape(h2, [x.shape[0], -1]) as tf.Tensor2D, p.dense as tf.Tensor2D), p.bias);
      return tf.losses.softmaxCrossEntropy(labels, logits) as tf.Scalar;
    },
  },
  {
    // ResNeXt's grouped conv, written as split + per-group conv + concat.
    name: 'grouped conv (2 groups) via split/concat, then dense',
    input: [2, 6, 6, 4],
    params: { ga: [3, 3, 2, 3], gb: [3, 3, 2, 3], dense: [6, 3], bias: [3] },
    loss: (p, x, labels) => {
      const [a, b] = tf.split(x, 2, 3) as tf.Tensor4D[];
      const h = tf.relu(tf.concat([conv(a, p.ga, 1, 'same'), conv(b, p.gb, 1, 'same')], 3));
      const logits = tf.add(tf.matMul(tf.mean(h, [1, 2]) as tf.Tensor2D, p.dense as tf.Tensor2D), p.bias);
      return tf.losses.softmaxCrossEntropy(labels, logits) as tf.Scalar;
    },
  },
];

interface GradResult { loss: number; grads: Record<string, Float32Array> }

async function gradsOn(backend: 'cpu' | 'wasm', net: TinyNet, host: Record<string, HostTensor>, x: HostTensor, labels: number[]): Promise<GradResult> {
  await selectBackend(backend, () => {});
  const params: Params = {};
  for (const [k, h] of Object.entries(host)) {
    const init = tf.tensor(h.values, h.shape);
    params[k] = tf.variable(init);
    init.dispose();
  }
  const xt = tf.tensor4d(x.values, x.shape as [number, number, number, number]);
  const classes = net.params.bias[0];
  const lt = tf.tidy(() => tf.oneHot(tf.tensor1d(labels, 'int32'), classes) as tf.Tensor2D);
  try {
    const { value, grads } = tf.variableGrads(() => net.loss(params, xt, lt), Object.values(params));
    const out: GradResult = { loss: value.dataSync()[0], grads: {} };
    for (const [k, v] of Object.entries(params)) out.grads[k] = grads[v.name].dataSync() as Float32Array;
    tf.dispose([value, ...Object.values(grads)]);
    return out;
  } finally {
    tf.dispose([xt, lt, ...Object.values(params)]);
  }
}

for (const net of nets) {
  t.test(`${net.name}: wasm gradients equal the cpu backend's`, async (t) => {
    const rng = new Rng(2024);
    const host: Record<string, HostTensor> = {};
    for (const [k, shape] of Object.entries(net.params)) {
      const fanIn = shape.length === 1 ? 1 : shape.slice(0, -1).reduce((a, b) => a * b, 1);
      host[k] = /^g\d$/.test(k) ? randomHost(rng, shape, 0.5, 1.5) : randomHost(rng, shape, -1 / Math.sqrt(fanIn), 1 / Math.sqrt(fanIn));
    }
    const x = randomHost(rng, net.input);
    const classes = net.params.bias[0];
    const labels = Array.from({ length: net.input[0] }, () => rng.int(classes));

    const cpu = await gradsOn('cpu', net, host, x, labels);
    await selectBackend('wasm', () => {});
    const tensorsBefore = tf.memory().numTensors;
    const idsBefore = (tf.backend() as BackendWasm).numDataIds();
    const wasm = await gradsOn('wasm', net, host, x, labels);
    t.equal(tf.memory().numTensors, tensorsBefore, 'no tensors leaked');
    t.equal((tf.backend() as BackendWasm).numDataIds(), idsBefore, 'no wasm buffers leaked');

    t.ok(Math.abs(wasm.loss - cpu.loss) <= 1e-5 * Math.max(1, Math.abs(cpu.loss)), `loss ${wasm.loss} vs ${cpu.loss}`);
    for (const k of Object.keys(net.params)) {
      const err = maxRelError(wasm.grads[k], cpu.grads[k]);
      t.ok(err < 1e-4, `d${k}: rel err ${err.toExponential(1)}`);
      t.ok(cpu.grads[k].some((v) => v !== 0), `d${k} is not all zeros`);
    }
  });
}
