import * as tf from '@tensorflow/tfjs';
import { conv2dGeometry, filterGradPlan } from './conv-geometry.js';
import { requireInput, withScratch, type KernelScratch } from './kernel-scratch.js';

/**
 * dW[kh, kw, ci, co] = sum over b, oh, ow of x[b, oh*s + kh - pad, ow*s + kw - pad, ci] * dy[b, oh, ow, co].
 * Swapping the roles of batch and channels turns this into one forward conv2d, which the
 * wasm backend runs with XNNPACK: input x^T [inC, H, W, batch], filter dy^T
 * [outH, outW, batch, outC] dilated by the forward stride, result [inC, kH, kW, outC].
 */
function conv2DBackpropFilterWasm(args: { inputs: tf.NamedTensorInfoMap; backend: unknown; attrs?: tf.NamedAttrMap }): tf.TensorInfo {
  const x = requireInput(args.inputs, 'x', tf.Conv2DBackpropFilter);
  const dy = requireInput(args.inputs, 'dy', tf.Conv2DBackpropFilter);
  // The engine passes the attributes of the conv2DBackpropFilter op unchanged.
  const attrs = args.attrs as unknown as tf.Conv2DBackpropFilterAttrs;
  const g = conv2dGeometry(tf.Conv2DBackpropFilter, x.shape, attrs.filterShape, attrs);
  const p = filterGradPlan(g);
  return withScratch(args.backend, tf.Conv2DBackpropFilter, (s: KernelScratch) => {
    const xT = s.run(tf.Transpose, { x }, { perm: [3, 1, 2, 0] });
    const dyT = s.run(tf.Transpose, { x: dy }, { perm: [1, 2, 0, 3] });
    let w = s.run(tf.Conv2D, { x: xT, filter: dyT }, {
      strides: [1, 1],
      pad: p.pad,
      dataFormat: 'NHWC',
      dilations: [g.strideH, g.strideW],
    });
    if (p.convH !== p.outH || p.convW !== p.outW) {
      w = s.run(tf.Slice, { x: w }, { begin: [0, p.cropTop, p.cropLeft, 0], size: [g.inC, p.outH, p.outW, g.outC] });
    }
    return s.run(tf.Transpose, { x: w }, { perm: [1, 2, 0, 3] });
  });
}

export const conv2DBackpropFilterWasmConfig: tf.KernelConfig = {
  kernelName: tf.Conv2DBackpropFilter,
  backendName: 'wasm',
  kernelFunc: conv2DBackpropFilterWasm as tf.KernelFunc,
};
