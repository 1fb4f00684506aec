import * as tf from '@tensorflow/tfjs';
import { allFloat32, heapOf, input, nativeKernel, offsetOf, params, sizeOf, type NativeKernelContext } from './kernel-context.js';

const REDUCE_OPS: Readonly<Record<string, number>> = { [tf.Sum]: 0, [tf.Mean]: 1, [tf.Max]: 2, [tf.Min]: 3 };

/**
 * The [outer, r, inner] view of reducing `axes` of `shape`, when the reduced axes are one
 * run of neighbours once size-1 axes are ignored; null otherwise.
 */
export function reductionView(shape: readonly number[], axes: readonly number[]): { outer: number; r: number; inner: number } | null {
  const reduced = new Set(axes.filter((a) => shape[a] !== 1));
  if (reduced.size === 0) return null;
  const kept = shape.map((_, d) => d).filter((d) => shape[d] !== 1);
  const first = kept.findIndex((d) => reduced.has(d));
  const run = kept.slice(first, first + reduced.size);
  if (!run.every((d) => reduced.has(d))) return null;
  const before = kept.slice(0, first);
  const after = kept.slice(first + reduced.size);
  const prod = (ds: number[]) => ds.reduce((p, d) => p * shape[d], 1);
  return { outer: prod(before), r: prod(run), inner: prod(after) };
}

export function reduceKernels(ctx: NativeKernelContext): tf.KernelConfig[] {
  return Object.entries(REDUCE_OPS).map(([name, op]) => nativeKernel(name, ctx, (args, backend) => {
    const x = input(args, 'x', name);
    if (!allFloat32(x)) return null;
    // Max names its axes reductionIndices; Sum, Mean and Min name them axis.
    const { axis, reductionIndices, keepDims } = args.attrs as unknown as tf.SumAttrs & Partial<tf.MaxAttrs>;
    const axes = tf.util.parseAxisParam(reductionIndices ?? axis, x.shape);
    const view = reductionView(x.shape, axes);
    if (view === null) return null;
    const [outShape] = tf.backend_util.computeOutAndReduceShapes(x.shape, axes);
    const shape = keepDims ? tf.backend_util.expandShapeToKeepDim(outShape, axes) : outShape;
    const out = backend.makeOutput(shape, 'float32');
    if (sizeOf(shape) !== view.outer * view.inner) throw new Error(`${name} on native: reduction view of [${x.shape.join(', ')}] is inconsistent`);
    ctx.addon.reduce(heapOf(backend), params(op, view.outer, view.r, view.inner, offsetOf(backend, x), offsetOf(backend, out)));
    return out;
  }));
}
