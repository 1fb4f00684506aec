import * as tf from '@tensorflow/tfjs';
import { UsageError } from '../../util/errors.js';
import { activation, apply, conv, dense } from './blocks.js';
import { SeedSequence } from './init.js';

export interface LeNetOptions {
  inputShape: [number, number, number];
  numClasses: number;
  seed: number;
}

/** The smallest height or width that survives conv5 - pool2 - conv5 - pool2. */
export const LENET_MIN_SIZE = 14;

/**
 * LeNet as in part 1 of the MXNet tutorial: conv 5x5x20 - tanh - maxpool 2x2/2 -
 * conv 5x5x50 - tanh - maxpool 2x2/2 - flatten - dense 500 - tanh - fc (logits).
 * Convolutions are unpadded, as in MXNet's symbol. Fine-tuning cuts at 'dense1_tanh'.
 */
export function buildLeNet(options: LeNetOptions): tf.LayersModel {
  const [h, w] = options.inputShape;
  if (Math.min(h, w) < LENET_MIN_SIZE) {
    throw new UsageError(`inputShape [${options.inputShape.join(', ')}] is too small for lenet: height and width must be at least ${LENET_MIN_SIZE}`);
  }
  const seeds = new SeedSequence(options.seed);
  const input = tf.input({ shape: options.inputShape, name: 'data' });
  let x = conv(input, seeds, { name: 'conv1', filters: 20, kernel: 5, padding: 'valid', useBias: true });
  x = activation(x, 'conv1_tanh', 'tanh');
  x = apply(tf.layers.maxPooling2d({ name: 'pool1', poolSize: 2, strides: 2 }), x);
  x = conv(x, seeds, { name: 'conv2', filters: 50, kernel: 5, padding: 'valid', useBias: true });
  x = activation(x, 'conv2_tanh', 'tanh');
  x = apply(tf.layers.maxPooling2d({ name: 'pool2', poolSize: 2, strides: 2 }), x);
  x = apply(tf.layers.flatten({ name: 'flatten' }), x);
  x = dense(x, seeds, 'dense1', 500);
  x = activation(x, 'dense1_tanh', 'tanh');
  const logits = dense(x, seeds, 'fc', options.numClasses);
  return tf.model({ inputs: input, outputs: logits, name: 'lenet' });
}
