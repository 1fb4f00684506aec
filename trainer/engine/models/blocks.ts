import * as tf from '@tensorflow/tfjs';
import { GroupedConv2D } from './grouped-conv2d.js';
import { heNormal, type SeedSequence } from './init.js';

/**
 * The few layer kinds the model builders stack, each named by the caller and seeded
 * from the model's SeedSequence, so that every builder gets the same init scheme.
 */

// MXNet's ResNet symbols use momentum 0.9 and eps 2e-5; keep them so curves compare.
const BN_MOMENTUM = 0.9;
const BN_EPSILON = 2e-5;

export interface ConvSpec {
  name: string;
  filters: number;
  kernel: number;
  strides?: number;
  padding?: 'same' | 'valid';
  groups?: number;
  useBias?: boolean;
}

export function apply(layer: tf.layers.Layer, x: tf.SymbolicTensor | tf.SymbolicTensor[]): tf.SymbolicTensor {
  return layer.apply(x) as tf.SymbolicTensor;
}

export function channelsOf(x: tf.SymbolicTensor): number {
  const c = x.shape[x.shape.length - 1];
  if (c == null) throw new Error(`tensor ${x.name} has an unknown channel count`);
  return c;
}

/** A convolution, grouped when `groups` > 1; He-normal kernel with the next seed. */
export function conv(x: tf.SymbolicTensor, seeds: SeedSequence, spec: ConvSpec): tf.SymbolicTensor {
  const groups = spec.groups ?? 1;
  const common = {
    name: spec.name,
    filters: spec.filters,
    kernelSize: spec.kernel,
    strides: spec.strides ?? 1,
    padding: spec.padding ?? 'same',
    useBias: spec.useBias ?? false,
  };
  const seed = seeds.next();
  if (groups > 1) return apply(new GroupedConv2D({ ...common, groups, kernelSeed: seed }), x);
  const fanIn = spec.kernel * spec.kernel * channelsOf(x);
  return apply(tf.layers.conv2d({ ...common, kernelInitializer: heNormal(fanIn, seed) }), x);
}

export function batchNorm(x: tf.SymbolicTensor, name: string): tf.SymbolicTensor {
  return apply(tf.layers.batchNormalization({ name, axis: -1, momentum: BN_MOMENTUM, epsilon: BN_EPSILON }), x);
}

export function activation(x: tf.SymbolicTensor, name: string, kind: 'relu' | 'tanh'): tf.SymbolicTensor {
  return apply(tf.layers.activation({ name, activation: kind }), x);
}

/** Dense layer on a rank-2 input; He-normal kernel with the next seed, zero bias. */
export function dense(x: tf.SymbolicTensor, seeds: SeedSequence, name: string, units: number): tf.SymbolicTensor {
  const fanIn = channelsOf(x);
  return apply(tf.layers.dense({ name, units, kernelInitializer: heNormal(fanIn, seeds.next()) }), x);
}

/** conv -> batch norm -> relu; the relu is left out when `reluName` is not given. */
export function convBn(
  x: tf.SymbolicTensor,
  seeds: SeedSequence,
  spec: ConvSpec & { bnName: string; reluName?: string },
): tf.SymbolicTensor {
  const y = batchNorm(conv(x, seeds, spec), spec.bnName);
  return spec.reluName === undefined ? y : activation(y, spec.reluName, 'relu');
}
