import { createHash } from 'node:crypto';
import type * as tf from '@tensorflow/tfjs';

/**
 * SHA-256 over the model's weights (trainable and not, e.g. batch-norm moving
 * statistics) as float32 little-endian bytes, in the model's own weight order.
 * Names are left out on purpose: tfjs makes variable names unique per process, so
 * two identical models can carry different names.
 */
export function weightsSha256(model: tf.LayersModel): string {
  const hash = createHash('sha256');
  for (const w of model.weights) {
    const values = w.read().dataSync() as Float32Array;
    hash.update(new Uint8Array(values.buffer, values.byteOffset, values.byteLength));
  }
  return hash.digest('hex');
}
