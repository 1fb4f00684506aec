import * as tf from '@tensorflow/tfjs';
import {
  BATCH_NORM_TRAINING, BATCH_NORM_TRAINING_GRAD, GROUPED_CONV2D, GROUPED_CONV2D_BACKPROP_FILTER, GROUPED_CONV2D_BACKPROP_INPUT,
  NATIVE_BACKEND, RELU_GRAD, SIGMOID_GRAD, TANH_GRAD, type BatchNormTrainingAttrs, type GroupedConv2DAttrs,
} from './kernel-names.js';

type GradFunc = tf.GradConfig['gradFunc'];
type NamedGradientMap = ReturnType<GradFunc>;

function run(kernelName: string, inputs: tf.NamedTensorMap, attrs: tf.NamedAttrMap = {}): tf.Tensor {
  return tf.engine().runKernel(kernelName, inputs, attrs) as tf.Tensor;
}

function runMany(kernelName: string, inputs: tf.NamedTensorMap, attrs: tf.NamedAttrMap): tf.Tensor[] {
  return tf.engine().runKernel(kernelName, inputs, attrs) as tf.Tensor[];
}

const overridden = new Set<string>();

/**
 * Gradients are registered per kernel name for every backend at once. These wrap tfjs's
 * gradient of an activation so that, while the native backend is active, it runs as one
 * kernel (tfjs's relu gradient is step, cast and multiply: three passes over the
 * tensor); on any other backend tfjs's own gradient runs unchanged.
 */
function overrideWhenNative(kernelName: string, native: (dy: tf.Tensor, saved: tf.Tensor[]) => NamedGradientMap): void {
  if (overridden.has(kernelName)) return;
  const original = tf.getGradient(kernelName);
  if (original === undefined) throw new Error(`native backend: tfjs has no gradient registered for ${kernelName} to extend`);
  const gradFunc: GradFunc = (dy, saved, attrs) =>
    tf.getBackend() === NATIVE_BACKEND && !Array.isArray(dy) ? native(dy, saved) : original.gradFunc(dy, saved, attrs);
  tf.registerGradient({ ...original, gradFunc });
  overridden.add(kernelName);
}

/** Installs the gradients of the native-only kernels and the activation gradients above. Idempotent. */
export function registerNativeGradients(): void {
  overrideWhenNative(tf.Relu, (dy, [x]) => ({ x: () => run(RELU_GRAD, { x, dy }) }));
  overrideWhenNative(tf.Tanh, (dy, [y]) => ({ x: () => run(TANH_GRAD, { x: y, dy }) }));
  overrideWhenNative(tf.Sigmoid, (dy, [y]) => ({ x: () => run(SIGMOID_GRAD, { x: y, dy }) }));

  if (tf.getGradient(BATCH_NORM_TRAINING) === undefined) {
    tf.registerGradient({
      kernelName: BATCH_NORM_TRAINING,
      inputsToSave: ['x', 'scale'],
      outputsToSave: [false, true, true],
      gradFunc: (dys, saved, attrs) => {
        if (!Array.isArray(dys) || dys.length !== 3) throw new Error(`${BATCH_NORM_TRAINING} gradient: expected dy for its 3 outputs`);
        const [dy, dMean, dVariance] = dys;
        const [x, scale, mean, variance] = saved;
        // One kernel computes all three; the engine asks for each by input name.
        const [dx, dScale, dOffset] = runMany(BATCH_NORM_TRAINING_GRAD, { x, scale, mean, variance, dy, dMean, dVariance },
          { varianceEpsilon: (attrs as unknown as BatchNormTrainingAttrs).varianceEpsilon });
        return { x: () => dx, scale: () => dScale, offset: () => dOffset };
      },
    });
  }

  if (tf.getGradient(GROUPED_CONV2D) === undefined) {
    tf.registerGradient({
      kernelName: GROUPED_CONV2D,
      inputsToSave: ['x', 'filter'],
      gradFunc: (dy, saved, attrs) => {
        if (Array.isArray(dy)) throw new Error(`${GROUPED_CONV2D} gradient: expected one dy`);
        const [x, filter] = saved;
        const a = attrs as unknown as GroupedConv2DAttrs;
        const common = { strides: a.strides, pad: a.pad, dilations: a.dilations, groups: a.groups };
        return {
          x: () => run(GROUPED_CONV2D_BACKPROP_INPUT, { dy, filter }, { ...common, inputShape: x.shape }),
          filter: () => run(GROUPED_CONV2D_BACKPROP_FILTER, { x, dy }, { ...common, filterShape: filter.shape }),
        };
      },
    });
  }
}
