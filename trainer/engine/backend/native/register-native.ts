import * as tf from '@tensorflow/tfjs';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import type { NativeAddon } from './addon.js';
import { useNativeBatchNormInTraining } from './batch-norm-layer.js';
import { useUnfusedConv2DLayer } from './conv-layer.js';
import { registerNativeGradients } from './gradients.js';
import { batchNormKernels } from './kernels/batch-norm.js';
import { convKernels } from './kernels/conv.js';
import { elementwiseKernels } from './kernels/elementwise.js';
import { NATIVE_BACKEND } from './kernel-names.js';
import type { NativeKernelContext } from './kernels/kernel-context.js';
import { matMulKernels } from './kernels/matmul.js';
import { poolKernels } from './kernels/pool.js';
import { reduceKernels } from './kernels/reduce.js';
import { sgdKernels } from './kernels/sgd.js';

/** The kernels the addon runs; every other kernel of the native backend is the wasm backend's. */
export function nativeKernelConfigs(ctx: NativeKernelContext): tf.KernelConfig[] {
  return [
    ...convKernels(ctx),
    ...matMulKernels(ctx),
    ...elementwiseKernels(ctx),
    ...reduceKernels(ctx),
    ...batchNormKernels(ctx),
    ...poolKernels(ctx),
    ...sgdKernels(ctx),
  ];
}

/**
 * Registers the 'native' tfjs backend. It is the wasm backend's own instance under a second
 * name: tensors stay on the wasm heap and every kernel of the wasm backend stays available,
 * while the heavy ones (convolutions, matmul, batch norm, pooling, elementwise ops and
 * reductions over large tensors) are replaced by the addon's, which run multi-threaded on
 * the same heap memory. A second BackendWasm cannot be made: the wasm kernels bind their
 * module in module-level variables. Call after the wasm backend is initialised (its
 * instance is `wasm`); idempotent. Returns the names of the kernels the addon serves.
 */
export function registerNativeBackend(addon: NativeAddon, wasm: BackendWasm): string[] {
  if (tf.findBackendFactory(NATIVE_BACKEND) === null) {
    // Priority 0: never tfjs's own pick; the trainer selects it explicitly.
    tf.registerBackend(NATIVE_BACKEND, () => wasm, 0);
  }
  const ctx: NativeKernelContext = { addon, wasmKernel: (name) => tf.getKernel(name, 'wasm')?.kernelFunc };
  const ours = nativeKernelConfigs(ctx);
  const ourNames = new Set(ours.map((k) => k.kernelName));
  for (const k of tf.getKernelsForBackend('wasm')) {
    if (ourNames.has(k.kernelName) || tf.getKernel(k.kernelName, NATIVE_BACKEND) !== undefined) continue;
    // No setupFunc: the wasm kernels were set up on this same instance when 'wasm' was activated.
    tf.registerKernel({ kernelName: k.kernelName, backendName: NATIVE_BACKEND, kernelFunc: k.kernelFunc });
  }
  for (const k of ours) {
    if (tf.getKernel(k.kernelName, NATIVE_BACKEND) !== undefined) tf.unregisterKernel(k.kernelName, NATIVE_BACKEND);
    tf.registerKernel(k);
  }
  registerNativeGradients();
  useNativeBatchNormInTraining();
  useUnfusedConv2DLayer();
  return [...ourNames];
}
