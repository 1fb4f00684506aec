import * as tf from '@tensorflow/tfjs';
import { asWasmBackend, requireInput } from './kernel-scratch.js';

/**
 * MaxPool gradient: each dy value goes to the first position holding its window's maximum
 * (row-major, as the cpu backend picks it). The shipped wasm MaxPoolGrad sends it to the
 * window's first position when every value in the window is negative (measured with tfjs
 * 4.22), which corrupts training after tanh or batch norm. This is a plain loop over the
 * wasm heap: pooling layers are small next to convolutions.
 */
function maxPoolGradWasm(args: { inputs: tf.NamedTensorInfoMap; backend: unknown; attrs?: tf.NamedAttrMap }): tf.TensorInfo {
  const backend = asWasmBackend(args.backend, tf.MaxPoolGrad);
  const dy = requireInput(args.inputs, 'dy', tf.MaxPoolGrad);
  const input = requireInput(args.inputs, 'input', tf.MaxPoolGrad);
  // The engine passes the attributes of the maxPoolGrad op unchanged.
  const attrs = args.attrs as unknown as tf.MaxPoolGradAttrs;
  if (input.dtype !== 'float32' || dy.dtype !== 'float32') {
    throw new Error(`MaxPoolGrad on wasm: expected float32 input and dy, got ${input.dtype} and ${dy.dtype}`);
  }
  const info = tf.backend_util.computePool2DInfo(
    input.shape as [number, number, number, number],
    attrs.filterSize,
    attrs.strides,
    1,
    attrs.pad,
    attrs.dimRoundingMode,
  );
  const out = backend.makeOutput(input.shape, 'float32');
  // Views are taken after makeOutput: growing the wasm memory detaches older views.
  const dx = backend.typedArrayFromHeap(out) as Float32Array;
  const x = backend.typedArrayFromHeap(input) as Float32Array;
  const g = backend.typedArrayFromHeap(dy) as Float32Array;
  dx.fill(0);
  accumulate(x, g, dx, info);
  return out;
}

function accumulate(x: Float32Array, dy: Float32Array, dx: Float32Array, info: tf.backend_util.Conv2DInfo): void {
  const { batchSize, inHeight: H, inWidth: W, inChannels: C, outHeight: OH, outWidth: OW } = info;
  const { strideHeight: sH, strideWidth: sW, effectiveFilterHeight: kH, effectiveFilterWidth: kW } = info;
  const best = new Float32Array(C);
  const bestAt = new Int32Array(C);
  for (let b = 0; b < batchSize; b++) {
    const xBase = b * H * W * C;
    for (let oh = 0; oh < OH; oh++) {
      const h0 = oh * sH - info.padInfo.top;
      const hFrom = Math.max(0, h0);
      const hTo = Math.min(H, h0 + kH);
      for (let ow = 0; ow < OW; ow++) {
        const w0 = ow * sW - info.padInfo.left;
        const wFrom = Math.max(0, w0);
        const wTo = Math.min(W, w0 + kW);
        best.fill(-Infinity);
        bestAt.fill(-1);
        for (let h = hFrom; h < hTo; h++) {
          for (let w = wFrom; w < wTo; w++) {
            const at = xBase + (h * W + w) * C;
            for (let c = 0; c < C; c++) {
              // Strict '>' keeps the first maximum; NaN never wins, as on the cpu backend.
              if (x[at + c] > best[c]) {
                best[c] = x[at + c];
                bestAt[c] = at + c;
              }
            }
          }
        }
        const dyAt = ((b * OH + oh) * OW + ow) * C;
        for (let c = 0; c < C; c++) {
          if (bestAt[c] >= 0) dx[bestAt[c]] += dy[dyAt + c];
        }
      }
    }
  }
}

export const maxPoolGradWasmConfig: tf.KernelConfig = {
  kernelName: tf.MaxPoolGrad,
  backendName: 'wasm',
  kernelFunc: maxPoolGradWasm as tf.KernelFunc,
};
