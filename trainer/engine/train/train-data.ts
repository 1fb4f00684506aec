import type { ImageCache } from '../../data/pipeline/image-cache.js';
import type { BatchProducer } from '../../data/pipeline/batch-producer.js';
import { batchCount, batchesForEpoch } from '../../data/pipeline/batches.js';
import { CIFAR10_MEAN, CIFAR10_STD, type Rgb } from '../../data/pipeline/normalize.js';
import type { Augmentation } from './options.js';
import type { TrainData } from './types.js';

export interface TrainDataOptions {
  batchSize: number;
  seed: number;
  crop: number;
  /** For training batches; validation batches are centre crops without any. */
  augment: Augmentation;
  shuffle: boolean;
  /** Steps per epoch when it must agree across replicas (the smallest shard's); default: this cache's. */
  stepsPerEpoch?: number;
  /** Input normalisation, 0..255 scale (default: the CIFAR-10 statistics). */
  normalization?: { mean: Rgb; std: Rgb };
}

/**
 * Adapts the input pipeline to the training loop: shuffled, augmented training batches
 * (the last partial batch dropped, so every step has the same batch size) and
 * centre-cropped validation batches.
 */
export function makeTrainData(train: ImageCache, validation: ImageCache | undefined, producer: BatchProducer, options: TrainDataOptions): TrainData {
  const { mean, std } = options.normalization ?? { mean: CIFAR10_MEAN, std: CIFAR10_STD };
  const common = { crop: options.crop, mean, std, seed: options.seed };
  const stepsPerEpoch = options.stepsPerEpoch ?? batchCount(train.count, options.batchSize, true);
  return {
    stepsPerEpoch,
    async *trainBatches(epoch, startStep) {
      let produced = startStep;
      for await (const batch of producer.epoch({ ...common, ...options.augment, train: true, shuffle: options.shuffle, batchSize: options.batchSize, epoch, dropLast: true, startBatch: startStep })) {
        if (produced >= stepsPerEpoch) break;
        produced++;
        yield batch;
      }
    },
    validationBatches() {
      if (!validation) return [];
      return batchesForEpoch(validation, { ...common, flip: false, pad: 0, train: false, batchSize: options.batchSize, epoch: 0, dropLast: false });
    },
    validationCount: validation?.count ?? 0,
  };
}
