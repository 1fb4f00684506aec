import t from 'tap';
import * as tf from '@tensorflow/tfjs';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { selectBackend } from '../../../../../trainer/engine/backend/select-backend.js';
import { loadNativeAddon } from '../../../../../trainer/engine/backend/native/addon.js';
import { buildModel, type ModelSpec } from '../../../../../trainer/engine/models/registry.js';
import { parameterGroups } from '../../../../../trainer/engine/models/head.js';
import { Sgd } from '../../../../../trainer/engine/optim/sgd.js';
import { computeGradients } from '../../../../../trainer/engine/train/step.js';
import { Rng } from '../../../../../trainer/util/rng.js';
import { maxRelError } from '../../../../helpers/backend-compare.js';
import { nativeSkip } from '../../../../helpers/native.js';

// Whole models on the native backend: one training step's loss, gradients and batch-norm
// moving statistics against the cpu backend, and the bit-for-bit repeatability that
// checkpoint/resume and distributed training rely on.

const skip = nativeSkip();

const MODELS: { label: string; spec: Omit<ModelSpec, 'seed'>; batch: number }[] = [
  { label: 'LeNet (tanh, max pool, dense)', spec: { name: 'lenet', inputShape: [16, 16, 3], numClasses: 10 }, batch: 6 },
  { label: 'ResNet-8 (batch norm, projection shortcuts)', spec: { name: 'resnet', depth: 8, inputShape: [12, 12, 3], numClasses: 10 }, batch: 4 },
  { label: 'ResNeXt-11 2x4d (grouped convolutions)', spec: { name: 'resnext', depth: 11, cardinality: 2, width: 4, baseChannels: 8, inputShape: [8, 8, 3], numClasses: 5 }, batch: 3 },
];

function batchOf(spec: Omit<ModelSpec, 'seed'>, size: number, seed: number): { x: Float32Array; y: Int32Array; size: number } {
  const rng = new Rng(seed);
  const [h, w, c] = spec.inputShape;
  return {
    x: Float32Array.from({ length: size * h * w * c }, () => rng.normal()),
    y: Int32Array.from({ length: size }, () => rng.int(spec.numClasses)),
    size,
  };
}

interface StepOutcome {
  loss: number;
  /** By the weight's name in the model (variable names get numbered suffixes per model built). */
  grads: Map<string, Float32Array>;
  /** Every weight after the step, trainable or not (batch-norm moving statistics included). */
  weights: Map<string, Float32Array>;
}

/** Builds the model on `backend`, runs `steps` SGD steps on fixed batches, returns the last loss and gradients and all weights. */
async function train(backend: 'cpu' | 'wasm' | 'native', spec: Omit<ModelSpec, 'seed'>, batch: number, steps = 1, threads = 2): Promise<StepOutcome> {
  await selectBackend(backend, () => {}, { threads });
  const model = buildModel({ ...spec, seed: 3 });
  const params = parameterGroups(model).head.map((p) => ({ variable: p.variable, decay: p.kind === 'weight', lrMultiplier: 1 }));
  const weightName = new Map(model.weights.map((w) => [(w.read() as tf.Variable).name, w.originalName]));
  const sgd = new Sgd(params, { momentum: 0.9, nesterov: false, weightDecay: 1e-4 });
  try {
    let out: StepOutcome = { loss: NaN, grads: new Map(), weights: new Map() };
    for (let s = 0; s < steps; s++) {
      const r = computeGradients(model, params.map((p) => p.variable), batchOf(spec, batch, 100 + s), spec.inputShape, 0);
      out = { loss: r.loss, grads: new Map(Object.entries(r.grads).map(([k, g]) => [weightName.get(k) ?? k, g.dataSync() as Float32Array])), weights: new Map() };
      sgd.apply(r.grads, 0.05);
      tf.dispose(Object.values(r.grads));
    }
    for (const w of model.weights) out.weights.set(w.originalName, w.read().dataSync() as Float32Array);
    return out;
  } finally {
    sgd.dispose();
    model.dispose();
  }
}

for (const m of MODELS) {
  t.test(`${m.label}: a training step on native matches the cpu backend`, { skip }, async (t) => {
    const cpu = await train('cpu', m.spec, m.batch);
    // Buffers a run leaves on the heap: the same on native as on wasm (tfjs-layers caches
    // constants, and Sgd keeps its zerosLike initial values), so native adds no leak.
    const heapIds = () => (tf.findBackend('wasm') as BackendWasm).numDataIds();
    await train('native', m.spec, m.batch);
    let before = heapIds();
    await train('wasm', m.spec, m.batch);
    const wasmLeft = heapIds() - before;
    before = heapIds();
    const native = await train('native', m.spec, m.batch);
    t.equal(heapIds() - before, wasmLeft, `native leaves no more buffers behind than wasm (${wasmLeft})`);
    t.ok(Math.abs(native.loss - cpu.loss) <= 1e-4 * Math.max(1, Math.abs(cpu.loss)), `loss ${native.loss} vs ${cpu.loss}`);
    t.equal(native.grads.size, cpu.grads.size, 'a gradient for every trainable variable');
    let worst = 0;
    let worstName = '';
    for (const [name, g] of cpu.grads) {
      const err = maxRelError(native.grads.get(name) ?? new Float32Array(), g);
      if (err > worst) [worst, worstName] = [err, name];
    }
    t.ok(worst < 1e-3, `largest gradient error ${worst.toExponential(1)} (${worstName})`);
    let worstWeight = 0;
    for (const [name, w] of cpu.weights) worstWeight = Math.max(worstWeight, maxRelError(native.weights.get(name) ?? new Float32Array(), w));
    t.ok(worstWeight < 1e-4, `weights after the update, batch-norm moving statistics included: largest error ${worstWeight.toExponential(1)}`);
  });
}

t.test('the same steps give bit-identical weights, whatever else the heap held before', { skip }, async (t) => {
  const spec = MODELS[1];
  const first = await train('native', spec.spec, spec.batch, 3, 2);
  // Shift the heap's allocation pattern: the next run's tensors land at other addresses.
  const ballast = tf.tidy(() => tf.keep(tf.zeros([12345])));
  const second = await train('native', spec.spec, spec.batch, 3, 2);
  ballast.dispose();
  for (const [name, w] of first.weights) {
    t.same(Buffer.from((second.weights.get(name) ?? new Float32Array()).buffer), Buffer.from(w.buffer), `${name} identical`);
  }
});

t.test('one and two threads agree to rounding', { skip }, async (t) => {
  const spec = MODELS[2];
  const one = await train('native', spec.spec, spec.batch, 2, 1);
  const two = await train('native', spec.spec, spec.batch, 2, 2);
  let worst = 0;
  for (const [name, w] of one.weights) worst = Math.max(worst, maxRelError(two.weights.get(name) ?? new Float32Array(), w));
  t.ok(worst < 1e-4, `largest weight difference ${worst.toExponential(1)}`);
  t.equal(loadNativeAddon().addon?.info().threads, 2, 'the last selection set two threads');
});

t.test('the fused SGD update is bit-identical to the op chain it replaces (run on wasm)', { skip }, async (t) => {
  const rng = new Rng(71);
  const values = (n: number) => Float32Array.from({ length: n }, () => rng.normal());
  const shapes = [[3, 3, 16, 16], [16], [40000]]; // a conv kernel, a bias, one large enough for threads
  const init = shapes.map((s) => ({ shape: s, w: values(s.reduce((a, b) => a * b, 1)), g: values(s.reduce((a, b) => a * b, 1)) }));
  const run = async (backend: 'wasm' | 'native', nesterov: boolean): Promise<Float32Array[]> => {
    await selectBackend(backend, () => {}, { threads: 2 });
    const params = init.map((p, i) => ({ variable: tf.variable(tf.tensor(p.w, p.shape)), decay: i !== 1, lrMultiplier: i === 2 ? 0.1 : 1 }));
    const sgd = new Sgd(params, { momentum: 0.9, nesterov, weightDecay: 5e-4 });
    for (let step = 0; step < 3; step++) {
      const grads = Object.fromEntries(params.map((p, i) => [p.variable.name, tf.tensor(init[i].g.map((v) => v * (step + 1)), init[i].shape)]));
      sgd.apply(grads, 0.05);
      tf.dispose(Object.values(grads));
    }
    const out = params.map((p) => p.variable.dataSync() as Float32Array);
    sgd.dispose();
    tf.dispose(params.map((p) => p.variable));
    return out;
  };
  for (const nesterov of [false, true]) {
    const wasm = await run('wasm', nesterov);
    const native = await run('native', nesterov);
    wasm.forEach((w, i) => t.same(Buffer.from(native[i].buffer), Buffer.from(w.buffer), `${nesterov ? 'Nesterov' : 'momentum'}: variable ${i} bit-identical`));
  }
});
