import * as tf from '@tensorflow/tfjs';
import { allFloat32, heapOf, input, nativeKernel, offsetOf, params, type NativeKernelContext } from './kernel-context.js';

type PoolAttrs = Pick<tf.MaxPoolAttrs, 'filterSize' | 'strides' | 'pad' | 'dimRoundingMode'>;

/** The 12 geometry numbers of the addon's pooling kernels (src/pool.cc), or null. */
function poolGeometry(xShape: readonly number[], attrs: PoolAttrs): number[] | null {
  if (xShape.length !== 4) return null;
  const info = tf.backend_util.computePool2DInfo(
    xShape as [number, number, number, number], attrs.filterSize, attrs.strides, 1, attrs.pad, attrs.dimRoundingMode,
  );
  const p = info.padInfo;
  if (p.top < 0 || p.left < 0 || info.outHeight < 1 || info.outWidth < 1) return null;
  return [
    info.batchSize, info.inHeight, info.inWidth, info.inChannels, info.outHeight, info.outWidth,
    info.effectiveFilterHeight, info.effectiveFilterWidth, info.strideHeight, info.strideWidth, p.top, p.left,
  ];
}

export function poolKernels(ctx: NativeKernelContext): tf.KernelConfig[] {
  return [
    nativeKernel(tf.MaxPool, ctx, (args, backend) => {
      const x = input(args, 'x', tf.MaxPool);
      if (!allFloat32(x)) return null;
      const g = poolGeometry(x.shape, args.attrs as unknown as PoolAttrs);
      if (g === null) return null;
      const out = backend.makeOutput([g[0], g[4], g[5], g[3]], 'float32');
      ctx.addon.maxPool(heapOf(backend), params(...g, offsetOf(backend, x), offsetOf(backend, out)));
      return out;
    }),
    nativeKernel(tf.MaxPoolGrad, ctx, (args, backend) => {
      const x = input(args, 'input', tf.MaxPoolGrad);
      const dy = input(args, 'dy', tf.MaxPoolGrad);
      if (!allFloat32(x, dy)) return null;
      const g = poolGeometry(x.shape, args.attrs as unknown as PoolAttrs);
      if (g === null || dy.shape.join() !== [g[0], g[4], g[5], g[3]].join()) return null;
      const dx = backend.makeOutput([...x.shape], 'float32');
      ctx.addon.maxPoolGrad(heapOf(backend), params(...g, offsetOf(backend, x), offsetOf(backend, dy), offsetOf(backend, dx)));
      return dx;
    }),
  ];
}
