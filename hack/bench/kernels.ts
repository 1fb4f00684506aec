// npm run bench:kernels: one conv layer's three training kernels (forward, input gradient,
// filter gradient, run directly: no loss ops, no read-back) in GFLOP/s on the native backend
// at 1 and 2 threads against the wasm backend in the same run, for ResNet-20's and LeNet's
// convolutions at batch 128, and each backend's matmul rate.
import * as tf from '@tensorflow/tfjs';
import { selectBackend } from '../../trainer/engine/backend/select-backend.js';
import { CONV_CASES, measurePeakMatmulFlops, type ConvCase } from './kernel-bench.js';

/** Median milliseconds of Conv2D + Conv2DBackpropInput + Conv2DBackpropFilter on the active backend. */
function timeConvKernels(c: ConvCase, steps = 5): number {
  const attrs = { strides: c.stride, pad: c.pad, dataFormat: 'NHWC', dilations: 1 };
  const x = tf.randomNormal(c.x);
  const w = tf.randomNormal(c.filter, 0, 0.1);
  const dy = tf.tidy(() => tf.randomNormal(tf.conv2d(x as tf.Tensor4D, w as tf.Tensor4D, c.stride, c.pad).shape));
  const once = () => tf.dispose([
    tf.engine().runKernel(tf.Conv2D, { x, filter: w }, attrs) as tf.Tensor,
    tf.engine().runKernel(tf.Conv2DBackpropInput, { dy, filter: w }, { ...attrs, inputShape: c.x }) as tf.Tensor,
    tf.engine().runKernel(tf.Conv2DBackpropFilter, { x, dy }, { ...attrs, filterShape: c.filter }) as tf.Tensor,
  ]);
  try {
    once();
    const times: number[] = [];
    for (let i = 0; i < steps; i++) {
      const t0 = performance.now();
      once();
      times.push(performance.now() - t0);
    }
    return times.sort((a, b) => a - b)[times.length >> 1];
  } finally {
    tf.dispose([x, w, dy]);
  }
}

/** Multiply-adds of one forward conv, times 2 FLOPs, times 3 for the two gradients. */
function trainingFlops(c: ConvCase): number {
  const [n, h, w] = c.x;
  const [kh, kw, ci, co] = c.filter;
  const oh = c.pad === 'same' ? Math.ceil(h / c.stride) : Math.ceil((h - kh + 1) / c.stride);
  const ow = c.pad === 'same' ? Math.ceil(w / c.stride) : Math.ceil((w - kw + 1) / c.stride);
  return 3 * 2 * n * oh * ow * kh * kw * ci * co;
}

const batch128 = (c: ConvCase): ConvCase => ({ ...c, name: c.name.replace(/batch \d+/, 'batch 128'), x: [128, c.x[1], c.x[2], c.x[3]] });
const cases = [CONV_CASES.resnet20, CONV_CASES.resnet20Down, CONV_CASES.lenetConv1, CONV_CASES.lenetConv2].map(batch128);
const fmt = (n: number) => n.toFixed(1);
const summary: string[] = [];

let native = true;
try {
  await selectBackend('native', () => undefined, { threads: 1 });
} catch (err) {
  native = false;
  console.log(`native backend not available: ${err instanceof Error ? err.message : String(err)}`);
}
await selectBackend('wasm', () => undefined);
const wasmPeak = await measurePeakMatmulFlops('wasm', { n: 1024, minSeconds: 2 });
console.log(`wasm: 1024x1024 matmul ${fmt(wasmPeak.flops / 1e9)} GFLOP/s`);
for (const c of cases) {
  const flops = trainingFlops(c);
  await selectBackend('wasm', () => undefined);
  const wasm = timeConvKernels(c, 3);
  const line = [`${c.name}: wasm ${fmt(flops / wasm / 1e6)} GFLOP/s`];
  for (const threads of native ? [1, 2] : []) {
    await selectBackend('native', () => undefined, { threads });
    const ms = timeConvKernels(c);
    line.push(`native ${threads} thread${threads === 1 ? '' : 's'} ${fmt(flops / ms / 1e6)} GFLOP/s (${fmt(wasm / ms)}x wasm)`);
    if (c === cases[0]) summary.push(`ResNet-20 stage-1 conv ${fmt(flops / ms / 1e6)} GFLOP/s on ${threads} thread${threads === 1 ? '' : 's'}`);
  }
  console.log(line.join(', '));
}
if (native) {
  for (const threads of [1, 2]) {
    await selectBackend('native', () => undefined, { threads });
    const peak = await measurePeakMatmulFlops('native', { n: 1024, minSeconds: 2 });
    console.log(`native, ${threads} thread${threads === 1 ? '' : 's'}: 1024x1024 matmul ${fmt(peak.flops / 1e9)} GFLOP/s`);
  }
}
console.log(`bench:kernels summary: ${native ? summary.join('; ') : 'native not built'}; wasm matmul ${fmt(wasmPeak.flops / 1e9)} GFLOP/s`);
