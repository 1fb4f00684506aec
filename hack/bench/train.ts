// npm run bench:train: training throughput per model and backend, against stock tfjs on the
// pure-JS cpu backend in the same run, and as a fraction of the machine's measured matmul peak.
import * as tf from '@tensorflow/tfjs';
import { parseArgs } from 'node:util';
import { selectBackend, type BackendName } from '../../trainer/engine/backend/select-backend.js';
import { buildModel, type ModelSpec } from '../../trainer/engine/models/registry.js';
import { forwardFlopsPerImage } from '../../trainer/engine/models/flops.js';
import { parameterGroups } from '../../trainer/engine/models/head.js';
import { Sgd } from '../../trainer/engine/optim/sgd.js';
import { computeGradients } from '../../trainer/engine/train/step.js';
import { Rng } from '../../trainer/util/rng.js';
import { measurePeakMatmulFlops } from './kernel-bench.js';

const { values } = parseArgs({ options: { quick: { type: 'boolean' }, 'max-seconds': { type: 'string', default: '20' } } });
const maxSeconds = Number(values['max-seconds']);

interface Case {
  label: string;
  spec: Omit<ModelSpec, 'seed'>;
  batch: number;
  /** Stock cpu is orders of magnitude slower: a smaller batch keeps its one step short. */
  cpuBatch: number;
}

const CASES: Case[] = [
  { label: 'LeNet', spec: { name: 'lenet', inputShape: [32, 32, 3], numClasses: 10 }, batch: 128, cpuBatch: 16 },
  { label: 'ResNet-20', spec: { name: 'resnet', depth: 20, inputShape: [32, 32, 3], numClasses: 10 }, batch: 128, cpuBatch: 2 },
  { label: 'ResNeXt-11 2x8d', spec: { name: 'resnext', preset: 'tiny', inputShape: [32, 32, 3], numClasses: 10 }, batch: 128, cpuBatch: 2 },
];

/** Images/s of full training steps (forward, backward, SGD update) on random data. */
async function imagesPerSecond(backend: BackendName, c: Case, batch: number): Promise<{ ips: number; steps: number; flops: number }> {
  await selectBackend(backend, () => undefined);
  const model = buildModel({ ...c.spec, seed: 1 });
  const groups = parameterGroups(model);
  const params = groups.head.map((p) => ({ variable: p.variable, decay: p.kind === 'weight', lrMultiplier: 1 }));
  const sgd = new Sgd(params, { momentum: 0.9, nesterov: false, weightDecay: 1e-4 });
  const rng = new Rng(7);
  const [h, w, ch] = c.spec.inputShape;
  const x = Float32Array.from({ length: batch * h * w * ch }, () => rng.normal());
  const y = Int32Array.from({ length: batch }, () => rng.int(10));
  const step = () => {
    const r = computeGradients(model, params.map((p) => p.variable), { x, y, size: batch }, [h, w, ch], 0);
    sgd.apply(r.grads, 0.01);
    tf.dispose(Object.values(r.grads));
  };
  try {
    step(); // warm-up: kernel compilation and allocation
    let steps = 0;
    const t0 = performance.now();
    do {
      step();
      steps++;
    } while ((performance.now() - t0) / 1000 < maxSeconds && steps < 50);
    const seconds = (performance.now() - t0) / 1000;
    return { ips: (steps * batch) / seconds, steps, flops: forwardFlopsPerImage(model) };
  } finally {
    sgd.dispose();
    model.dispose();
  }
}

const fmt = (n: number, d = 0) => n.toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: d });
const available: BackendName[] = [];
for (const b of ['tensorflow', 'wasm', 'cpu'] as const) {
  try {
    await selectBackend(b, () => undefined);
    available.push(b);
  } catch (err) {
    console.log(`backend ${b}: not available here (${err instanceof Error ? err.message.split('\n')[0] : String(err)})`);
  }
}
const fastest = available.find((b) => b !== 'cpu') ?? 'cpu';
const peak = await measurePeakMatmulFlops(fastest, { n: 1024, minSeconds: 2 });
console.log(`peak: ${fmt(peak.flops / 1e9, 1)} GFLOP/s (1024x1024 matmul on ${fastest}, one core)`);

const summary: string[] = [];
for (const c of CASES) {
  const reference = values.quick && c.cpuBatch < 16 ? undefined : await imagesPerSecond('cpu', c, c.cpuBatch);
  if (reference) console.log(`${c.label}: stock tfjs cpu backend, batch ${c.cpuBatch}: ${fmt(reference.ips, 2)} images/s (${reference.steps} steps)`);
  for (const backend of available.filter((b) => b !== 'cpu')) {
    const r = await imagesPerSecond(backend, c, c.batch);
    const trainFlops = 3 * r.flops * r.ips;
    const vsCpu = reference ? `, ${fmt(r.ips / reference.ips, 0)}x stock cpu` : '';
    console.log(`${c.label}: ${backend}, batch ${c.batch}: ${fmt(r.ips, 1)} images/s (${r.steps} steps)${vsCpu}, ${fmt(trainFlops / 1e9, 2)} GFLOP/s = ${fmt(trainFlops / peak.flops, 2)} of matmul peak`);
    summary.push(`${c.label} ${fmt(r.ips, 0)} img/s${reference ? ` (${fmt(r.ips / reference.ips, 0)}x cpu)` : ''}`);
  }
}
console.log(`bench:train summary (one core, ${fastest}): ${summary.join('; ')}; targets LeNet >= 1,000 img/s, ResNet-20 >= 15 img/s`);
