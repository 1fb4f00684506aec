import * as tf from '@tensorflow/tfjs';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { asWasmBackend } from '../../wasm-kernels/kernel-scratch.js';
import type { NativeAddon } from '../addon.js';

import { NATIVE_BACKEND } from '../kernel-names.js';

export { NATIVE_BACKEND };

export type KernelArgs = Parameters<tf.KernelFunc>[0];
export type KernelResult = tf.TensorInfo | tf.TensorInfo[];

/** What a native kernel needs: the addon, and the wasm kernel to fall back on. */
export interface NativeKernelContext {
  addon: NativeAddon;
  /** The wasm backend's kernel of this name (ours where we replaced the shipped one), or undefined. */
  wasmKernel(kernelName: string): tf.KernelFunc | undefined;
}

/** A native kernel body: its result, or null to hand the call to the wasm kernel (an unsupported case). */
export type NativeBody = (args: KernelArgs, backend: BackendWasm, ctx: NativeKernelContext) => KernelResult | null;

/**
 * A kernel config for the native backend. The backend is the wasm backend's own instance
 * (see register-native.ts), so tensors live on the wasm heap and any case the native body
 * does not cover (other dtypes, layouts, attributes) runs the wasm kernel on the same data.
 */
export function nativeKernel(kernelName: string, ctx: NativeKernelContext, body: NativeBody): tf.KernelConfig {
  const fallback = ctx.wasmKernel(kernelName);
  return {
    kernelName,
    backendName: NATIVE_BACKEND,
    kernelFunc: (args: KernelArgs) => {
      const backend = asWasmBackend(args.backend, kernelName);
      const out = body(args, backend, ctx);
      if (out !== null) return out;
      if (fallback === undefined) throw new Error(`${kernelName} on native: this case is not supported and the wasm backend has no ${kernelName} kernel`);
      return fallback(args);
    },
  };
}

const PARAMS = new Float64Array(512);

/**
 * The numbers for one addon call, in one Float64Array reused by every call (the addon reads
 * them before returning). A fresh array per call would be an ArrayBuffer allocation per kernel,
 * and with the wasm heap counted as external memory V8 answered those with a full garbage
 * collection every step or so.
 */
export function params(...values: number[]): Float64Array {
  if (values.length > PARAMS.length) throw new Error(`native kernel: ${values.length} parameters, at most ${PARAMS.length}`);
  PARAMS.set(values);
  return PARAMS.subarray(0, values.length);
}

/** The heap every tensor of the backend lives in (re-read each call: growing the memory replaces it). */
export function heapOf(backend: BackendWasm): ArrayBuffer {
  // The emscripten module's typings are not installed; HEAPU8 is its view of the memory.
  return (backend.wasm as unknown as { HEAPU8: Uint8Array }).HEAPU8.buffer as ArrayBuffer;
}

/** Byte offset of a tensor's data on the heap. */
export function offsetOf(backend: BackendWasm, info: tf.TensorInfo): number {
  return backend.getMemoryOffset(info.dataId);
}

export function input(args: KernelArgs, name: string, kernelName: string): tf.TensorInfo {
  const info = args.inputs[name];
  if (info === undefined) throw new Error(`${kernelName} on native: missing input '${name}'`);
  return info;
}

export function sizeOf(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/** Every tensor is float32 and not empty: the native kernels' common precondition. */
export function allFloat32(...infos: (tf.TensorInfo | undefined)[]): boolean {
  return infos.every((i) => i === undefined || (i.dtype === 'float32' && sizeOf(i.shape) > 0));
}

/** A tensor sharing `x`'s data (as the cpu backend's Identity does); tensors are immutable, so sharing is safe. */
export function share(backend: BackendWasm, x: tf.TensorInfo, shape: number[] = x.shape): tf.TensorInfo {
  backend.incRef(x.dataId);
  return { dataId: x.dataId, shape, dtype: x.dtype };
}
