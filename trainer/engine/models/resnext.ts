import * as tf from '@tensorflow/tfjs';
import { UsageError } from '../../util/errors.js';
import { activation, apply, convBn, dense } from './blocks.js';
import { SeedSequence } from './init.js';

export interface ResNeXtShape {
  /** 9n + 2: 29 in the paper; 11 is the cheapest. */
  depth: number;
  /** Groups in each 3x3 convolution (C). */
  cardinality: number;
  /** Channels per group in stage 1 (d); doubles per stage. */
  width: number;
  /** Stem channels; stage outputs are 4x, 8x, 16x this (64 -> 256/512/1024 in the paper). */
  baseChannels: number;
}

export interface ResNeXtOptions extends ResNeXtShape {
  inputShape: [number, number, number];
  numClasses: number;
  seed: number;
}

export interface BottleneckPlan {
  prefix: string;
  inChannels: number;
  innerChannels: number;
  outChannels: number;
  strides: number;
  projection: boolean;
}

/** The layer widths of a ResNeXt, shared by the builder and the analytic parameter count. */
export interface ResNeXtPlan {
  cardinality: number;
  stemChannels: number;
  blocks: BottleneckPlan[];
}

/** n, the number of bottleneck blocks per stage, or a UsageError naming the depth. */
export function resnextBlocksPerStage(depth: number): number {
  const n = (depth - 2) / 9;
  if (!Number.isInteger(depth) || !Number.isInteger(n) || n < 1) {
    throw new UsageError(`depth ${depth} is not 9n+2 for resnext (use 11, 20 or 29)`);
  }
  return n;
}

export function resnextPlan(shape: ResNeXtShape): ResNeXtPlan {
  const n = resnextBlocksPerStage(shape.depth);
  for (const field of ['cardinality', 'width', 'baseChannels'] as const) {
    const v = shape[field];
    if (!Number.isInteger(v) || v < 1) throw new UsageError(`${field} ${v} for resnext must be a positive integer`);
  }
  const blocks: BottleneckPlan[] = [];
  let inChannels = shape.baseChannels;
  for (let s = 0; s < 3; s++) {
    const innerChannels = shape.cardinality * shape.width * 2 ** s;
    const outChannels = 4 * shape.baseChannels * 2 ** s;
    for (let b = 0; b < n; b++) {
      const strides = s > 0 && b === 0 ? 2 : 1;
      const projection = strides !== 1 || inChannels !== outChannels;
      blocks.push({ prefix: `stage${s + 1}_block${b + 1}`, inChannels, innerChannels, outChannels, strides, projection });
      inChannels = outChannels;
    }
  }
  return { cardinality: shape.cardinality, stemChannels: shape.baseChannels, blocks };
}

/**
 * ResNeXt for CIFAR (Xie et al. 2017, section 5.3, as in facebookresearch/ResNeXt):
 * 3x3 conv stem, three stages of n bottleneck blocks, each 1x1 conv to C*d*2^s
 * channels, 3x3 grouped conv with C groups (stride 2 at the first block of stages 2
 * and 3), 1x1 conv to 4*base*2^s channels; every conv followed by batch norm, relu
 * after all but the last, whose relu comes after the residual add. A projection
 * shortcut (1x1 conv + batch norm) where the shape changes. Global average pool, fc.
 * Layer names: stem_conv, stage{s}_block{b}_conv1/2/3, _proj_conv, _out, pool_global, fc.
 */
export function buildResNeXt(options: ResNeXtOptions): tf.LayersModel {
  const plan = resnextPlan(options);
  const seeds = new SeedSequence(options.seed);
  const input = tf.input({ shape: options.inputShape, name: 'data' });
  let x = convBn(input, seeds, { name: 'stem_conv', filters: plan.stemChannels, kernel: 3, bnName: 'stem_bn', reluName: 'stem_relu' });
  for (const block of plan.blocks) x = bottleneck(x, seeds, block, plan.cardinality);
  x = apply(tf.layers.globalAveragePooling2d({ name: 'pool_global' }), x);
  const logits = dense(x, seeds, 'fc', options.numClasses);
  const name = `resnext${options.depth}_${options.cardinality}x${options.width}d`;
  return tf.model({ inputs: input, outputs: logits, name });
}

function bottleneck(x: tf.SymbolicTensor, seeds: SeedSequence, block: BottleneckPlan, cardinality: number): tf.SymbolicTensor {
  const p = block.prefix;
  let y = convBn(x, seeds, { name: `${p}_conv1`, filters: block.innerChannels, kernel: 1, bnName: `${p}_bn1`, reluName: `${p}_relu1` });
  y = convBn(y, seeds, {
    name: `${p}_conv2`, filters: block.innerChannels, kernel: 3, strides: block.strides, groups: cardinality,
    bnName: `${p}_bn2`, reluName: `${p}_relu2`,
  });
  y = convBn(y, seeds, { name: `${p}_conv3`, filters: block.outChannels, kernel: 1, bnName: `${p}_bn3` });
  const shortcut = block.projection
    ? convBn(x, seeds, { name: `${p}_proj_conv`, filters: block.outChannels, kernel: 1, strides: block.strides, bnName: `${p}_proj_bn` })
    : x;
  const sum = apply(tf.layers.add({ name: `${p}_add` }), [y, shortcut]);
  return activation(sum, `${p}_out`, 'relu');
}
