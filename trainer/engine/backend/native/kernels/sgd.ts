import type * as tf from '@tensorflow/tfjs';
import { SGD_MOMENTUM, type SgdMomentumAttrs } from '../kernel-names.js';
import { allFloat32, heapOf, input, nativeKernel, offsetOf, params, sizeOf, type NativeKernelContext } from './kernel-context.js';

export function sgdKernels(ctx: NativeKernelContext): tf.KernelConfig[] {
  return [nativeKernel(SGD_MOMENTUM, ctx, (args, backend) => {
    const variable = input(args, 'variable', SGD_MOMENTUM);
    const grad = input(args, 'grad', SGD_MOMENTUM);
    const buffer = input(args, 'buffer', SGD_MOMENTUM);
    const shape = variable.shape.join();
    if (!allFloat32(variable, grad, buffer) || grad.shape.join() !== shape || buffer.shape.join() !== shape) {
      throw new Error(`${SGD_MOMENTUM} on native: expected float32 variable, gradient and buffer of one shape, got [${variable.shape.join(', ')}], [${grad.shape.join(', ')}], [${buffer.shape.join(', ')}]`);
    }
    const a = args.attrs as unknown as SgdMomentumAttrs;
    const newVariable = backend.makeOutput([...variable.shape], 'float32');
    const newBuffer = backend.makeOutput([...variable.shape], 'float32');
    const o = (t: tf.TensorInfo) => offsetOf(backend, t);
    ctx.addon.sgdMomentum(heapOf(backend), params(
      sizeOf(variable.shape), a.lr, a.momentum, a.weightDecay, a.nesterov ? 1 : 0, o(variable), o(grad), o(buffer), o(newVariable), o(newBuffer),
    ));
    return [newVariable, newBuffer];
  })];
}
