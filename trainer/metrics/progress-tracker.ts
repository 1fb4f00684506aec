import type { ProgressEvent } from '../engine/train/types.js';

import type { ProgressDocument } from '../../contract/progress.js';

/** What rank 0 serves at GET /progress and the operator copies into status.progress (the contract's document). */
export type ProgressSnapshot = ProgressDocument;

/**
 * Folds progress events into the latest snapshot: `epoch` counts finished epochs, step
 * figures come from the running epoch, accuracy and loss from the last finished one
 * (validation) or the running one (train).
 */
export class ProgressTracker {
  private snapshot: ProgressSnapshot | undefined;

  constructor(
    private readonly totalEpochs: number,
    private readonly now: () => Date = () => new Date(),
  ) {}

  update(event: ProgressEvent): void {
    const base: ProgressSnapshot = this.snapshot ?? { epoch: 0, totalEpochs: this.totalEpochs, step: 0, stepsPerEpoch: 0, updatedAt: '' };
    const next: ProgressSnapshot = { ...base, updatedAt: this.now().toISOString() };
    switch (event.type) {
      case 'step':
        Object.assign(next, {
          epoch: event.epoch,
          step: event.step,
          stepsPerEpoch: event.stepsPerEpoch,
          trainLoss: event.loss,
          trainAccuracy: event.accuracy,
          imagesPerSecond: event.imagesPerSecond,
        });
        break;
      case 'epoch':
        Object.assign(next, {
          epoch: event.epoch + 1,
          step: 0,
          trainLoss: event.trainLoss,
          trainAccuracy: event.trainAccuracy,
          imagesPerSecond: event.imagesPerSecond,
          ...(event.validationAccuracy !== null ? { validationAccuracy: event.validationAccuracy } : {}),
          ...(event.validationLoss !== null ? { validationLoss: event.validationLoss } : {}),
        });
        break;
      case 'checkpoint':
        next.lastCheckpoint = event.uri;
        break;
    }
    this.snapshot = next;
  }

  current(): ProgressSnapshot | undefined {
    return this.snapshot;
  }
}
