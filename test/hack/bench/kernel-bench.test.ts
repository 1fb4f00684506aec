import t from 'tap';
import * as tf from '@tensorflow/tfjs';
import { selectBackend } from '../../../trainer/engine/backend/select-backend.js';
import { measurePeakMatmulFlops, timeConvTrainingStep, timeTrainingStep } from '../../../hack/bench/kernel-bench.js';

t.before(async () => {
  await selectBackend('wasm', () => {});
});

t.test('timeTrainingStep runs forward and backward, counts steps, restores the backend and frees its tensors', async (t) => {
  await tf.setBackend('cpu');
  const before = tf.memory().numTensors;
  let calls = 0;
  const timing = await timeTrainingStep(
    'wasm',
    () => [tf.ones([2, 3])],
    (x) => {
      calls++;
      t.equal(tf.getBackend(), 'wasm', 'runs on the requested backend');
      return x.square().sum() as tf.Scalar;
    },
    { steps: 3, warmupSteps: 1 },
  );
  t.equal(timing.backend, 'wasm');
  t.equal(timing.steps, 3);
  t.equal(calls, 4, 'one warm-up and three timed steps');
  t.ok(timing.msPerStep > 0 && Number.isFinite(timing.msPerStep));
  t.equal(tf.getBackend(), 'cpu', 'previous backend restored');
  t.equal(tf.memory().numTensors, before, 'no tensors left behind');
});

t.test('maxSeconds bounds the timed loop but at least one step runs', async (t) => {
  const timing = await timeConvTrainingStep(
    'wasm',
    { name: 'tiny', x: [2, 8, 8, 3], filter: [3, 3, 3, 4], stride: 2, pad: 'same' },
    { steps: 1000, warmupSteps: 0, maxSeconds: 0 },
  );
  t.equal(timing.steps, 1);
});

t.test('measurePeakMatmulFlops reports a plausible rate', async (t) => {
  const m = await measurePeakMatmulFlops('wasm', { n: 64, minSeconds: 0.05 });
  t.equal(m.n, 64);
  t.ok(m.repeats >= 1);
  // Any machine that runs this does more than 1 MFLOP/s and less than 100 TFLOP/s on one core.
  t.ok(m.flops > 1e6 && m.flops < 1e14, `${(m.flops / 1e9).toFixed(2)} GFLOP/s`);
});

t.test('an unavailable backend is named', async (t) => {
  await t.rejects(measurePeakMatmulFlops('webgpu'), /backend 'webgpu' is not available: no backend named 'webgpu' is registered/);
});
