import * as tf from '@tensorflow/tfjs';
import { conv2dGeometry, inputGradPlan } from './conv-geometry.js';
import { requireInput, withScratch, type KernelScratch } from './kernel-scratch.js';

/**
 * dx = stride-1 conv2d of dy, zero-upsampled by the forward stride and padded, with the
 * filter flipped in H and W and its in/out channels swapped. Runs on XNNPACK's conv, far
 * faster than the shipped wasm Conv2DBackpropInput (a scalar loop).
 */
function conv2DBackpropInputWasm(args: { inputs: tf.NamedTensorInfoMap; backend: unknown; attrs?: tf.NamedAttrMap }): tf.TensorInfo {
  const dy = requireInput(args.inputs, 'dy', tf.Conv2DBackpropInput);
  const filter = requireInput(args.inputs, 'filter', tf.Conv2DBackpropInput);
  // The engine passes the attributes of the conv2DBackpropInput op unchanged.
  const attrs = args.attrs as unknown as tf.Conv2DBackpropInputAttrs;
  const g = conv2dGeometry(tf.Conv2DBackpropInput, attrs.inputShape, filter.shape, attrs);
  return withScratch(args.backend, tf.Conv2DBackpropInput, (s: KernelScratch) => {
    let up = dy;
    if (g.strideH > 1 || g.strideW > 1) {
      // Interleave zeros: [b, oh, 1, ow, 1, c] padded to [b, oh, sH, ow, sW, c].
      const r = s.run(tf.Reshape, { x: dy }, { shape: [g.batch, g.outH, 1, g.outW, 1, g.outC] });
      const padded = s.run(tf.PadV2, { x: r }, {
        paddings: [[0, 0], [0, 0], [0, g.strideH - 1], [0, 0], [0, g.strideW - 1], [0, 0]],
        constantValue: 0,
      });
      up = s.run(tf.Reshape, { x: padded }, { shape: [g.batch, g.outH * g.strideH, g.outW * g.strideW, g.outC] });
    }
    const flipped = s.run(tf.Reverse, { x: filter }, { dims: [0, 1] });
    const swapped = s.run(tf.Transpose, { x: flipped }, { perm: [0, 1, 3, 2] });
    const p = inputGradPlan(g, up.shape[1], up.shape[2]);
    let dx = s.run(tf.Conv2D, { x: up, filter: swapped }, {
      strides: [1, 1],
      pad: p.pad,
      dataFormat: 'NHWC',
      dilations: [1, 1],
    });
    if (p.convH !== p.outH || p.convW !== p.outW) {
      dx = s.run(tf.Slice, { x: dx }, { begin: [0, p.cropTop, p.cropLeft, 0], size: [g.batch, p.outH, p.outW, g.inC] });
    }
    return dx;
  });
}

export const conv2DBackpropInputWasmConfig: tf.KernelConfig = {
  kernelName: tf.Conv2DBackpropInput,
  backendName: 'wasm',
  kernelFunc: conv2DBackpropInputWasm as tf.KernelFunc,
};
