import * as tf from '@tensorflow/tfjs';
import { NATIVE_BACKEND, SGD_MOMENTUM, type SgdMomentumAttrs } from './native/kernel-names.js';

/**
 * One SGD-with-momentum step for one variable as a single native kernel, when the native
 * backend is active: [new variable, new momentum buffer], computed as Sgd's op chain would
 * (same float32 operations in the same order). Null on other backends: the caller runs
 * its ops. `lr` is the effective rate (learning rate times the variable's multiplier);
 * `weightDecay` 0 means none.
 */
export function fusedSgdMomentum(
  variable: tf.Tensor, grad: tf.Tensor, buffer: tf.Tensor, attrs: SgdMomentumAttrs,
): { variable: tf.Tensor; buffer: tf.Tensor } | null {
  if (tf.getBackend() !== NATIVE_BACKEND || tf.getKernel(SGD_MOMENTUM, NATIVE_BACKEND) === undefined) return null;
  if (variable.dtype !== 'float32' || grad.dtype !== 'float32' || variable.shape.join() !== grad.shape.join()) return null;
  // tfjs turns a number operand into a float32 scalar: round the same way.
  const f32: SgdMomentumAttrs = { lr: Math.fround(attrs.lr), momentum: Math.fround(attrs.momentum), weightDecay: Math.fround(attrs.weightDecay), nesterov: attrs.nesterov };
  const [v, b] = tf.engine().runKernel(SGD_MOMENTUM, { variable, grad, buffer }, f32 as unknown as tf.NamedAttrMap) as tf.Tensor[];
  return { variable: v, buffer: b };
}
