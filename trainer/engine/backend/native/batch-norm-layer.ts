import * as tf from '@tensorflow/tfjs';
import { BATCH_NORM_TRAINING, NATIVE_BACKEND } from './kernel-names.js';

type Kwargs = Parameters<tf.layers.Layer['call']>[1];
type Call = (this: BatchNormLayer, inputs: tf.Tensor | tf.Tensor[], kwargs: Kwargs) => tf.Tensor | tf.Tensor[];

/** The fields of tfjs-layers' BatchNormalization that its training call reads. */
interface BatchNormLayer {
  axis: number;
  momentum: number;
  epsilon: number;
  center: boolean;
  scale: boolean;
  gamma: tf.LayerVariable | null;
  beta: tf.LayerVariable | null;
  movingMean: tf.LayerVariable;
  movingVariance: tf.LayerVariable;
}

const PATCHED = Symbol.for('cifar-operator.native-batch-norm');

/** tfjs-layers' moving-average update, written out: v - (v - value) * (1 - momentum). */
function movingAverage(variable: tf.LayerVariable, value: tf.Tensor, momentum: number): void {
  tf.tidy(() => {
    const current = variable.read();
    variable.write(tf.sub(current, tf.mul(tf.sub(current, value), 1 - momentum)));
  });
}

/**
 * In training, tfjs-layers' BatchNormalization computes tf.moments (mean, subtract,
 * square, mean) and then tf.batchNorm, and its gradient runs through some twenty ops of
 * the full tensor size (tile, multiplies, sums); for ResNet-20 on the wasm backend that was
 * over a third of a step. While the native backend is active, the layer's training call
 * is one kernel (statistics and normalisation, two passes) with a one-kernel gradient;
 * the moving averages are updated exactly as the layer does. Everywhere else (inference,
 * other backends, a layer that is not over the last axis or lacks gamma/beta) the layer's
 * own call runs. Saved models are unchanged: it is the same class. Idempotent.
 */
export function useNativeBatchNormInTraining(): void {
  const entry = tf.serialization.SerializationMap.getMap().classNameMap.BatchNormalization as unknown[] | undefined;
  const ctor = entry?.[0] as { prototype: { call: Call; [PATCHED]?: true } } | undefined;
  if (ctor === undefined) throw new Error('native backend: tfjs-layers has no BatchNormalization class registered to extend');
  const proto = ctor.prototype;
  if (proto[PATCHED] === true) return;
  const original = proto.call;
  proto.call = function (this: BatchNormLayer, inputs: tf.Tensor | tf.Tensor[], kwargs: Kwargs): tf.Tensor | tf.Tensor[] {
    const x = Array.isArray(inputs) ? inputs[0] : inputs;
    const training = (kwargs as { training?: boolean } | undefined)?.training === true;
    const axis = this.axis >= 0 ? this.axis : this.axis + x.rank;
    const { gamma, beta } = this;
    if (!training || tf.getBackend() !== NATIVE_BACKEND || x.dtype !== 'float32' || x.rank < 2 || axis !== x.rank - 1 ||
      !this.center || !this.scale || gamma === null || beta === null) {
      return original.call(this, inputs, kwargs);
    }
    return tf.tidy(() => {
      const [y, mean, variance] = tf.engine().runKernel(
        BATCH_NORM_TRAINING, { x, scale: gamma.read(), offset: beta.read() }, { varianceEpsilon: this.epsilon },
      ) as tf.Tensor[];
      movingAverage(this.movingMean, mean, this.momentum);
      movingAverage(this.movingVariance, variance, this.momentum);
      return y;
    });
  };
  proto[PATCHED] = true;
}
