/**
 * Turns the uint8 image cache into float32 NHWC batches for one epoch.
 * Every random choice for the example at position p of epoch e comes from
 * Rng.derive(seed, e, p), so a batch depends only on (seed, epoch, batch index):
 * resuming mid-epoch, or producing batches ahead in another thread, gives exactly
 * the batches of an uninterrupted run.
 */
import { UsageError } from '../../util/errors.js';
import { Rng } from '../../util/rng.js';
import { centerPlacement, checkCropSpec, eraseCutout, randomPlacement, writeCrop, type CropSpec } from './augment.js';
import { epochOrder } from './epoch-order.js';
import type { ImageCache } from './image-cache.js';
import { normalizationTable, type Rgb } from './normalize.js';

export interface AugmentOptions extends CropSpec {
  /** Training: random crop, flip and Cutout. Otherwise: centre crop, no flip, no Cutout. */
  train: boolean;
  mean: Rgb;
  std: Rgb;
}

export interface EpochOptions extends AugmentOptions {
  batchSize: number;
  seed: number;
  epoch: number;
  /** Drop the last, smaller batch. */
  dropLast: boolean;
  /** Shuffle the order; defaults to `train`. */
  shuffle?: boolean;
  /** First batch to produce, for resuming mid-epoch. */
  startBatch?: number;
}

export interface MakeBatchOptions extends AugmentOptions {
  seed: number;
  epoch: number;
  /** Epoch position of indices[0]; the random stream of each example depends on it. */
  firstPosition: number;
}

export interface Batch {
  /** size*crop*crop*3 floats, NHWC. */
  x: Float32Array;
  y: Int32Array;
  size: number;
}

export interface EpochBatch extends Batch {
  epoch: number;
  /** Index of this batch within its epoch. */
  index: number;
}

/** Number of batches an epoch of `count` examples yields. */
export function batchCount(count: number, batchSize: number, dropLast: boolean): number {
  return dropLast ? Math.floor(count / batchSize) : Math.ceil(count / batchSize);
}

/**
 * Builds one batch from the examples `indices`. `out`, when given, must be large
 * enough and is filled instead of allocating.
 */
export function makeBatch(cache: ImageCache, indices: ArrayLike<number>, options: MakeBatchOptions, out?: Batch): Batch {
  checkCropSpec(options, cache.height, cache.width);
  const table = normalizationTable(options.mean, options.std);
  return fillBatch(cache, indices, options, table, out);
}

/** What an epoch will produce; `batch(b)` makes batch b on demand, in any order. */
export interface EpochPlan {
  readonly epoch: number;
  readonly batches: number;
  readonly order: Uint32Array;
  batch(b: number): EpochBatch;
}

export function planEpoch(cache: ImageCache, opts: EpochOptions): EpochPlan {
  checkEpochOptions(opts);
  checkCropSpec(opts, cache.height, cache.width);
  const table = normalizationTable(opts.mean, opts.std);
  const order = epochOrder(cache.count, opts.seed, opts.epoch, opts.shuffle ?? opts.train);
  const batches = batchCount(cache.count, opts.batchSize, opts.dropLast);
  const makeOpts: MakeBatchOptions = { ...opts, firstPosition: 0 };
  return {
    epoch: opts.epoch,
    batches,
    order,
    batch(b: number): EpochBatch {
      if (!(Number.isInteger(b) && b >= 0 && b < batches)) {
        throw new RangeError(`batch index ${b} is outside epoch ${opts.epoch}'s ${batches} batches`);
      }
      const start = b * opts.batchSize;
      const indices = order.subarray(start, Math.min(start + opts.batchSize, order.length));
      makeOpts.firstPosition = start;
      return { ...fillBatch(cache, indices, makeOpts, table), epoch: opts.epoch, index: b };
    },
  };
}

/** The batches of one epoch in order, from `startBatch` (default 0). */
export function* batchesForEpoch(cache: ImageCache, opts: EpochOptions): Generator<EpochBatch> {
  const plan = planEpoch(cache, opts);
  for (let b = opts.startBatch ?? 0; b < plan.batches; b++) yield plan.batch(b);
}

/** Validates the options that do not depend on the cache; names the bad field. */
export function checkEpochOptions(opts: EpochOptions): void {
  if (!(Number.isInteger(opts.batchSize) && opts.batchSize > 0)) throw new UsageError(`batchSize must be a positive integer, got ${opts.batchSize}`);
  if (!(Number.isInteger(opts.epoch) && opts.epoch >= 0)) throw new UsageError(`epoch must be a non-negative integer, got ${opts.epoch}`);
  if (!Number.isInteger(opts.seed)) throw new UsageError(`seed must be an integer, got ${opts.seed}`);
  const start = opts.startBatch ?? 0;
  if (!(Number.isInteger(start) && start >= 0)) throw new UsageError(`startBatch must be a non-negative integer, got ${start}`);
}

function fillBatch(cache: ImageCache, indices: ArrayLike<number>, options: MakeBatchOptions, table: Float32Array, out?: Batch): Batch {
  const n = indices.length;
  const { height, width } = cache;
  const crop = options.crop;
  const outImage = crop * crop * 3;
  const srcImage = height * width * 3;
  const x = out ? out.x : new Float32Array(n * outImage);
  const y = out ? out.y : new Int32Array(n);
  if (x.length < n * outImage || y.length < n) throw new RangeError(`output batch holds fewer than ${n} examples`);
  const center = centerPlacement(height, width, crop);
  for (let i = 0; i < n; i++) {
    const idx = indices[i];
    if (!(idx >= 0 && idx < cache.count)) throw new RangeError(`example index ${idx} is outside the cache of ${cache.count}`);
    const place = options.train
      ? randomPlacement(Rng.derive(options.seed, options.epoch, options.firstPosition + i), height, width, options)
      : center;
    writeCrop(cache.pixels, idx * srcImage, height, width, place, crop, table, x, i * outImage);
    eraseCutout(place, options.cutout ?? 0, crop, x, i * outImage);
    y[i] = cache.labels[idx];
  }
  return { x, y, size: n };
}
