import t, { type Test } from 'tap';
import * as tf from '@tensorflow/tfjs';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { selectBackend } from '../../../../../trainer/engine/backend/select-backend.js';
import { groupedConv2d } from '../../../../../trainer/engine/backend/grouped-conv.js';
import { BATCH_NORM_TRAINING } from '../../../../../trainer/engine/backend/native/kernel-names.js';
import { Rng } from '../../../../../trainer/util/rng.js';
import { maxRelError, randomHost, runOn, type HostTensor } from '../../../../helpers/backend-compare.js';
import { nativeSkip } from '../../../../helpers/native.js';

// Every native kernel against tfjs's pure-JS cpu backend, on shapes that exercise strides,
// padding modes, dilation, groups, 1x1 and non-square filters, broadcasting and the
// chunked reductions; gradients also against finite differences.

const skip = nativeSkip();
const TOL = 2e-5;
type Pad = 'same' | 'valid' | number | [[number, number], [number, number], [number, number], [number, number]];
type Quad = [number, number, number, number];

function dataIds(): number {
  return (tf.findBackend('native') as BackendWasm).numDataIds();
}

/** Runs `f` on cpu and on native with the same inputs; checks every output and that native leaks nothing. */
async function compare(t: Test, label: string, inputs: HostTensor[], f: (...xs: tf.Tensor[]) => tf.Tensor[], tol = TOL): Promise<void> {
  const tidy = (...xs: tf.Tensor[]) => tf.tidy(() => f(...xs));
  const expected = await runOn('cpu', inputs, tidy);
  await tf.setBackend('native');
  const before = dataIds();
  const actual = await runOn('native', inputs, tidy);
  t.equal(dataIds(), before, `${label}: no buffers left behind`);
  expected.forEach((e, i) => {
    const err = maxRelError(actual[i], e);
    t.ok(err <= tol, `${label}: output ${i} rel err ${err.toExponential(1)}`);
  });
}

/** Central differences of sum(f(x) * r) with respect to `count` coordinates of input `which`, on native. */
function finiteDifferences(inputs: HostTensor[], which: number, f: (...xs: tf.Tensor[]) => tf.Tensor, r: HostTensor, coords: number[], h: number): number[] {
  const loss = (values: Float32Array): number => tf.tidy(() => {
    const xs = inputs.map((x, i) => tf.tensor(i === which ? values : x.values, x.shape));
    return f(...xs).mul(tf.tensor(r.values, r.shape)).sum().dataSync()[0];
  });
  return coords.map((c) => {
    const plus = Float32Array.from(inputs[which].values);
    const minus = Float32Array.from(inputs[which].values);
    plus[c] += h;
    minus[c] -= h;
    return (loss(plus) - loss(minus)) / (2 * h);
  });
}

/** The analytic gradient of sum(f(x) * r) on native, at `coords` of input `which`. */
function analytic(inputs: HostTensor[], which: number, f: (...xs: tf.Tensor[]) => tf.Tensor, r: HostTensor, coords: number[]): number[] {
  return tf.tidy(() => {
    const xs = inputs.map((x) => tf.tensor(x.values, x.shape));
    const rt = tf.tensor(r.values, r.shape);
    const g = tf.grads((...args: tf.Tensor[]) => f(...args).mul(rt).sum())(xs)[which].dataSync();
    return coords.map((c) => g[c]);
  });
}

function checkFiniteDifferences(t: Test, label: string, inputs: HostTensor[], f: (...xs: tf.Tensor[]) => tf.Tensor, rng: Rng, h = 1e-2, tol = 2e-2): void {
  const outShape = tf.tidy(() => f(...inputs.map((x) => tf.tensor(x.values, x.shape))).shape);
  const r = randomHost(rng, outShape);
  inputs.forEach((x, which) => {
    const coords = Array.from({ length: 6 }, () => rng.int(x.values.length));
    const numeric = finiteDifferences(inputs, which, f, r, coords, h);
    const exact = analytic(inputs, which, f, r, coords);
    const scale = Math.max(1, ...numeric.map(Math.abs));
    const worst = Math.max(...numeric.map((n, i) => Math.abs(n - exact[i]))) / scale;
    t.ok(worst < tol, `${label}: d/input ${which} matches finite differences (rel err ${worst.toExponential(1)})`);
  });
}

t.before(async () => {
  if (skip === false) await selectBackend('native', () => {}, { threads: 2 });
});

interface ConvCase { x: Quad; k: [number, number]; outC: number; strides: number | [number, number]; pad: Pad; dilations?: number | [number, number] }
const convCases: ConvCase[] = [
  { x: [2, 7, 7, 3], k: [3, 3], outC: 4, strides: 1, pad: 'same' },
  { x: [2, 7, 7, 3], k: [3, 3], outC: 4, strides: 2, pad: 'same' },
  { x: [2, 7, 7, 3], k: [3, 3], outC: 4, strides: 1, pad: 'valid' },
  { x: [3, 8, 8, 4], k: [3, 3], outC: 5, strides: 2, pad: 'valid' }, // last row unused
  { x: [1, 8, 8, 5], k: [1, 1], outC: 6, strides: 2, pad: 'valid' }, // projection shortcut
  { x: [2, 6, 6, 7], k: [1, 1], outC: 3, strides: 1, pad: 'same' },
  { x: [2, 9, 6, 2], k: [5, 5], outC: 3, strides: 2, pad: 'same' }, // non-square input
  { x: [5, 12, 12, 3], k: [5, 5], outC: 6, strides: 1, pad: 'valid' }, // LeNet-like
  { x: [2, 7, 9, 3], k: [3, 5], outC: 2, strides: [1, 2], pad: 'same' }, // non-square filter and strides
  { x: [2, 6, 6, 3], k: [3, 3], outC: 4, strides: 1, pad: 1 },
  { x: [2, 7, 7, 2], k: [3, 3], outC: 3, strides: 2, pad: [[0, 0], [2, 1], [0, 2], [0, 0]] },
  { x: [2, 16, 16, 16], k: [3, 3], outC: 16, strides: 1, pad: 'same' }, // ResNet-20 layer, small batch
];
const dilatedCases: ConvCase[] = [
  { x: [2, 9, 9, 3], k: [3, 3], outC: 4, strides: 1, pad: 'same', dilations: 2 },
  { x: [2, 10, 8, 2], k: [3, 2], outC: 3, strides: 1, pad: 'valid', dilations: [2, 3] },
];

function convLabel(c: ConvCase): string {
  return `x ${c.x.join('x')} k ${c.k.join('x')}->${c.outC} stride ${JSON.stringify(c.strides)} pad ${JSON.stringify(c.pad)}${c.dilations ? ` dilation ${JSON.stringify(c.dilations)}` : ''}`;
}

t.test('Conv2D and FusedConv2D (bias, relu) match the cpu backend, with dilation', { skip }, async (t) => {
  const rng = new Rng(3);
  for (const c of [...convCases, ...dilatedCases]) {
    const w: Quad = [c.k[0], c.k[1], c.x[3], c.outC];
    const inputs = [randomHost(rng, c.x), randomHost(rng, w), randomHost(rng, [c.outC])];
    await compare(t, convLabel(c), inputs, (x, f, b) => [
      tf.conv2d(x as tf.Tensor4D, f as tf.Tensor4D, c.strides, c.pad, 'NHWC', c.dilations ?? 1),
      tf.fused.conv2d({ x: x as tf.Tensor4D, filter: f as tf.Tensor4D, strides: c.strides, pad: c.pad, dilations: c.dilations ?? 1, bias: b, activation: 'relu' }),
    ]);
  }
});

t.test('Conv2DBackpropInput and Conv2DBackpropFilter match the cpu backend', { skip }, async (t) => {
  const rng = new Rng(11);
  for (const c of convCases) {
    const filterShape: Quad = [c.k[0], c.k[1], c.x[3], c.outC];
    const yShape = tf.tidy(() => tf.conv2d(tf.zeros(c.x) as tf.Tensor4D, tf.zeros(filterShape) as tf.Tensor4D, c.strides, c.pad).shape);
    const attrs = { strides: c.strides, pad: c.pad, dataFormat: 'NHWC' };
    await compare(t, convLabel(c), [randomHost(rng, c.x), randomHost(rng, filterShape), randomHost(rng, yShape)], (x, w, dy) => [
      tf.engine().runKernel(tf.Conv2DBackpropFilter, { x, dy }, { ...attrs, filterShape }) as tf.Tensor,
      tf.engine().runKernel(tf.Conv2DBackpropInput, { dy, filter: w }, { ...attrs, inputShape: c.x }) as tf.Tensor,
    ]);
  }
});

interface GroupedCase { x: Quad; k: [number, number]; outC: number; groups: number; strides: [number, number]; pad: 'same' | 'valid'; dilations?: [number, number] }
const groupedCases: GroupedCase[] = [
  { x: [2, 6, 6, 4], k: [3, 3], outC: 6, groups: 2, strides: [1, 1], pad: 'same' },
  { x: [2, 7, 7, 8], k: [3, 3], outC: 8, groups: 4, strides: [2, 2], pad: 'same' }, // ResNeXt's strided block
  { x: [1, 6, 5, 6], k: [1, 1], outC: 9, groups: 3, strides: [1, 1], pad: 'valid' },
  { x: [2, 8, 9, 4], k: [3, 2], outC: 4, groups: 2, strides: [2, 1], pad: 'valid' },
  { x: [2, 9, 9, 4], k: [3, 3], outC: 4, groups: 2, strides: [1, 1], pad: 'same', dilations: [2, 2] },
];

t.test('grouped convolution and its gradients match split/concat on the cpu backend, and finite differences', { skip }, async (t) => {
  const rng = new Rng(17);
  for (const c of groupedCases) {
    const label = `grouped x ${c.x.join('x')} k ${c.k.join('x')}->${c.outC} groups ${c.groups} stride ${c.strides.join('x')} ${c.pad}${c.dilations ? ` dilation ${c.dilations.join('x')}` : ''}`;
    const w: Quad = [c.k[0], c.k[1], c.x[3] / c.groups, c.outC];
    const conv = (x: tf.Tensor, f: tf.Tensor) => groupedConv2d(x as tf.Tensor4D, f as tf.Tensor4D, c.strides, c.pad, c.groups, c.dilations);
    const inputs = [randomHost(rng, c.x), randomHost(rng, w)];
    const outShape = tf.tidy(() => conv(tf.zeros(c.x), tf.zeros(w)).shape);
    inputs.push(randomHost(rng, outShape));
    // tfjs's own conv2d has no gradient with dilation: there only finite differences check it.
    await compare(t, label, inputs, (x, f, r) => [conv(x, f), ...(c.dilations ? [] : tf.grads((a: tf.Tensor, b: tf.Tensor) => conv(a, b).mul(r).sum())([x, f]))]);
    await tf.setBackend('native');
    checkFiniteDifferences(t, label, inputs.slice(0, 2), conv, rng);
  }
});

t.test('Conv2D gradients match finite differences (stride 2, same padding)', { skip }, async (t) => {
  await tf.setBackend('native');
  const rng = new Rng(23);
  const inputs = [randomHost(rng, [2, 7, 6, 3]), randomHost(rng, [3, 3, 3, 4])];
  checkFiniteDifferences(t, 'conv2d 3x3/2 same', inputs, (x, f) => tf.conv2d(x as tf.Tensor4D, f as tf.Tensor4D, 2, 'same'), rng);
});

t.test('BatchMatMul and _FusedMatMul: transposes, broadcast batches, bias and relu', { skip }, async (t) => {
  const rng = new Rng(29);
  const cases: { a: number[]; b: number[]; ta: boolean; tb: boolean }[] = [
    { a: [3, 5], b: [5, 4], ta: false, tb: false },
    { a: [5, 3], b: [5, 4], ta: true, tb: false },
    { a: [3, 5], b: [4, 5], ta: false, tb: true },
    { a: [5, 3], b: [4, 5], ta: true, tb: true },
    { a: [2, 3, 5], b: [2, 5, 4], ta: false, tb: false },
    { a: [3, 5], b: [2, 5, 4], ta: false, tb: false }, // a broadcast
    { a: [2, 5, 3], b: [4, 5], ta: true, tb: true }, // b broadcast
    { a: [128, 1250], b: [1250, 50], ta: false, tb: false }, // LeNet's dense layer, narrowed
  ];
  for (const c of cases) {
    const n = c.tb ? c.b[c.b.length - 2] : c.b[c.b.length - 1];
    const label = `a [${c.a.join(',')}]${c.ta ? 'ᵀ' : ''} b [${c.b.join(',')}]${c.tb ? 'ᵀ' : ''}`;
    await compare(t, label, [randomHost(rng, c.a), randomHost(rng, c.b), randomHost(rng, [n])], (a, b, bias) => [
      tf.matMul(a, b, c.ta, c.tb),
      tf.fused.matMul({ a, b, transposeA: c.ta, transposeB: c.tb, bias, activation: 'relu' }),
    ], 1e-5);
  }
});

t.test('dense (fused matMul, bias, relu) and max-pool gradients match finite differences', { skip }, async (t) => {
  await tf.setBackend('native');
  const rng = new Rng(61);
  // Inputs kept away from relu's kink and from max-pool ties, where the derivative jumps.
  const dense = [randomHost(rng, [5, 7]), randomHost(rng, [7, 4]), randomHost(rng, [4], 2, 3)];
  checkFiniteDifferences(t, 'dense', dense, (a, b, bias) => tf.fused.matMul({ a, b, bias, activation: 'relu' }), rng, 1e-2);
  const x = randomHost(rng, [2, 6, 6, 3]);
  x.values.forEach((_, i) => { x.values[i] = (i * 7919) % 431 / 43.1; }); // distinct values, spaced 0.1 apart at least
  checkFiniteDifferences(t, 'max pool 3x3/2 same', [x], (v) => tf.maxPool(v as tf.Tensor4D, 3, 2, 'same'), rng, 1e-3);
});

t.test('binary ops broadcast like the cpu backend', { skip }, async (t) => {
  const rng = new Rng(31);
  const pairs: [number[], number[]][] = [
    [[2, 3, 4, 5], [2, 3, 4, 5]], [[2, 3, 4, 5], [5]], [[5], [2, 3, 4, 5]], [[2, 3, 4, 5], [1, 3, 1, 5]],
    [[2, 3, 4, 5], []], [[], [3, 4]], [[2, 1, 4, 1], [1, 3, 1, 5]], [[64, 33, 40], [64, 1, 40]],
  ];
  const ops: [string, (a: tf.Tensor, b: tf.Tensor) => tf.Tensor][] = [
    ['add', tf.add], ['sub', tf.sub], ['mul', tf.mul], ['div', tf.div], ['maximum', tf.maximum], ['minimum', tf.minimum], ['squaredDifference', tf.squaredDifference],
  ];
  for (const [a, b] of pairs) {
    await compare(t, `[${a.join(',')}] op [${b.join(',')}]`, [randomHost(rng, a), randomHost(rng, b, 0.5, 1.5)], (x, y) => ops.map(([, op]) => op(x, y)), 1e-6);
  }
});

t.test('unary ops and activation gradients match the cpu backend', { skip }, async (t) => {
  const rng = new Rng(37);
  const x = randomHost(rng, [4, 33, 35, 7], -3, 3);
  x.values[5] = 0; // relu's and step's boundary
  const positive = randomHost(rng, [4, 33, 35, 7], 0.1, 4);
  await compare(t, 'relu, neg, square, step, relu6, abs', [x], (v) => [tf.relu(v), tf.neg(v), tf.square(v), tf.step(v, 0.25), tf.relu6(v.mul(3)), tf.abs(v)], 1e-7);
  await compare(t, 'tanh, sigmoid, exp', [x], (v) => [tf.tanh(v), tf.sigmoid(v), tf.exp(v)], 2e-6);
  await compare(t, 'sqrt, rsqrt', [positive], (v) => [tf.sqrt(v), tf.rsqrt(v)], 2e-6);
  const dy = randomHost(rng, x.shape);
  await compare(t, 'relu, tanh and sigmoid gradients', [x, dy], (v, g) => [
    tf.grad((a: tf.Tensor) => tf.relu(a).mul(g).sum())(v),
    tf.grad((a: tf.Tensor) => tf.tanh(a).mul(g).sum())(v),
    tf.grad((a: tf.Tensor) => tf.sigmoid(a).mul(g).sum())(v),
  ], 2e-6);
});

t.test('sum, mean, max and min over runs of axes, in fixed chunks', { skip }, async (t) => {
  const rng = new Rng(41);
  const cases: { shape: number[]; axes: number[] | null; keepDims?: boolean }[] = [
    { shape: [8, 9, 10, 6], axes: [0, 1, 2] }, // batch-norm statistics
    { shape: [8, 9, 10, 6], axes: [1, 2] }, // global average pool
    { shape: [8, 9, 10, 6], axes: [3], keepDims: true },
    { shape: [8, 9, 10, 6], axes: null },
    { shape: [8, 9, 10, 6], axes: [0, 2] }, // not one run: the wasm kernel
    { shape: [600, 70], axes: [0] }, // more rows than one chunk
    { shape: [3, 9000], axes: [1] }, // longer runs than one chunk
    { shape: [5, 1, 7], axes: [0, 1] }, // a size-1 axis in the run
  ];
  for (const c of cases) {
    await compare(t, `[${c.shape.join(',')}] over ${JSON.stringify(c.axes)}${c.keepDims ? ' keepDims' : ''}`, [randomHost(rng, c.shape)], (x) => [
      tf.sum(x, c.axes ?? undefined, c.keepDims), tf.mean(x, c.axes ?? undefined, c.keepDims), tf.max(x, c.axes ?? undefined, c.keepDims), tf.min(x, c.axes ?? undefined, c.keepDims),
    ], 1e-5);
  }
});

t.test('batch-norm training kernel: statistics, output and gradients against tf.moments + tf.batchNorm on cpu', { skip }, async (t) => {
  const rng = new Rng(43);
  const eps = 2e-5;
  const cases: { shape: number[]; offset: number }[] = [
    { shape: [4, 5, 5, 3], offset: 0 },
    { shape: [2, 3, 7], offset: 0 },
    { shape: [600, 8], offset: 0 }, // several chunks of rows
    { shape: [3, 6, 6, 4], offset: 100 }, // a mean far from zero
  ];
  for (const c of cases) {
    const C = c.shape[c.shape.length - 1];
    const x = randomHost(rng, c.shape, c.offset - 1, c.offset + 1);
    const gamma = randomHost(rng, [C], 0.5, 1.5);
    const beta = randomHost(rng, [C]);
    const [rY, rM, rV] = [randomHost(rng, c.shape), randomHost(rng, [C]), randomHost(rng, [C])];
    const axes = c.shape.slice(0, -1).map((_, i) => i);
    // All three outputs feed the loss, so the gradient's mean and variance terms are checked too.
    const bn = (xt: tf.Tensor, g: tf.Tensor, b: tf.Tensor): tf.Tensor[] => {
      if (tf.getBackend() === 'native') return tf.engine().runKernel(BATCH_NORM_TRAINING, { x: xt, scale: g, offset: b }, { varianceEpsilon: eps }) as tf.Tensor[];
      const { mean, variance } = tf.moments(xt, axes);
      return [tf.batchNorm(xt, mean, variance, b, g, eps), mean, variance];
    };
    const loss = (ry: tf.Tensor, rm: tf.Tensor, rv: tf.Tensor) => (xt: tf.Tensor, g: tf.Tensor, b: tf.Tensor) => {
      const [y, m, v] = bn(xt, g, b);
      return y.mul(ry).sum().add(m.mul(rm).sum()).add(v.mul(rv).sum());
    };
    await compare(t, `[${c.shape.join(',')}] around ${c.offset}`, [x, gamma, beta, rY, rM, rV], (xt, g, b, ry, rm, rv) => [
      ...bn(xt, g, b), ...tf.grads(loss(ry, rm, rv))([xt, g, b]),
    ], c.offset === 0 ? 2e-5 : 2e-3);
    if (c.offset === 0) {
      await tf.setBackend('native');
      checkFiniteDifferences(t, `batch norm [${c.shape.join(',')}]`, [x, gamma, beta], (xt, g, b) => bn(xt, g, b)[0], rng, 1e-2, 3e-2);
    }
  }
});

t.test('FusedBatchNorm with given statistics (inference) matches the cpu backend', { skip }, async (t) => {
  const rng = new Rng(47);
  const x = randomHost(rng, [3, 5, 5, 4]);
  const stats = [randomHost(rng, [4]), randomHost(rng, [4], 0.5, 2), randomHost(rng, [4]), randomHost(rng, [4], 0.5, 1.5)];
  await compare(t, 'batchNorm with mean, variance, offset, scale', [x, ...stats], (v, m, s, o, g) => [tf.batchNorm(v, m, s, o, g, 1e-3), tf.batchNorm(v, m, s, undefined, undefined, 1e-3)], 1e-6);
});

t.test('MaxPool and MaxPoolGrad match the cpu backend, including ties and all-negative windows', { skip }, async (t) => {
  const rng = new Rng(53);
  const cases: { x: Quad; k: number; s: number; pad: 'same' | 'valid'; lo: number; hi: number; ties?: boolean }[] = [
    { x: [2, 6, 6, 3], k: 2, s: 2, pad: 'valid', lo: -1, hi: 1 },
    { x: [2, 6, 6, 3], k: 2, s: 2, pad: 'valid', lo: -2, hi: -1 },
    { x: [3, 7, 7, 7], k: 3, s: 2, pad: 'same', lo: -1, hi: 1 },
    { x: [2, 5, 5, 2], k: 3, s: 1, pad: 'same', lo: -1, hi: 0 },
    { x: [2, 8, 8, 4], k: 2, s: 2, pad: 'valid', lo: 0, hi: 1, ties: true },
    { x: [4, 28, 28, 20], k: 2, s: 2, pad: 'valid', lo: -1, hi: 1 }, // LeNet pool 1
  ];
  for (const c of cases) {
    const x = randomHost(rng, c.x, c.lo, c.hi);
    if (c.ties === true) x.values.forEach((v, i) => { x.values[i] = Math.round(v * 2); });
    const yShape = tf.tidy(() => tf.maxPool(tf.zeros(c.x) as tf.Tensor4D, c.k, c.s, c.pad).shape);
    await compare(t, `x ${c.x.join('x')} pool ${c.k}/${c.s} ${c.pad} in [${c.lo}, ${c.hi})${c.ties ? ' with ties' : ''}`, [x, randomHost(rng, yShape, 0.5, 1.5)], (v, dy) => [
      tf.maxPool(v as tf.Tensor4D, c.k, c.s, c.pad),
      tf.grad((a: tf.Tensor) => tf.maxPool(a as tf.Tensor4D, c.k, c.s, c.pad).mul(dy).sum())(v),
    ], 1e-6);
  }
});

t.test('cases the addon does not cover run the wasm kernel on the same heap', { skip }, async (t) => {
  const rng = new Rng(59);
  // int32 arithmetic, NCHW would be others; an int32 add and a cast are the common ones.
  await compare(t, 'int32 add, cast to int32 and back', [randomHost(rng, [3, 4], 0, 10)], (x) => {
    const i = x.toInt();
    return [tf.add(i, i).toFloat(), x.toInt().toFloat()];
  }, 0);
  await tf.setBackend('native');
  const x = tf.tensor([1.5, -2.5]);
  const y = tf.clone(x);
  t.equal(tf.engine().state.tensorInfo.get(y.dataId)?.backend, tf.engine().state.tensorInfo.get(x.dataId)?.backend);
  t.same(Array.from(y.dataSync()), [1.5, -2.5], 'Identity shares the data and reads the same values');
  tf.dispose([x, y]);
});
