import * as tf from '@tensorflow/tfjs';
// Registers the 'wasm' backend and its shipped kernels, which ours replace or complete.
import '@tensorflow/tfjs-backend-wasm';
import { conv2DBackpropFilterWasmConfig } from './wasm-kernels/conv2d-backprop-filter.js';
import { conv2DBackpropInputWasmConfig } from './wasm-kernels/conv2d-backprop-input.js';
import { maxPoolGradWasmConfig } from './wasm-kernels/max-pool-grad.js';
import { batchMatMulWasmConfig, useShippedBatchMatMul } from './wasm-kernels/batch-mat-mul.js';

/**
 * Kernels the wasm backend needs to train our conv nets (tfjs 4.22):
 * - Conv2DBackpropFilter: missing, so no conv weight can be trained.
 * - Conv2DBackpropInput: shipped as a scalar loop; ours runs on XNNPACK's conv.
 * - MaxPoolGrad: shipped one routes gradients wrongly when a window is all negative.
 * - BatchMatMul: the shipped one is ~8x slower with transposed operands (dense gradients).
 */
export const WASM_TRAINING_KERNELS: readonly tf.KernelConfig[] = [
  conv2DBackpropFilterWasmConfig,
  conv2DBackpropInputWasmConfig,
  maxPoolGradWasmConfig,
  batchMatMulWasmConfig,
];

const shipped = new Map<string, tf.KernelConfig>();

/**
 * Registers our wasm kernels, replacing shipped ones of the same name. Idempotent.
 * Returns the names of the kernels now served by this module.
 */
export function registerWasmTrainingKernels(): string[] {
  for (const config of WASM_TRAINING_KERNELS) {
    const current = tf.getKernel(config.kernelName, 'wasm');
    if (current?.kernelFunc === config.kernelFunc) continue;
    if (current !== undefined) {
      if (!shipped.has(config.kernelName)) shipped.set(config.kernelName, current);
      if (config === batchMatMulWasmConfig) useShippedBatchMatMul(shipped.get(config.kernelName)!.kernelFunc);
      // registerKernel only warns on a duplicate; unregister so that ours is the one used.
      tf.unregisterKernel(config.kernelName, 'wasm');
    }
    tf.registerKernel(config);
  }
  return WASM_TRAINING_KERNELS.map((k) => k.kernelName);
}

/** The kernel tfjs-backend-wasm shipped under `kernelName` before we replaced it, if any (for tests and benchmarks). */
export function shippedWasmKernel(kernelName: string): tf.KernelConfig | undefined {
  return shipped.get(kernelName) ?? (isOurs(kernelName) ? undefined : tf.getKernel(kernelName, 'wasm'));
}

function isOurs(kernelName: string): boolean {
  const current = tf.getKernel(kernelName, 'wasm');
  return WASM_TRAINING_KERNELS.some((k) => k.kernelFunc === current?.kernelFunc);
}
