import * as tf from '@tensorflow/tfjs';
import { GROUPED_CONV2D, NATIVE_BACKEND, type GroupedConv2DAttrs } from './native/kernel-names.js';

/**
 * 2-D convolution with `groups` groups: input and output channels are split into groups,
 * output group g seeing only input group g; the filter is [kh, kw, inChannels / groups,
 * outChannels]. tfjs has no grouped convolution, so elsewhere each group is a conv2d on a
 * channel slice and the results are concatenated; the native backend runs it as one
 * oneDNN grouped convolution (with its gradients), without the slices and the concat.
 */
export function groupedConv2d(
  x: tf.Tensor4D,
  filter: tf.Tensor4D,
  strides: [number, number],
  pad: 'same' | 'valid',
  groups: number,
  dilations: [number, number] = [1, 1],
): tf.Tensor4D {
  if (groups === 1) return tf.conv2d(x, filter, strides, pad, 'NHWC', dilations);
  if (tf.getBackend() === NATIVE_BACKEND && tf.getKernel(GROUPED_CONV2D, NATIVE_BACKEND) !== undefined) {
    const attrs: GroupedConv2DAttrs = { strides, pad, dilations, groups };
    return tf.engine().runKernel(GROUPED_CONV2D, { x, filter }, attrs as unknown as tf.NamedAttrMap) as tf.Tensor4D;
  }
  return tf.tidy(() => {
    const xs = tf.split(x, groups, 3);
    const ks = tf.split(filter, groups, 3);
    return tf.concat(xs.map((xi, g) => tf.conv2d(xi as tf.Tensor4D, ks[g] as tf.Tensor4D, strides, pad, 'NHWC', dilations)), 3);
  });
}
