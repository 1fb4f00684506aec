/** A batch of images in NHWC float32 and their integer labels. */
export interface Batch {
  x: Float32Array;
  y: Int32Array;
  size: number;
}

/** Where the training loop gets its batches; deterministic for a given epoch and start. */
export interface TrainData {
  /** Number of optimizer steps in one epoch (same on every rank). */
  stepsPerEpoch: number;
  /** Batches of `epoch`, starting at batch `startStep` (for a mid-epoch resume). */
  trainBatches(epoch: number, startStep: number): AsyncIterable<Batch> | Iterable<Batch>;
  /** The whole validation set, unaugmented. Empty when no validation data was given. */
  validationBatches(): AsyncIterable<Batch> | Iterable<Batch>;
  /** Number of validation images (0 when none). */
  validationCount: number;
}

/** Per-epoch figures, as written to metrics.json. */
export interface EpochMetrics {
  epoch: number;
  trainLoss: number;
  trainAccuracy: number;
  validationLoss: number | null;
  validationAccuracy: number | null;
  imagesPerSecond: number;
  seconds: number;
  learningRate: number;
}

/** Progress the loop reports while it runs; the CLI renders it as text or JSON lines. */
export type ProgressEvent =
  | {
      type: 'step';
      epoch: number;
      epochs: number;
      step: number;
      stepsPerEpoch: number;
      loss: number;
      accuracy: number;
      imagesPerSecond: number;
      learningRate: number;
      etaSeconds: number;
    }
  | ({ type: 'epoch'; epochs: number } & EpochMetrics)
  | { type: 'checkpoint'; uri: string; epoch: number; step: number; bytes: number; seconds: number };
