import type * as tf from '@tensorflow/tfjs';
import { CIFAR10_MEAN, CIFAR10_STD, type Rgb } from '../../data/pipeline/normalize.js';
import { DataFormatError } from '../../util/errors.js';

/**
 * How a model wants its input pixels: (pixel - mean) / std per RGB channel, pixels on the
 * 0..255 scale. Stored in the model's user-defined metadata (model.json), so that predict
 * and fine-tuning feed a model what it was trained on: an imported MXNet model often
 * wants raw pixels (mean 0, std 1) or ImageNet statistics, this trainer's own models the
 * CIFAR-10 statistics.
 */
export interface Preprocessing {
  mean: Rgb;
  std: Rgb;
}

export const PREPROCESSING_METADATA_KEY = 'preprocessing';

/** What this trainer feeds the models it builds (and so what a model without the key wants). */
export const TRAINER_PREPROCESSING: Preprocessing = { mean: CIFAR10_MEAN, std: CIFAR10_STD };

/** The model's stored preprocessing; a model saved before it was recorded was trained with TRAINER_PREPROCESSING. */
export function preprocessingOf(model: tf.LayersModel, where = model.name): Preprocessing {
  const metadata = model.getUserDefinedMetadata() as Record<string, unknown> | undefined;
  const entry = metadata?.[PREPROCESSING_METADATA_KEY];
  if (entry === undefined) return TRAINER_PREPROCESSING;
  return checkPreprocessing(entry, where);
}

/** Records `preprocessing` in the model's metadata, keeping its other entries. */
export function setPreprocessing(model: tf.LayersModel, preprocessing: Preprocessing): void {
  const metadata = (model.getUserDefinedMetadata() ?? {}) as Record<string, unknown>;
  model.setUserDefinedMetadata({ ...metadata, [PREPROCESSING_METADATA_KEY]: { mean: [...preprocessing.mean], std: [...preprocessing.std] } });
}

export function checkPreprocessing(value: unknown, where: string): Preprocessing {
  const fail = (detail: string) => new DataFormatError(where, undefined, `metadata '${PREPROCESSING_METADATA_KEY}': ${detail}`);
  if (typeof value !== 'object' || value === null) throw fail('is not an object');
  const { mean, std } = value as { mean?: unknown; std?: unknown };
  const triple = (v: unknown, name: string, positive: boolean): Rgb => {
    if (!Array.isArray(v) || v.length !== 3 || !v.every((x) => typeof x === 'number' && Number.isFinite(x) && (!positive || x > 0))) {
      throw fail(`${name} must be 3 ${positive ? 'positive ' : ''}numbers (R, G, B), got ${JSON.stringify(v)}`);
    }
    return [v[0], v[1], v[2]];
  };
  return { mean: triple(mean, 'mean', false), std: triple(std, 'std', true) };
}
