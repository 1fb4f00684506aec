import * as tf from '@tensorflow/tfjs';
import { broadcastPlan } from './broadcast-plan.js';
import { allFloat32, heapOf, input, nativeKernel, offsetOf, params, share, sizeOf, type NativeKernelContext } from './kernel-context.js';

/** Op codes of the addon's binary kernel (src/eltwise.cc). */
const BINARY_OPS: Readonly<Record<string, number>> = {
  [tf.Add]: 0, [tf.Sub]: 1, [tf.Multiply]: 2, [tf.RealDiv]: 3, [tf.Maximum]: 4, [tf.Minimum]: 5, [tf.SquaredDifference]: 6,
};

/** Op codes of the addon's unary kernel. */
const UNARY_OPS: Readonly<Record<string, number>> = {
  [tf.Relu]: 0, [tf.Neg]: 1, [tf.Square]: 2, [tf.Step]: 3, [tf.Tanh]: 4, [tf.Sigmoid]: 5, [tf.Exp]: 6,
  [tf.Relu6]: 7, [tf.Abs]: 8, [tf.Sqrt]: 9, [tf.Rsqrt]: 10,
};

import { RELU_GRAD, SIGMOID_GRAD, TANH_GRAD } from '../kernel-names.js';

const UNARY_GRAD_OPS: Readonly<Record<string, number>> = { [RELU_GRAD]: 0, [TANH_GRAD]: 1, [SIGMOID_GRAD]: 2 };

export function elementwiseKernels(ctx: NativeKernelContext): tf.KernelConfig[] {
  const binary = Object.entries(BINARY_OPS).map(([name, op]) => nativeKernel(name, ctx, (args, backend) => {
    const a = input(args, 'a', name);
    const b = input(args, 'b', name);
    if (!allFloat32(a, b)) return null;
    const plan = broadcastPlan(a.shape, b.shape);
    if (plan === null) return null;
    const out = backend.makeOutput(plan.outShape, 'float32');
    ctx.addon.binary(heapOf(backend), params(
      op, plan.dims.length, ...plan.dims, ...plan.aStrides, ...plan.bStrides,
      offsetOf(backend, a), offsetOf(backend, b), offsetOf(backend, out), sizeOf(a.shape), sizeOf(b.shape),
    ));
    return out;
  }));

  const unary = Object.entries(UNARY_OPS).map(([name, op]) => nativeKernel(name, ctx, (args, backend) => {
    const x = input(args, 'x', name);
    if (!allFloat32(x)) return null;
    const alpha = name === tf.Step ? (args.attrs as unknown as tf.StepAttrs).alpha : 0;
    const out = backend.makeOutput([...x.shape], 'float32');
    ctx.addon.unary(heapOf(backend), params(op, sizeOf(x.shape), offsetOf(backend, x), offsetOf(backend, out), alpha));
    return out;
  }));

  // x is relu's input, or tanh's / sigmoid's output.
  const grads = Object.entries(UNARY_GRAD_OPS).map(([name, op]) => nativeKernel(name, ctx, (args, backend) => {
    const x = input(args, 'x', name);
    const dy = input(args, 'dy', name);
    if (!allFloat32(x, dy) || x.shape.join() !== dy.shape.join()) {
      throw new Error(`${name} on native: expected float32 x and dy of one shape, got [${x.shape.join(', ')}] ${x.dtype} and [${dy.shape.join(', ')}] ${dy.dtype}`);
    }
    const dx = backend.makeOutput([...x.shape], 'float32');
    ctx.addon.unaryGrad(heapOf(backend), params(op, sizeOf(x.shape), offsetOf(backend, x), offsetOf(backend, dy), offsetOf(backend, dx)));
    return dx;
  }));

  // Identity, and a Cast to the same dtype, share the input's data instead of copying it
  // (the wasm kernels copy; tfjs clones every tensor it saves for the backward pass).
  const sharing = [
    nativeKernel(tf.Identity, ctx, (args, backend) => share(backend, input(args, 'x', tf.Identity))),
    nativeKernel(tf.Cast, ctx, (args, backend) => {
      const x = input(args, 'x', tf.Cast);
      return (args.attrs as unknown as tf.CastAttrs).dtype === x.dtype ? share(backend, x) : null;
    }),
  ];
  return [...binary, ...unary, ...grads, ...sharing];
}
