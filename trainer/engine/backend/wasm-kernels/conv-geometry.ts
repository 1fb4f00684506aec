import * as tf from '@tensorflow/tfjs';

/** Explicit [before, after] paddings for N, H, W, C. */
export type NhwcPadding = [[number, number], [number, number], [number, number], [number, number]];

/** The sizes of one NHWC conv2d, as the forward op saw them. */
export interface Conv2DGeometry {
  batch: number;
  inH: number;
  inW: number;
  inC: number;
  outH: number;
  outW: number;
  outC: number;
  filterH: number;
  filterW: number;
  strideH: number;
  strideW: number;
  padTop: number;
  padLeft: number;
}

/**
 * How to run one of the stride-1 convolutions that make up a conv2d gradient:
 * explicit NHWC paddings (never negative) and the window of the result to keep.
 * A negative padding of a stride-1 conv is the same as padding 0 and dropping that
 * many output rows, so negative pads become a crop of the output.
 */
export interface Stride1ConvPlan {
  pad: NhwcPadding;
  cropTop: number;
  cropLeft: number;
  /** Output size before cropping. */
  convH: number;
  convW: number;
  /** Output size wanted. */
  outH: number;
  outW: number;
}

/** Reads the forward conv's geometry from a backprop kernel's attributes. */
export function conv2dGeometry(
  kernelName: string,
  xShape: readonly number[],
  filterShape: readonly number[],
  attrs: Pick<tf.Conv2DBackpropFilterAttrs, 'strides' | 'pad' | 'dataFormat' | 'dimRoundingMode'>,
): Conv2DGeometry {
  if (attrs.dataFormat !== 'NHWC') {
    throw new Error(`${kernelName} on wasm: dataFormat '${attrs.dataFormat}' is not supported, use 'NHWC'`);
  }
  if (xShape.length !== 4 || filterShape.length !== 4) {
    throw new Error(`${kernelName} on wasm: expected rank-4 input and filter, got [${xShape.join(',')}] and [${filterShape.join(',')}]`);
  }
  const info = tf.backend_util.computeConv2DInfo(
    xShape as [number, number, number, number],
    filterShape as [number, number, number, number],
    attrs.strides,
    1,
    attrs.pad,
    attrs.dimRoundingMode,
  );
  return {
    batch: info.batchSize,
    inH: info.inHeight,
    inW: info.inWidth,
    inC: info.inChannels,
    outH: info.outHeight,
    outW: info.outWidth,
    outC: info.outChannels,
    filterH: info.filterHeight,
    filterW: info.filterWidth,
    strideH: info.strideHeight,
    strideW: info.strideWidth,
    padTop: info.padInfo.top,
    padLeft: info.padInfo.left,
  };
}

function plan(
  inH: number, inW: number, kH: number, kW: number,
  top: number, bottom: number, left: number, right: number,
  outH: number, outW: number,
): Stride1ConvPlan {
  const t = Math.max(0, top);
  const b = Math.max(0, bottom);
  const l = Math.max(0, left);
  const r = Math.max(0, right);
  return {
    pad: [[0, 0], [t, b], [l, r], [0, 0]],
    cropTop: Math.max(0, -top),
    cropLeft: Math.max(0, -left),
    convH: inH + t + b - kH + 1,
    convW: inW + l + r - kW + 1,
    outH,
    outW,
  };
}

/**
 * Filter gradient as a conv of x^T ([inC, H, W, batch]) with dy^T ([outH, outW, batch, outC])
 * dilated by the forward stride: output [inC, filterH, filterW, outC].
 */
export function filterGradPlan(g: Conv2DGeometry): Stride1ConvPlan {
  const effH = (g.outH - 1) * g.strideH + 1;
  const effW = (g.outW - 1) * g.strideW + 1;
  const bottom = g.filterH - 1 + effH - g.inH - g.padTop;
  const right = g.filterW - 1 + effW - g.inW - g.padLeft;
  return plan(g.inH, g.inW, effH, effW, g.padTop, bottom, g.padLeft, right, g.filterH, g.filterW);
}

/**
 * Input gradient as a stride-1 conv of dy, zero-upsampled to [upH, upW] (upH = outH * strideH:
 * the stride-1 rows after the last output row are zeros), with the flipped filter.
 */
export function inputGradPlan(g: Conv2DGeometry, upH: number, upW: number): Stride1ConvPlan {
  const top = g.filterH - 1 - g.padTop;
  const left = g.filterW - 1 - g.padLeft;
  const bottom = g.inH - upH - top + g.filterH - 1;
  const right = g.inW - upW - left + g.filterW - 1;
  return plan(upH, upW, g.filterH, g.filterW, top, bottom, left, right, g.inH, g.inW);
}
