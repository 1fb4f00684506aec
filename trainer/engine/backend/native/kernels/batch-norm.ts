import * as tf from '@tensorflow/tfjs';
import { allFloat32, heapOf, input, nativeKernel, offsetOf, params, sizeOf, type NativeKernelContext } from './kernel-context.js';

import { BATCH_NORM_TRAINING, BATCH_NORM_TRAINING_GRAD, type BatchNormTrainingAttrs } from '../kernel-names.js';

function channelVector(info: tf.TensorInfo | undefined, channels: number): boolean {
  return info === undefined || (info.dtype === 'float32' && sizeOf(info.shape) === channels && info.shape[info.shape.length - 1] === channels);
}

export function batchNormKernels(ctx: NativeKernelContext): tf.KernelConfig[] {
  const training = nativeKernel(BATCH_NORM_TRAINING, ctx, (args, backend) => {
    const x = input(args, 'x', BATCH_NORM_TRAINING);
    const scale = input(args, 'scale', BATCH_NORM_TRAINING);
    const offset = input(args, 'offset', BATCH_NORM_TRAINING);
    const C = x.shape[x.shape.length - 1];
    if (!allFloat32(x) || x.shape.length < 2 || !channelVector(scale, C) || !channelVector(offset, C)) {
      throw new Error(`${BATCH_NORM_TRAINING} on native: expected float32 x [..., C] and scale, offset of C values, got x [${x.shape.join(', ')}], scale [${scale.shape.join(', ')}], offset [${offset.shape.join(', ')}]`);
    }
    const { varianceEpsilon } = args.attrs as unknown as BatchNormTrainingAttrs;
    const y = backend.makeOutput([...x.shape], 'float32');
    const mean = backend.makeOutput([C], 'float32');
    const variance = backend.makeOutput([C], 'float32');
    const o = (t: tf.TensorInfo) => offsetOf(backend, t);
    ctx.addon.batchNormTrain(heapOf(backend), params(
      sizeOf(x.shape) / C, C, varianceEpsilon, o(x), o(scale), o(offset), o(y), o(mean), o(variance),
    ));
    return [y, mean, variance];
  });

  const gradient = nativeKernel(BATCH_NORM_TRAINING_GRAD, ctx, (args, backend) => {
    const k = BATCH_NORM_TRAINING_GRAD;
    const x = input(args, 'x', k);
    const dy = input(args, 'dy', k);
    const C = x.shape[x.shape.length - 1];
    const perChannel = ['scale', 'mean', 'variance', 'dMean', 'dVariance'].map((n) => input(args, n, k));
    if (!allFloat32(x, dy) || x.shape.join() !== dy.shape.join() || !perChannel.every((t) => channelVector(t, C))) {
      throw new Error(`${k} on native: expected float32 x and dy of one shape [..., C] and per-channel vectors of C values, got x [${x.shape.join(', ')}], dy [${dy.shape.join(', ')}]`);
    }
    const [scale, mean, variance, dMean, dVariance] = perChannel;
    const { varianceEpsilon } = args.attrs as unknown as BatchNormTrainingAttrs;
    const dx = backend.makeOutput([...x.shape], 'float32');
    const dScale = backend.makeOutput([C], 'float32');
    const dOffset = backend.makeOutput([C], 'float32');
    const o = (t: tf.TensorInfo) => offsetOf(backend, t);
    ctx.addon.batchNormTrainGrad(heapOf(backend), params(
      sizeOf(x.shape) / C, C, varianceEpsilon, o(x), o(scale), o(mean), o(variance), o(dy), o(dMean), o(dVariance), o(dx), o(dScale), o(dOffset),
    ));
    return [dx, dScale, dOffset];
  });

  // tf.batchNorm with given statistics (inference, or any caller of the op).
  const fused = nativeKernel(tf.FusedBatchNorm, ctx, (args, backend) => {
    const x = input(args, 'x', tf.FusedBatchNorm);
    const mean = input(args, 'mean', tf.FusedBatchNorm);
    const variance = input(args, 'variance', tf.FusedBatchNorm);
    const { offset, scale } = args.inputs;
    const C = x.shape[x.shape.length - 1];
    if (!allFloat32(x) || x.shape.length < 1 || ![mean, variance, offset, scale].every((t) => channelVector(t, C))) return null;
    const { varianceEpsilon } = args.attrs as unknown as tf.FusedBatchNormAttrs;
    const y = backend.makeOutput([...x.shape], 'float32');
    const o = (t: tf.TensorInfo | undefined) => (t === undefined ? -1 : offsetOf(backend, t));
    ctx.addon.batchNormInfer(heapOf(backend), params(
      sizeOf(x.shape) / C, C, varianceEpsilon, o(x), o(mean), o(variance), o(offset), o(scale), o(y),
    ));
    return y;
  });
  return [training, gradient, fused];
}
