// npm run bench:profile -- [--backend wasm|native|cpu] [--model resnet|lenet|resnext-tiny] [--batch N] [--steps N] [--threads N]
// Where one training step's time goes, per tfjs kernel: every kernel registered for the
// backend is wrapped with a timer, then full steps (forward, backward, SGD update, as the
// trainer runs them) are timed. The kernels' total is set against the step's wall time;
// the rest is tfjs's own bookkeeping (tape, gradient functions, JS glue).
import * as tf from '@tensorflow/tfjs';
import { parseArgs } from 'node:util';
import { selectBackend, BACKEND_CHOICES, type BackendChoice } from '../../trainer/engine/backend/select-backend.js';
import { buildModel, type ModelSpec } from '../../trainer/engine/models/registry.js';
import { parameterGroups } from '../../trainer/engine/models/head.js';
import { Sgd } from '../../trainer/engine/optim/sgd.js';
import { computeGradients } from '../../trainer/engine/train/step.js';
import { Rng } from '../../trainer/util/rng.js';

const { values } = parseArgs({
  options: {
    backend: { type: 'string', default: 'wasm' },
    model: { type: 'string', default: 'resnet' },
    batch: { type: 'string', default: '128' },
    steps: { type: 'string', default: '3' },
    threads: { type: 'string' },
    top: { type: 'string', default: '30' },
  },
});
const MODELS: Record<string, Omit<ModelSpec, 'seed'>> = {
  lenet: { name: 'lenet', inputShape: [32, 32, 3], numClasses: 10 },
  resnet: { name: 'resnet', depth: 20, inputShape: [32, 32, 3], numClasses: 10 },
  'resnext-tiny': { name: 'resnext', preset: 'tiny', inputShape: [32, 32, 3], numClasses: 10 },
  'resnext-29': { name: 'resnext', preset: '8x64d', inputShape: [28, 28, 3], numClasses: 10 },
};
const spec = MODELS[values.model];
if (spec === undefined) throw new Error(`--model: '${values.model}' is not one of ${Object.keys(MODELS).join(', ')}`);
const backendChoice = values.backend as BackendChoice;
if (!(BACKEND_CHOICES as readonly string[]).includes(backendChoice) || backendChoice === 'auto') {
  throw new Error(`--backend: '${values.backend}' must name one backend: ${BACKEND_CHOICES.filter((b) => b !== 'auto').join(', ')}`);
}
const batch = Number(values.batch);
const steps = Number(values.steps);
const threads = values.threads === undefined ? undefined : Number(values.threads);

const selected = await selectBackend(backendChoice, () => undefined, threads === undefined ? {} : { threads });
console.log(`backend: ${selected.detail}; model ${values.model}, batch ${batch}`);

interface Tally { ms: number; calls: number }
const tally = new Map<string, Tally>();
let timing = false;
// Kernels that call other kernels (ours do): time is charged exclusively, the callee's to the callee.
const childMs: number[] = [];
for (const config of tf.getKernelsForBackend(selected.name)) {
  const inner = config.kernelFunc;
  tf.unregisterKernel(config.kernelName, config.backendName);
  tf.registerKernel({
    kernelName: config.kernelName,
    backendName: config.backendName,
    kernelFunc: (args) => {
      if (!timing) return inner(args);
      childMs.push(0);
      const t0 = performance.now();
      let out: ReturnType<tf.KernelFunc>;
      try {
        out = inner(args);
      } finally {
        const total = performance.now() - t0;
        const own = total - (childMs.pop() ?? 0);
        if (childMs.length > 0) childMs[childMs.length - 1] += total;
        const t = tally.get(config.kernelName) ?? { ms: 0, calls: 0 };
        t.ms += own;
        t.calls++;
        tally.set(config.kernelName, t);
      }
      return out;
    },
  });
}

const model = buildModel({ ...spec, seed: 1 });
const params = parameterGroups(model).head.map((p) => ({ variable: p.variable, decay: p.kind === 'weight', lrMultiplier: 1 }));
const sgd = new Sgd(params, { momentum: 0.9, nesterov: false, weightDecay: 1e-4 });
const rng = new Rng(7);
const [h, w, c] = spec.inputShape;
const x = Float32Array.from({ length: batch * h * w * c }, () => rng.normal());
const y = Int32Array.from({ length: batch }, () => rng.int(10));
const phases = { gradients: 0, update: 0 };
const step = (): void => {
  const t0 = performance.now();
  const r = computeGradients(model, params.map((p) => p.variable), { x, y, size: batch }, [h, w, c], 0);
  const t1 = performance.now();
  sgd.apply(r.grads, 0.01);
  tf.dispose(Object.values(r.grads));
  if (timing) {
    phases.gradients += t1 - t0;
    phases.update += performance.now() - t1;
  }
};
step();
timing = true;
const cpu0 = process.cpuUsage();
const t0 = performance.now();
for (let i = 0; i < steps; i++) step();
const wall = (performance.now() - t0) / steps;
const cpu = process.cpuUsage(cpu0);
timing = false;

const rows = [...tally.entries()].sort((a, b) => b[1].ms - a[1].ms);
const kernelTotal = rows.reduce((s, [, t]) => s + t.ms, 0) / steps;
console.log(`step ${wall.toFixed(1)} ms wall, ${((cpu.user + cpu.system) / 1000 / steps).toFixed(1)} ms CPU (all threads) (${((batch * 1000) / wall).toFixed(1)} images/s): forward+backward ${(phases.gradients / steps).toFixed(1)} ms, SGD update ${(phases.update / steps).toFixed(1)} ms; kernels ${kernelTotal.toFixed(1)} ms, other ${(wall - kernelTotal).toFixed(1)} ms`);
console.log('kernel                         ms/step   calls/step   % of step');
for (const [name, t] of rows.slice(0, Number(values.top))) {
  console.log(`${name.padEnd(30)} ${(t.ms / steps).toFixed(2).padStart(8)} ${String(t.calls / steps).padStart(12)} ${((100 * t.ms) / steps / wall).toFixed(1).padStart(10)}`);
}
sgd.dispose();
model.dispose();
console.log(`bench:profile summary: ${values.model} on ${selected.name}, batch ${batch}: ${wall.toFixed(0)} ms/step, kernels ${((100 * kernelTotal) / wall).toFixed(0)}%, top ${rows.slice(0, 3).map(([n, t]) => `${n} ${((100 * t.ms) / steps / wall).toFixed(0)}%`).join(', ')}`);
