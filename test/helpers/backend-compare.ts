import * as tf from '@tensorflow/tfjs';
import { Rng } from '../../trainer/util/rng.js';

/** Plain data for a tensor, so that the same values can be made on any backend. */
export interface HostTensor {
  shape: number[];
  values: Float32Array;
}

/** Uniform values in [lo, hi) from a seeded stream. */
export function randomHost(rng: Rng, shape: number[], lo = -1, hi = 1): HostTensor {
  const size = shape.reduce((a, b) => a * b, 1);
  const values = new Float32Array(size);
  for (let i = 0; i < size; i++) values[i] = lo + (hi - lo) * rng.next();
  return { shape, values };
}

/** Runs `f` on `backend` with fresh tensors made from `inputs`; returns its outputs' values. */
export async function runOn(backend: string, inputs: HostTensor[], f: (...xs: tf.Tensor[]) => tf.Tensor[]): Promise<Float32Array[]> {
  if (!(await tf.setBackend(backend)) || tf.getBackend() !== backend) throw new Error(`backend ${backend} did not activate`);
  const xs = inputs.map((h) => tf.tensor(h.values, h.shape));
  try {
    const outs = f(...xs);
    const values = outs.map((o) => o.dataSync() as Float32Array);
    tf.dispose(outs);
    return values;
  } finally {
    tf.dispose(xs);
  }
}

/**
 * Largest error of `actual` against `expected`, relative to the reference's largest
 * magnitude (sums of many products differ in rounding by the order of summation).
 */
export function maxRelError(actual: Float32Array, expected: Float32Array): number {
  if (actual.length !== expected.length) return Infinity;
  let scale = 1e-6;
  for (const v of expected) scale = Math.max(scale, Math.abs(v));
  let worst = 0;
  for (let i = 0; i < expected.length; i++) {
    const d = Math.abs(actual[i] - expected[i]);
    if (!(d <= worst)) worst = Number.isNaN(d) ? Infinity : d;
  }
  return worst / scale;
}
