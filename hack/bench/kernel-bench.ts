/**
 * Timing helpers for `npm run bench:train` (functions, not a script): one training step
 * (forward + backward) of a tfjs function on a named backend, and a backend's matMul
 * throughput as a reference figure measured in the same run.
 */
import * as tf from '@tensorflow/tfjs';
import { activateBackend } from '../../trainer/engine/backend/activate-backend.js';

export interface StepTiming {
  backend: string;
  /** Median wall time of one forward + backward step, in milliseconds. */
  msPerStep: number;
  /** Timed steps (after warm-up). */
  steps: number;
}

export interface TimingOptions {
  /** Timed steps at most (default 5). */
  steps?: number;
  /** Untimed steps first, to build kernels and caches (default 1). */
  warmupSteps?: number;
  /** Stop timing after this many seconds even if fewer steps ran (default 30); at least one step runs. */
  maxSeconds?: number;
}

/** A conv layer's shapes: input NHWC and filter [kH, kW, inC, outC]. */
export interface ConvCase {
  name: string;
  x: [number, number, number, number];
  filter: [number, number, number, number];
  stride: number;
  pad: 'same' | 'valid';
}

/** ResNet-20's common conv (batch 32) and LeNet's two convs (batch 128). */
export const CONV_CASES: Readonly<Record<'resnet20' | 'resnet20Down' | 'lenetConv1' | 'lenetConv2', ConvCase>> = {
  resnet20: { name: 'ResNet-20 3x3 conv 32x32x16->16, batch 32', x: [32, 32, 32, 16], filter: [3, 3, 16, 16], stride: 1, pad: 'same' },
  resnet20Down: { name: 'ResNet-20 3x3/2 conv 32x32x16->32, batch 32', x: [32, 32, 32, 16], filter: [3, 3, 16, 32], stride: 2, pad: 'same' },
  lenetConv1: { name: 'LeNet 5x5 conv 32x32x3->6, batch 128', x: [128, 32, 32, 3], filter: [5, 5, 3, 6], stride: 1, pad: 'valid' },
  lenetConv2: { name: 'LeNet 5x5 conv 14x14x6->16, batch 128', x: [128, 14, 14, 6], filter: [5, 5, 6, 16], stride: 1, pad: 'valid' },
};

/** Activates `name` (already registered, e.g. by selectBackend) and returns the backend to restore. */
async function useBackend(name: string): Promise<string> {
  const previous = tf.getBackend();
  await activateBackend(name);
  return previous;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/**
 * Times tf.grads(loss) on `backend`: every step computes the loss's gradients with respect
 * to all inputs and reads them back (so asynchronous backends finish). Inputs are made by
 * `makeInputs` on that backend and disposed at the end; the previous backend is restored.
 */
export async function timeTrainingStep(
  backend: string,
  makeInputs: () => tf.Tensor[],
  loss: (...xs: tf.Tensor[]) => tf.Scalar,
  options: TimingOptions = {},
): Promise<StepTiming> {
  const { steps = 5, warmupSteps = 1, maxSeconds = 30 } = options;
  const previous = await useBackend(backend);
  const inputs = makeInputs();
  try {
    const gradsOf = tf.grads((...xs: tf.Tensor[]) => loss(...xs));
    const step = async (): Promise<void> => {
      const gs = gradsOf(inputs);
      try {
        await Promise.all(gs.map((g) => g.data()));
      } finally {
        tf.dispose(gs);
      }
    };
    for (let i = 0; i < warmupSteps; i++) await step();
    const times: number[] = [];
    const deadline = performance.now() + maxSeconds * 1000;
    while (times.length < Math.max(1, steps) && (times.length === 0 || performance.now() < deadline)) {
      const t0 = performance.now();
      await step();
      times.push(performance.now() - t0);
    }
    return { backend, msPerStep: median(times), steps: times.length };
  } finally {
    tf.dispose(inputs);
    await tf.setBackend(previous);
  }
}

/** Times one training step of a single conv2d layer (loss = sum of squares of its output). */
export async function timeConvTrainingStep(backend: string, c: ConvCase, options: TimingOptions = {}): Promise<StepTiming> {
  return timeTrainingStep(
    backend,
    () => [tf.randomNormal(c.x), tf.randomNormal(c.filter, 0, 0.1)],
    (x, w) => tf.conv2d(x as tf.Tensor4D, w as tf.Tensor4D, c.stride, c.pad).square().sum(),
    options,
  );
}

export interface MatmulFlops {
  backend: string;
  /** Sustained floating-point operations per second of an n x n by n x n matMul. */
  flops: number;
  n: number;
  repeats: number;
}

/** Measures `backend`'s matMul throughput (2n^3 FLOPs per product), a reference for step timings. */
export async function measurePeakMatmulFlops(backend: string, options: { n?: number; minSeconds?: number } = {}): Promise<MatmulFlops> {
  const { n = 512, minSeconds = 0.5 } = options;
  const previous = await useBackend(backend);
  const a = tf.randomNormal([n, n]);
  const b = tf.randomNormal([n, n]);
  try {
    const once = async (): Promise<void> => {
      const c = tf.matMul(a, b);
      await c.data();
      c.dispose();
    };
    await once();
    let repeats = 0;
    const t0 = performance.now();
    do {
      await once();
      repeats++;
    } while (performance.now() - t0 < minSeconds * 1000 && repeats < 1000);
    const seconds = (performance.now() - t0) / 1000;
    return { backend, flops: (2 * n ** 3 * repeats) / seconds, n, repeats };
  } finally {
    tf.dispose([a, b]);
    await tf.setBackend(previous);
  }
}
