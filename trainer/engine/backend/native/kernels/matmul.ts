import * as tf from '@tensorflow/tfjs';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { allFloat32, heapOf, input, nativeKernel, offsetOf, params, sizeOf, type KernelArgs, type NativeKernelContext } from './kernel-context.js';

/**
 * a @ b over the last two axes, with batch axes broadcast as tfjs does. Runs natively when
 * the flattened batches line up (equal, or one side a single matrix); a bias must be a
 * vector over the output's last axis.
 */
function matMul(
  args: KernelArgs, backend: BackendWasm, ctx: NativeKernelContext, kernelName: string,
  transposeA: boolean, transposeB: boolean, bias: tf.TensorInfo | undefined, relu: boolean,
): tf.TensorInfo | null {
  const a = input(args, 'a', kernelName);
  const b = input(args, 'b', kernelName);
  if (!allFloat32(a, b, bias) || a.shape.length < 2 || b.shape.length < 2) return null;
  const ra = a.shape.length;
  const rb = b.shape.length;
  const M = transposeA ? a.shape[ra - 1] : a.shape[ra - 2];
  const K = transposeA ? a.shape[ra - 2] : a.shape[ra - 1];
  const Kb = transposeB ? b.shape[rb - 1] : b.shape[rb - 2];
  const N = transposeB ? b.shape[rb - 2] : b.shape[rb - 1];
  if (K !== Kb) return null; // the wasm kernel reports the mismatch
  const aOuter = a.shape.slice(0, -2);
  const bOuter = b.shape.slice(0, -2);
  let outer: number[];
  try {
    outer = tf.backend_util.assertAndGetBroadcastShape(aOuter, bOuter);
  } catch {
    return null;
  }
  const B = sizeOf(outer);
  const BA = sizeOf(aOuter);
  const BB = sizeOf(bOuter);
  if ((BA !== B && BA !== 1) || (BB !== B && BB !== 1)) return null;
  if (bias !== undefined && (sizeOf(bias.shape) !== N || bias.shape[bias.shape.length - 1] !== N)) return null;
  const out = backend.makeOutput([...outer, M, N], 'float32');
  ctx.addon.matMul(heapOf(backend), params(
    BA, BB, M, N, K, transposeA ? 1 : 0, transposeB ? 1 : 0,
    offsetOf(backend, a), offsetOf(backend, b), bias === undefined ? -1 : offsetOf(backend, bias), offsetOf(backend, out), relu ? 1 : 0,
  ));
  return out;
}

export function matMulKernels(ctx: NativeKernelContext): tf.KernelConfig[] {
  return [
    nativeKernel(tf.BatchMatMul, ctx, (args, backend) => {
      const attrs = args.attrs as unknown as tf.BatchMatMulAttrs;
      return matMul(args, backend, ctx, tf.BatchMatMul, attrs.transposeA, attrs.transposeB, undefined, false);
    }),
    nativeKernel(tf._FusedMatMul, ctx, (args, backend) => {
      const attrs = args.attrs as unknown as tf._FusedMatMulAttrs;
      if (args.inputs.preluActivationWeights !== undefined) return null;
      if (attrs.activation !== 'linear' && attrs.activation !== 'relu') return null;
      return matMul(args, backend, ctx, tf._FusedMatMul, attrs.transposeA, attrs.transposeB, args.inputs.bias, attrs.activation === 'relu');
    }),
  ];
}
