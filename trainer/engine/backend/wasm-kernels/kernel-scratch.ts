import * as tf from '@tensorflow/tfjs';
import { BackendWasm } from '@tensorflow/tfjs-backend-wasm';

/**
 * Runs the wasm backend's own kernels from inside one of our kernels, and frees
 * the intermediate results.
 *
 * Why direct kernel calls rather than tf ops in tf.tidy: a kernelFunc receives and
 * returns TensorInfo (dataIds the engine tracks), not Tensors. Calling registered
 * kernelFuncs is how the shipped backends compose kernels; the engine never sees
 * the intermediates, so they must be released with backend.disposeData, which
 * decrements the backend's per-dataId refcount (Reshape shares its input's data
 * and increments it, so disposing a reshape result is safe too).
 */
export class KernelScratch {
  private readonly temps: tf.TensorInfo[] = [];

  constructor(readonly backend: BackendWasm) {}

  /** Runs the wasm kernel `kernelName`; its result is freed by dispose() unless kept. */
  run(kernelName: string, inputs: tf.NamedTensorInfoMap, attrs: tf.NamedAttrMap = {}): tf.TensorInfo {
    const config = tf.getKernel(kernelName, 'wasm');
    if (config === undefined) {
      throw new Error(`wasm training kernels: the wasm backend has no '${kernelName}' kernel to build on`);
    }
    const out = config.kernelFunc({ inputs, backend: this.backend, attrs });
    if (Array.isArray(out)) {
      for (const o of out) this.temps.push(o);
      throw new Error(`wasm training kernels: '${kernelName}' returned ${out.length} outputs, expected one`);
    }
    this.temps.push(out);
    return out;
  }

  /** Takes `info` out of the scratch list so that it survives dispose() (the kernel's result). */
  keep(info: tf.TensorInfo): tf.TensorInfo {
    const i = this.temps.indexOf(info);
    if (i >= 0) this.temps.splice(i, 1);
    return info;
  }

  dispose(): void {
    for (const info of this.temps.splice(0)) this.backend.disposeData(info.dataId);
  }
}

/** Narrows a kernelFunc's untyped backend argument; our kernels are registered for 'wasm' only. */
export function asWasmBackend(backend: unknown, kernelName: string): BackendWasm {
  if (!(backend instanceof BackendWasm)) {
    throw new Error(`wasm training kernel '${kernelName}' was called with a backend that is not the wasm backend`);
  }
  return backend;
}

/** Runs `body` with a scratch area and frees every intermediate, also when it throws. */
export function withScratch(backend: unknown, kernelName: string, body: (s: KernelScratch) => tf.TensorInfo): tf.TensorInfo {
  const scratch = new KernelScratch(asWasmBackend(backend, kernelName));
  try {
    return scratch.keep(body(scratch));
  } finally {
    scratch.dispose();
  }
}

/** Reads a named kernel input, failing with the kernel's and the input's name if absent. */
export function requireInput(inputs: tf.NamedTensorInfoMap, name: string, kernelName: string): tf.TensorInfo {
  const info = inputs[name];
  if (info === undefined) throw new Error(`${kernelName} on wasm: missing input '${name}'`);
  return info;
}
