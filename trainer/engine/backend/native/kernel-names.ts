/**
 * Names shared by the native backend's modules and the code that calls its kernels,
 * in a module without imports so that callers (the grouped convolution op) do not load
 * the wasm backend or the addon.
 */

/** The name the native backend is registered under with tfjs. */
export const NATIVE_BACKEND = 'native';

/** Grouped convolution (tfjs has none) and its gradients; see ../grouped-conv.ts. */
export const GROUPED_CONV2D = '_NativeGroupedConv2D';
export const GROUPED_CONV2D_BACKPROP_INPUT = '_NativeGroupedConv2DBackpropInput';
export const GROUPED_CONV2D_BACKPROP_FILTER = '_NativeGroupedConv2DBackpropFilter';

export interface GroupedConv2DAttrs {
  strides: number | [number, number];
  pad: 'same' | 'valid' | number;
  dilations: number | [number, number];
  groups: number;
}

/**
 * Batch normalisation in training mode as one kernel: inputs x, scale (gamma), offset
 * (beta); attribute varianceEpsilon; outputs [y, mean, variance], with mean and (biased)
 * variance over every axis but the last, as tf.moments gives them.
 */
export const BATCH_NORM_TRAINING = '_NativeBatchNormTraining';
/** Its gradient: inputs x, scale, mean, variance, dy, dMean, dVariance; outputs [dx, dScale, dOffset]. */
export const BATCH_NORM_TRAINING_GRAD = '_NativeBatchNormTrainingGrad';

export interface BatchNormTrainingAttrs {
  varianceEpsilon: number;
}

/**
 * One SGD-with-momentum update: inputs variable, grad, buffer; attributes lr, momentum,
 * weightDecay (0: none), nesterov; outputs [new variable, new buffer]. See ../sgd-update.ts.
 */
export const SGD_MOMENTUM = '_NativeSgdMomentum';

export interface SgdMomentumAttrs {
  lr: number;
  momentum: number;
  weightDecay: number;
  nesterov: boolean;
}

/** Activation gradients in one pass: inputs x (relu's input; tanh's or sigmoid's output) and dy. */
export const RELU_GRAD = '_NativeReluGrad';
export const TANH_GRAD = '_NativeTanhGrad';
export const SIGMOID_GRAD = '_NativeSigmoidGrad';
