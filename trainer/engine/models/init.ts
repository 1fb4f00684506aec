import * as tf from '@tensorflow/tfjs';
import { Rng } from '../../util/rng.js';

export type Initializer = ReturnType<typeof tf.initializers.randomNormal>;

/**
 * Seeded weight initialisation.
 *
 * Scheme: every layer with a kernel takes the next position p = 0, 1, 2, ... in the
 * order the builder creates it, and its initializer seed is
 * `Rng.derive(modelSeed, p).nextUint32()` (0 is mapped to 1, because tfjs treats a
 * falsy seed as "unseeded"). So the same model seed gives bit-identical initial
 * weights, and adding a layer at the end does not change earlier layers' weights.
 *
 * Kernels (conv, grouped conv, dense) are drawn from an untruncated normal with
 * std = sqrt(2 / fanIn), fanIn = kernelH * kernelW * inputChannelsPerGroup (or input
 * units for dense). This is He/MSRA normal, and exactly what the MXNet tutorial's
 * `mx.init.Xavier(rnd_type='gaussian', factor_type='in', magnitude=2)` draws. tfjs's
 * own `heNormal` truncates at 2 std, which shrinks the variance by about 23%.
 * Biases start at zero, batch-norm gamma at one and beta at zero.
 */
export class SeedSequence {
  private position = 0;

  constructor(readonly modelSeed: number) {
    if (!Number.isInteger(modelSeed)) throw new RangeError(`model seed must be an integer, got ${modelSeed}`);
  }

  /** The seed for the next layer in build order. */
  next(): number {
    return layerSeed(this.modelSeed, this.position++);
  }
}

/** The initializer seed of the layer at `position` in build order. */
export function layerSeed(modelSeed: number, position: number): number {
  return Rng.derive(modelSeed, position).nextUint32() || 1;
}

/** He-normal initializer for a kernel with the given fan-in. */
export function heNormal(fanIn: number, seed: number): Initializer {
  if (!(fanIn > 0)) throw new RangeError(`fan-in must be positive, got ${fanIn}`);
  return tf.initializers.randomNormal({ mean: 0, stddev: Math.sqrt(2 / fanIn), seed });
}
