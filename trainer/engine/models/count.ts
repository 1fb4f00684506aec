import * as tf from '@tensorflow/tfjs';
import type { ResNeXtPlan } from './resnext.js';

export interface ParamCount {
  /** Trained by the optimiser: kernels, biases, batch-norm gamma and beta. */
  trainable: number;
  /** Batch-norm moving mean and variance (and any frozen layer's weights). */
  nonTrainable: number;
  total: number;
}

/** Counts a built model's weights from their shapes; no forward pass. */
export function countParams(model: tf.LayersModel): ParamCount {
  const size = (ws: tf.LayerVariable[]): number => ws.reduce((sum, w) => sum + w.read().size, 0);
  const trainable = size(model.trainableWeights);
  const nonTrainable = size(model.nonTrainableWeights);
  return { trainable, nonTrainable, total: trainable + nonTrainable };
}

/**
 * The parameter count of a ResNeXt computed from its plan alone, so that the
 * paper-sized nets (34M and 68M weights) can be checked without allocating them.
 * Mirrors buildResNeXt: bias-free convs, each with a batch norm (2 trainable and 2
 * moving values per channel), and an fc with bias.
 */
export function resnextParamCount(plan: ResNeXtPlan, inputChannels: number, numClasses: number): ParamCount {
  let conv = 0;
  let bnChannels = 0;
  const convBn = (cin: number, cout: number, kernel: number, groups = 1): void => {
    conv += kernel * kernel * (cin / groups) * cout;
    bnChannels += cout;
  };
  convBn(inputChannels, plan.stemChannels, 3);
  let last = plan.stemChannels;
  for (const b of plan.blocks) {
    convBn(b.inChannels, b.innerChannels, 1);
    convBn(b.innerChannels, b.innerChannels, 3, plan.cardinality);
    convBn(b.innerChannels, b.outChannels, 1);
    if (b.projection) convBn(b.inChannels, b.outChannels, 1);
    last = b.outChannels;
  }
  const fc = last * numClasses + numClasses;
  const trainable = conv + 2 * bnChannels + fc;
  const nonTrainable = 2 * bnChannels;
  return { trainable, nonTrainable, total: trainable + nonTrainable };
}
