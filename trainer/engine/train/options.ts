import type { BackendChoice } from '../backend/select-backend.js';
import type { ModelName } from '../models/registry.js';
import type { DataFormat } from '../../data/dataset.js';
import type { S3Config } from '../../io/s3-config.js';
import type { DistConfig } from '../../dist/config.js';
import type { InputLimits } from '../../data/limits.js';

/** Everything `cifar-trainer train` needs, after flag parsing and validation. */
/** Training-time augmentation: pad before the random crop, horizontal flip, Cutout square side (0: off). */
export interface Augmentation {
  pad: number;
  flip: boolean;
  cutout: number;
}

export interface TrainOptions {
  model: { name: ModelName; depth?: number; cardinality?: number; width?: number };
  numClasses: number;
  /** Network input [channels, height, width], MXNet's --image-shape; height/width may crop the stored images. */
  imageShape: [number, number, number];
  data: {
    train: string;
    validation?: string;
    format: DataFormat;
    /** Read only part `index` of `count` of the training data. */
    part?: { index: number; count: number };
    /** Use at most this many training images in all (each of N replicas takes ceil(n / N) of its shard). */
    numExamples?: number;
    numValidationExamples?: number;
  };
  /** Bounds on input images, files and archives (--max-image-side, ...). */
  limits: InputLimits;
  epochs: number;
  /** Per-replica batch size. */
  batchSize: number;
  learningRate: number;
  momentum: number;
  nesterov: boolean;
  weightDecay: number;
  schedule: { kind: 'step' | 'cosine' | 'constant'; stepEpochs: number[]; factor: number; warmupEpochs: number; minLr: number };
  labelSmoothing: number;
  augment: Augmentation;
  seed: number;
  backend: BackendChoice;
  /** Compute threads for the native and tensorflow backends; default from the CPU limit (engine/backend/threads.ts). */
  threads?: number;
  pretrained?: { uri: string; layerBeforeFullc?: string; freeze: boolean; lrMultiplier: number };
  checkpoint?: { uri: string; everyEpochs: number; keep: number };
  resume: boolean;
  out?: string;
  logFormat: 'text' | 'json';
  progressIntervalSeconds: number;
  prefetchWorkers: number;
  s3: S3Config;
  /** Serve /metrics, /progress and /healthz here; undefined: no server. */
  metrics?: { host: string; port: number; jobName: string; jobNamespace: string; restarts: number };
  /** Data-parallel group settings (WORLD_SIZE, RANK, MASTER_ADDR, ...); world size 1 trains alone. */
  dist: DistConfig;
  /** Multiply --lr by the world size (Goyal et al.'s linear scaling rule), as the global batch grows. */
  lrScaling: 'linear' | 'none';
  /** Shuffle the training order every epoch (off only for equivalence checks). */
  shuffle: boolean;
}
