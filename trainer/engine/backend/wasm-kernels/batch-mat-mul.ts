import * as tf from '@tensorflow/tfjs';
import { requireInput, withScratch } from './kernel-scratch.js';

/**
 * BatchMatMul with transposed operands. The shipped wasm kernel handles transposeA/B
 * inside its inner loop and runs about 8x slower than without (measured: a 128x1250 by
 * 128x500 weight gradient took 76 ms against 8 ms with an explicit transpose first), and
 * dense-layer gradients are exactly such products. Transposing the operand with the
 * backend's Transpose kernel, then multiplying untransposed, gives the same result.
 */
let shippedBatchMatMul: tf.KernelFunc | undefined;

/** Set by the registration, which holds on to the shipped kernel it replaces. */
export function useShippedBatchMatMul(kernel: tf.KernelFunc): void {
  shippedBatchMatMul = kernel;
}

function batchMatMulWasm({ inputs, backend, attrs }: Parameters<tf.KernelFunc>[0]): tf.TensorInfo {
  const shipped = shippedBatchMatMul;
  if (!shipped) throw new Error('BatchMatMul on wasm: the shipped kernel was not registered before ours');
  const { transposeA, transposeB } = attrs as { transposeA: boolean; transposeB: boolean };
  const a = requireInput(inputs, 'a', 'BatchMatMul');
  const b = requireInput(inputs, 'b', 'BatchMatMul');
  if (!transposeA && !transposeB) return shipped({ inputs, backend, attrs }) as tf.TensorInfo;
  return withScratch(backend, 'BatchMatMul', (scratch) => {
    const swapLast = (x: tf.TensorInfo) => {
      const rank = x.shape.length;
      const perm = [...Array.from({ length: rank - 2 }, (_, i) => i), rank - 1, rank - 2];
      return scratch.run('Transpose', { x }, { perm });
    };
    const left = transposeA ? swapLast(a) : a;
    const right = transposeB ? swapLast(b) : b;
    return shipped({ inputs: { a: left, b: right }, backend, attrs: { ...attrs, transposeA: false, transposeB: false } }) as tf.TensorInfo;
  });
}

export const batchMatMulWasmConfig: tf.KernelConfig = {
  kernelName: 'BatchMatMul',
  backendName: 'wasm',
  kernelFunc: batchMatMulWasm as tf.KernelFunc,
};
