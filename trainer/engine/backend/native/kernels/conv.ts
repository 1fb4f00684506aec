import * as tf from '@tensorflow/tfjs';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { allFloat32, heapOf, input, nativeKernel, offsetOf, params, sizeOf, type KernelArgs, type NativeKernelContext } from './kernel-context.js';

import { GROUPED_CONV2D, GROUPED_CONV2D_BACKPROP_FILTER, GROUPED_CONV2D_BACKPROP_INPUT, type GroupedConv2DAttrs } from '../kernel-names.js';

type Pad = tf.Conv2DAttrs['pad'];
type Pair = number | [number, number];

/**
 * The 18 geometry numbers the addon's conv kernels take (src/conv.cc), or null when
 * oneDNN cannot express the convolution (a rounding mode that makes the output size
 * disagree with the paddings, say).
 */
function geometry(
  xShape: readonly number[],
  filterShape: readonly number[],
  strides: Pair,
  dilations: Pair,
  pad: Pad,
  dimRoundingMode: 'floor' | 'round' | 'ceil' | undefined,
  groups: number,
): number[] | null {
  if (xShape.length !== 4 || filterShape.length !== 4) return null;
  if (xShape[3] !== filterShape[2] * groups) return null;
  const info = tf.backend_util.computeConv2DInfo(
    xShape as [number, number, number, number],
    // computeConv2DInfo reads the filter's height, width and output channels only.
    [filterShape[0], filterShape[1], xShape[3], filterShape[3]],
    strides, dilations, pad, dimRoundingMode, false, 'channelsLast',
  );
  const p = info.padInfo;
  const effH = (info.filterHeight - 1) * info.dilationHeight + 1;
  const effW = (info.filterWidth - 1) * info.dilationWidth + 1;
  if (Math.min(p.top, p.bottom, p.left, p.right) < 0) return null;
  if (Math.floor((info.inHeight + p.top + p.bottom - effH) / info.strideHeight) + 1 !== info.outHeight) return null;
  if (Math.floor((info.inWidth + p.left + p.right - effW) / info.strideWidth) + 1 !== info.outWidth) return null;
  if (info.outHeight < 1 || info.outWidth < 1) return null;
  return [
    info.batchSize, info.inHeight, info.inWidth, info.inChannels, info.outHeight, info.outWidth, info.outChannels,
    info.filterHeight, info.filterWidth, info.strideHeight, info.strideWidth, info.dilationHeight, info.dilationWidth,
    p.top, p.left, p.bottom, p.right, groups,
  ];
}

function nhwc(dataFormat: string | undefined): boolean {
  return dataFormat === undefined || dataFormat === 'NHWC' || dataFormat === 'channelsLast';
}

function forward(
  args: KernelArgs, backend: BackendWasm, ctx: NativeKernelContext, kernelName: string,
  attrs: { strides: Pair; pad: Pad; dilations: Pair; dimRoundingMode?: 'floor' | 'round' | 'ceil' },
  groups: number, bias: tf.TensorInfo | undefined, relu: boolean,
): tf.TensorInfo | null {
  const x = input(args, 'x', kernelName);
  const filter = input(args, 'filter', kernelName);
  if (!allFloat32(x, filter, bias)) return null;
  const g = geometry(x.shape, filter.shape, attrs.strides, attrs.dilations, attrs.pad, attrs.dimRoundingMode, groups);
  if (g === null) return null;
  if (bias !== undefined && sizeOf(bias.shape) !== filter.shape[3]) return null;
  const out = backend.makeOutput([g[0], g[4], g[5], g[6]], 'float32');
  ctx.addon.conv2d(heapOf(backend), params(
    ...g, offsetOf(backend, x), offsetOf(backend, filter), bias === undefined ? -1 : offsetOf(backend, bias), offsetOf(backend, out), relu ? 1 : 0,
  ));
  return out;
}

function backpropInput(
  args: KernelArgs, backend: BackendWasm, ctx: NativeKernelContext, kernelName: string,
  attrs: { strides: Pair; pad: Pad; dimRoundingMode?: 'floor' | 'round' | 'ceil'; inputShape: number[] },
  dilations: Pair, groups: number,
): tf.TensorInfo | null {
  const dy = input(args, 'dy', kernelName);
  const filter = input(args, 'filter', kernelName);
  if (!allFloat32(dy, filter)) return null;
  const g = geometry(attrs.inputShape, filter.shape, attrs.strides, dilations, attrs.pad, attrs.dimRoundingMode, groups);
  if (g === null || dy.shape.join() !== [g[0], g[4], g[5], g[6]].join()) return null;
  const dx = backend.makeOutput([...attrs.inputShape], 'float32');
  ctx.addon.conv2dBackpropInput(heapOf(backend), params(...g, offsetOf(backend, dy), offsetOf(backend, filter), offsetOf(backend, dx)));
  return dx;
}

function backpropFilter(
  args: KernelArgs, backend: BackendWasm, ctx: NativeKernelContext, kernelName: string,
  attrs: { strides: Pair; pad: Pad; dimRoundingMode?: 'floor' | 'round' | 'ceil'; filterShape: number[] },
  dilations: Pair, groups: number,
): tf.TensorInfo | null {
  const x = input(args, 'x', kernelName);
  const dy = input(args, 'dy', kernelName);
  if (!allFloat32(x, dy)) return null;
  const g = geometry(x.shape, attrs.filterShape, attrs.strides, dilations, attrs.pad, attrs.dimRoundingMode, groups);
  if (g === null || dy.shape.join() !== [g[0], g[4], g[5], g[6]].join()) return null;
  const dw = backend.makeOutput([...attrs.filterShape], 'float32');
  ctx.addon.conv2dBackpropFilter(heapOf(backend), params(...g, offsetOf(backend, x), offsetOf(backend, dy), offsetOf(backend, dw), -1));
  return dw;
}

export function convKernels(ctx: NativeKernelContext): tf.KernelConfig[] {
  return [
    nativeKernel(tf.Conv2D, ctx, (args, backend) => {
      const a = args.attrs as unknown as tf.Conv2DAttrs;
      if (!nhwc(a.dataFormat)) return null;
      return forward(args, backend, ctx, tf.Conv2D, a, 1, undefined, false);
    }),
    nativeKernel(tf.FusedConv2D, ctx, (args, backend) => {
      const a = args.attrs as unknown as tf.FusedConv2DAttrs;
      if (!nhwc(a.dataFormat) || args.inputs.preluActivationWeights !== undefined) return null;
      if (a.activation !== 'linear' && a.activation !== 'relu') return null;
      return forward(args, backend, ctx, tf.FusedConv2D, a, 1, args.inputs.bias, a.activation === 'relu');
    }),
    nativeKernel(tf.Conv2DBackpropInput, ctx, (args, backend) => {
      const a = args.attrs as unknown as tf.Conv2DBackpropInputAttrs;
      if (!nhwc(a.dataFormat)) return null;
      return backpropInput(args, backend, ctx, tf.Conv2DBackpropInput, a, 1, 1);
    }),
    nativeKernel(tf.Conv2DBackpropFilter, ctx, (args, backend) => {
      const a = args.attrs as unknown as tf.Conv2DBackpropFilterAttrs;
      if (!nhwc(a.dataFormat)) return null;
      return backpropFilter(args, backend, ctx, tf.Conv2DBackpropFilter, a, 1, 1);
    }),
    nativeKernel(GROUPED_CONV2D, ctx, (args, backend) => {
      const a = args.attrs as unknown as GroupedConv2DAttrs;
      return forward(args, backend, ctx, GROUPED_CONV2D, a, a.groups, undefined, false) ?? unsupported(GROUPED_CONV2D, args);
    }),
    nativeKernel(GROUPED_CONV2D_BACKPROP_INPUT, ctx, (args, backend) => {
      const a = args.attrs as unknown as GroupedConv2DAttrs & { inputShape: number[] };
      return backpropInput(args, backend, ctx, GROUPED_CONV2D_BACKPROP_INPUT, a, a.dilations, a.groups) ?? unsupported(GROUPED_CONV2D_BACKPROP_INPUT, args);
    }),
    nativeKernel(GROUPED_CONV2D_BACKPROP_FILTER, ctx, (args, backend) => {
      const a = args.attrs as unknown as GroupedConv2DAttrs & { filterShape: number[] };
      return backpropFilter(args, backend, ctx, GROUPED_CONV2D_BACKPROP_FILTER, a, a.dilations, a.groups) ?? unsupported(GROUPED_CONV2D_BACKPROP_FILTER, args);
    }),
  ];
}

/** The grouped kernels exist only natively: a case they cannot run is an error, with the shapes. */
function unsupported(kernelName: string, args: KernelArgs): never {
  const shapes = Object.entries(args.inputs).map(([k, v]) => `${k} [${v?.shape.join(', ') ?? ''}] ${v?.dtype ?? ''}`).join(', ');
  throw new Error(`${kernelName} on native: unsupported inputs or attributes (${shapes}; ${JSON.stringify(args.attrs)})`);
}
