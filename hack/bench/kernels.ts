// npm run bench:kernels: one conv layer's training step (forward, input and filter gradients)
// in GFLOP/s on the native backend at 1 and 2 threads against the wasm backend in the same
// run, for ResNet-20's and LeNet's convolutions at batch 128, and each backend's matmul rate.
import { selectBackend } from '../../trainer/engine/backend/select-backend.js';
import { CONV_CASES, measurePeakMatmulFlops, timeConvTrainingStep, type ConvCase } from './kernel-bench.js';

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
  const wasm = await timeConvTrainingStep('wasm', c, { steps: 3, maxSeconds: 20 });
  const line = [`${c.name}: wasm ${fmt(flops / wasm.msPerStep / 1e6)} GFLOP/s`];
  for (const threads of native ? [1, 2] : []) {
    await selectBackend('native', () => undefined, { threads });
    const t = await timeConvTrainingStep('native', c, { steps: 5, maxSeconds: 20 });
    line.push(`native ${threads} thread${threads === 1 ? '' : 's'} ${fmt(flops / t.msPerStep / 1e6)} GFLOP/s (${fmt(wasm.msPerStep / t.msPerStep)}x wasm)`);
    if (c === cases[0]) summary.push(`ResNet-20 stage-1 conv ${fmt(flops / t.msPerStep / 1e6)} GFLOP/s on ${threads} thread${threads === 1 ? '' : 's'}`);
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
