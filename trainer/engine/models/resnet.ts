import * as tf from '@tensorflow/tfjs';
import { UsageError } from '../../util/errors.js';
import { activation, apply, channelsOf, convBn, dense } from './blocks.js';
import { SeedSequence } from './init.js';

export interface ResNetOptions {
  /** 6n + 2: 20, 32, 44, 56, 110 in the paper; 8 is the cheapest. */
  depth: number;
  inputShape: [number, number, number];
  numClasses: number;
  seed: number;
}

const STAGE_FILTERS = [16, 32, 64] as const;

/** n, the number of basic blocks per stage, or a UsageError naming the depth. */
export function resnetBlocksPerStage(depth: number): number {
  const n = (depth - 2) / 6;
  if (!Number.isInteger(depth) || !Number.isInteger(n) || n < 1) {
    throw new UsageError(`depth ${depth} is not 6n+2 for resnet (use 8, 20, 32, 44, 56 or 110)`);
  }
  return n;
}

/**
 * ResNet for CIFAR (He et al. 2016, section 4.2): 3x3 conv 16, three stages of n basic
 * blocks (two 3x3 convs each) with 16/32/64 filters, stride 2 at the first block of
 * stages 2 and 3, batch norm + relu, global average pool, fc (logits).
 *
 * Shortcut: projection (option B, 1x1 conv stride 2 + batch norm) where the shape
 * changes, identity elsewhere. The paper's CIFAR nets use option A (zero-padded
 * identity); B costs 2,560 more conv weights and 192 batch-norm parameters at any depth
 * (ResNet-20: 272,474 trainable instead of 269,722), is what MXNet's and most
 * frameworks' ResNets do, and needs no custom layer to save and load.
 * Layer names: stem_conv, stage{s}_block{b}_conv1 ... _out, pool_global, fc.
 */
export function buildResNet(options: ResNetOptions): tf.LayersModel {
  const n = resnetBlocksPerStage(options.depth);
  const seeds = new SeedSequence(options.seed);
  const input = tf.input({ shape: options.inputShape, name: 'data' });
  let x = convBn(input, seeds, { name: 'stem_conv', filters: STAGE_FILTERS[0], kernel: 3, bnName: 'stem_bn', reluName: 'stem_relu' });
  STAGE_FILTERS.forEach((filters, s) => {
    for (let b = 0; b < n; b++) {
      const strides = s > 0 && b === 0 ? 2 : 1;
      x = basicBlock(x, seeds, `stage${s + 1}_block${b + 1}`, filters, strides);
    }
  });
  x = apply(tf.layers.globalAveragePooling2d({ name: 'pool_global' }), x);
  const logits = dense(x, seeds, 'fc', options.numClasses);
  return tf.model({ inputs: input, outputs: logits, name: `resnet${options.depth}` });
}

function basicBlock(x: tf.SymbolicTensor, seeds: SeedSequence, prefix: string, filters: number, strides: number): tf.SymbolicTensor {
  let y = convBn(x, seeds, { name: `${prefix}_conv1`, filters, kernel: 3, strides, bnName: `${prefix}_bn1`, reluName: `${prefix}_relu1` });
  y = convBn(y, seeds, { name: `${prefix}_conv2`, filters, kernel: 3, bnName: `${prefix}_bn2` });
  const shortcut = strides !== 1 || channelsOf(x) !== filters
    ? convBn(x, seeds, { name: `${prefix}_proj_conv`, filters, kernel: 1, strides, bnName: `${prefix}_proj_bn` })
    : x;
  const sum = apply(tf.layers.add({ name: `${prefix}_add` }), [y, shortcut]);
  return activation(sum, `${prefix}_out`, 'relu');
}
