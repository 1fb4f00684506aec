import type * as tf from '@tensorflow/tfjs';
import { UsageError } from '../../util/errors.js';
import { buildLeNet } from './lenet.js';
import { buildResNet } from './resnet.js';
import { buildResNeXt, type ResNeXtShape } from './resnext.js';

export const MODEL_NAMES = ['lenet', 'resnet', 'resnext'] as const;
export type ModelName = (typeof MODEL_NAMES)[number];

/** ResNeXt shapes by name: the paper's two CIFAR nets and a cheap one for tests and smoke runs. */
export const RESNEXT_PRESETS = {
  '8x64d': { depth: 29, cardinality: 8, width: 64, baseChannels: 64 },
  '16x64d': { depth: 29, cardinality: 16, width: 64, baseChannels: 64 },
  tiny: { depth: 11, cardinality: 2, width: 8, baseChannels: 16 },
} as const satisfies Record<string, ResNeXtShape>;
export type ResNeXtPreset = keyof typeof RESNEXT_PRESETS;

export const DEFAULT_RESNET_DEPTH = 20;
export const DEFAULT_RESNEXT_PRESET: ResNeXtPreset = '8x64d';

export interface ModelSpec {
  name: ModelName;
  /** resnet: 6n+2, default 20. resnext: 9n+2, default from the preset. */
  depth?: number;
  /** resnext only; default from the preset. */
  cardinality?: number;
  /** resnext only: bottleneck width d; default from the preset. */
  width?: number;
  /** resnext only: stem channels (stage outputs are 4x/8x/16x); default from the preset. */
  baseChannels?: number;
  /** resnext only: default '8x64d'; the fields above override it. */
  preset?: ResNeXtPreset;
  /** NHWC without the batch: [height, width, channels]. */
  inputShape: [number, number, number];
  numClasses: number;
  seed: number;
}

const RESNEXT_ONLY = ['cardinality', 'width', 'baseChannels', 'preset'] as const;

/** Builds a freshly initialised model, or throws a UsageError naming the bad field. */
export function buildModel(spec: ModelSpec): tf.LayersModel {
  checkCommon(spec);
  switch (spec.name) {
    case 'lenet':
      rejectFields(spec, ['depth', ...RESNEXT_ONLY]);
      return buildLeNet(spec);
    case 'resnet':
      rejectFields(spec, RESNEXT_ONLY);
      return buildResNet({ ...spec, depth: spec.depth ?? DEFAULT_RESNET_DEPTH });
    case 'resnext':
      return buildResNeXt({ ...spec, ...resnextShape(spec) });
    default:
      throw new UsageError(`name '${String(spec.name)}' is not a model: use one of ${MODEL_NAMES.join(', ')}`);
  }
}

export function resnextShape(spec: Pick<ModelSpec, 'depth' | 'cardinality' | 'width' | 'baseChannels' | 'preset'>): ResNeXtShape {
  const presetName = spec.preset ?? DEFAULT_RESNEXT_PRESET;
  if (!Object.hasOwn(RESNEXT_PRESETS, presetName)) {
    throw new UsageError(`preset '${presetName}' is not a resnext preset: use one of ${Object.keys(RESNEXT_PRESETS).join(', ')}`);
  }
  const preset = RESNEXT_PRESETS[presetName];
  return {
    depth: spec.depth ?? preset.depth,
    cardinality: spec.cardinality ?? preset.cardinality,
    width: spec.width ?? preset.width,
    baseChannels: spec.baseChannels ?? preset.baseChannels,
  };
}

function checkCommon(spec: ModelSpec): void {
  const shape: unknown = spec.inputShape;
  if (!Array.isArray(shape) || shape.length !== 3 || !shape.every((d) => Number.isInteger(d) && d > 0)) {
    throw new UsageError(`inputShape ${JSON.stringify(shape)} must be [height, width, channels] of positive integers`);
  }
  if (!Number.isInteger(spec.numClasses) || spec.numClasses < 2) {
    throw new UsageError(`numClasses ${spec.numClasses} must be an integer of at least 2`);
  }
  if (!Number.isInteger(spec.seed)) throw new UsageError(`seed ${spec.seed} must be an integer`);
}

// A field the chosen model ignores is almost always a typo in a job spec; say so.
function rejectFields(spec: ModelSpec, fields: readonly (keyof ModelSpec)[]): void {
  for (const field of fields) {
    if (spec[field] !== undefined) throw new UsageError(`${field} is not used by ${spec.name}`);
  }
}
