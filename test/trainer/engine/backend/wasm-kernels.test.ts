import t from 'tap';
import * as tf from '@tensorflow/tfjs';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { selectBackend } from '../../../../trainer/engine/backend/select-backend.js';
import { registerWasmTrainingKernels, WASM_TRAINING_KERNELS } from '../../../../trainer/engine/backend/register.js';
import { Rng } from '../../../../trainer/util/rng.js';
import { maxRelError, randomHost, runOn, type HostTensor } from '../../../helpers/backend-compare.js';

const TOL = 1e-4;
type Pad = 'same' | 'valid' | number | [[number, number], [number, number], [number, number], [number, number]];
interface ConvCase { x: [number, number, number, number]; k: [number, number]; outC: number; strides: number | [number, number]; pad: Pad }

const convCases: ConvCase[] = [
  { x: [2, 7, 7, 3], k: [3, 3], outC: 4, strides: 1, pad: 'same' },
  { x: [2, 7, 7, 3], k: [3, 3], outC: 4, strides: 2, pad: 'same' },
  { x: [2, 7, 7, 3], k: [3, 3], outC: 4, strides: 1, pad: 'valid' },
  { x: [2, 7, 7, 3], k: [3, 3], outC: 4, strides: 2, pad: 'valid' },
  { x: [3, 8, 8, 4], k: [3, 3], outC: 5, strides: 2, pad: 'valid' }, // last row unused: crop path
  { x: [3, 8, 8, 4], k: [3, 3], outC: 5, strides: 2, pad: 'same' },
  { x: [1, 8, 8, 5], k: [1, 1], outC: 6, strides: 2, pad: 'valid' }, // projection shortcut
  { x: [2, 6, 6, 7], k: [1, 1], outC: 3, strides: 1, pad: 'same' },
  { x: [2, 9, 6, 2], k: [5, 5], outC: 3, strides: 2, pad: 'same' }, // non-square
  { x: [5, 12, 12, 3], k: [5, 5], outC: 6, strides: 1, pad: 'valid' }, // LeNet-like
  { x: [2, 7, 9, 3], k: [3, 5], outC: 2, strides: [1, 2], pad: 'same' }, // asymmetric kernel and stride
  { x: [2, 6, 6, 3], k: [3, 3], outC: 4, strides: 1, pad: 1 },
  { x: [2, 7, 7, 2], k: [3, 3], outC: 3, strides: 2, pad: [[0, 0], [2, 1], [0, 2], [0, 0]] },
  { x: [2, 16, 16, 16], k: [3, 3], outC: 16, strides: 1, pad: 'same' }, // ResNet-20 layer, small batch
];

function label(c: ConvCase): string {
  return `x ${c.x.join('x')} k ${c.k.join('x')}->${c.outC} stride ${JSON.stringify(c.strides)} pad ${JSON.stringify(c.pad)}`;
}

function outShape(c: ConvCase): number[] {
  const y = tf.tidy(() => tf.conv2d(tf.zeros(c.x) as tf.Tensor4D, tf.zeros([...c.k, c.x[3], c.outC]) as tf.Tensor4D, c.strides, c.pad));
  const shape = y.shape;
  y.dispose();
  return shape;
}

function wasmDataIds(): number {
  return (tf.backend() as BackendWasm).numDataIds();
}

t.before(async () => {
  await selectBackend('wasm', () => {});
});

t.test('our kernels are the ones registered for wasm, and registering again changes nothing', async (t) => {
  const names = registerWasmTrainingKernels();
  t.same(names.sort(), ['BatchMatMul', 'Conv2DBackpropFilter', 'Conv2DBackpropInput', 'MaxPoolGrad']);
  for (const k of WASM_TRAINING_KERNELS) t.equal(tf.getKernel(k.kernelName, 'wasm')?.kernelFunc, k.kernelFunc, k.kernelName);
  const warnings: unknown[] = [];
  const warn = console.warn;
  console.warn = (...args: unknown[]) => warnings.push(args);
  try {
    registerWasmTrainingKernels();
  } finally {
    console.warn = warn;
  }
  t.same(warnings, [], 'no duplicate-registration warnings');
});

t.test('Conv2DBackpropFilter and Conv2DBackpropInput match the cpu backend', async (t) => {
  const rng = new Rng(11);
  for (const c of convCases) {
    const filterShape: [number, number, number, number] = [c.k[0], c.k[1], c.x[3], c.outC];
    const x = randomHost(rng, c.x);
    const w = randomHost(rng, filterShape);
    const dy = randomHost(rng, outShape(c));
    const attrs = { strides: c.strides, pad: c.pad, dataFormat: 'NHWC' };
    const both = (xt: tf.Tensor, wt: tf.Tensor, dyt: tf.Tensor): tf.Tensor[] => [
      tf.engine().runKernel(tf.Conv2DBackpropFilter, { x: xt, dy: dyt }, { ...attrs, filterShape }) as tf.Tensor,
      tf.engine().runKernel(tf.Conv2DBackpropInput, { dy: dyt, filter: wt }, { ...attrs, inputShape: c.x }) as tf.Tensor,
    ];
    const inputs: HostTensor[] = [x, w, dy];
    const expected = await runOn('cpu', inputs, both);
    await tf.setBackend('wasm');
    const idsBefore = wasmDataIds();
    const actual = await runOn('wasm', inputs, both);
    t.equal(wasmDataIds(), idsBefore, `${label(c)}: no wasm buffers left behind`);
    t.ok(maxRelError(actual[0], expected[0]) < TOL, `${label(c)}: dW rel err ${maxRelError(actual[0], expected[0]).toExponential(1)}`);
    t.ok(maxRelError(actual[1], expected[1]) < TOL, `${label(c)}: dx rel err ${maxRelError(actual[1], expected[1]).toExponential(1)}`);
  }
});

t.test('MaxPoolGrad matches the cpu backend, including windows that are all negative and ties', async (t) => {
  const rng = new Rng(5);
  const cases: { x: [number, number, number, number]; k: number; s: number; pad: 'same' | 'valid'; lo: number; hi: number; ties?: boolean }[] = [
    { x: [2, 6, 6, 3], k: 2, s: 2, pad: 'valid', lo: -1, hi: 1 },
    { x: [2, 6, 6, 3], k: 2, s: 2, pad: 'valid', lo: -2, hi: -1 },
    { x: [1, 7, 7, 1], k: 2, s: 2, pad: 'valid', lo: -1, hi: 0 },
    { x: [3, 7, 7, 7], k: 3, s: 2, pad: 'same', lo: -1, hi: 1 },
    { x: [2, 5, 5, 2], k: 3, s: 1, pad: 'same', lo: -1, hi: 0 },
    { x: [2, 8, 8, 4], k: 2, s: 2, pad: 'valid', lo: 0, hi: 1, ties: true },
    { x: [2, 28, 28, 6], k: 2, s: 2, pad: 'valid', lo: -1, hi: 1 }, // LeNet pool 1
  ];
  for (const c of cases) {
    const x = randomHost(rng, c.x, c.lo, c.hi);
    if (c.ties === true) x.values.forEach((v, i) => { x.values[i] = Math.round(v * 2); });
    const yShape = tf.tidy(() => tf.maxPool(tf.zeros(c.x) as tf.Tensor4D, c.k, c.s, c.pad).shape);
    const dy = randomHost(rng, yShape, 0.5, 1.5);
    const grad = (xt: tf.Tensor, dyt: tf.Tensor): tf.Tensor[] => [
      tf.grad((v: tf.Tensor) => tf.maxPool(v as tf.Tensor4D, c.k, c.s, c.pad).mul(dyt).sum())(xt),
    ];
    const expected = await runOn('cpu', [x, dy], grad);
    await tf.setBackend('wasm');
    const ids = wasmDataIds();
    const actual = await runOn('wasm', [x, dy], grad);
    t.equal(wasmDataIds(), ids, 'no wasm buffers left behind');
    const err = maxRelError(actual[0], expected[0]);
    t.ok(err < 1e-6, `x ${c.x.join('x')} pool ${c.k}/${c.s} ${c.pad} values [${c.lo}, ${c.hi})${c.ties === true ? ' with ties' : ''}: rel err ${err.toExponential(1)}`);
  }
});

t.test('unsupported layouts fail with the kernel named', async (t) => {
  await tf.setBackend('wasm');
  const x = tf.zeros([1, 3, 4, 4]);
  const dy = tf.zeros([1, 3, 4, 4]);
  t.throws(
    () => tf.engine().runKernel(tf.Conv2DBackpropFilter, { x, dy }, { strides: 1, pad: 'same', dataFormat: 'NCHW', filterShape: [1, 1, 3, 3] }),
    /Conv2DBackpropFilter on wasm: dataFormat 'NCHW'/,
  );
  tf.dispose([x, dy]);
});
