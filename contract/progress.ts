/**
 * How rank 0 reports progress to the operator: GET PROGRESS_PATH on its metrics port while it
 * runs, and `{"progress": ProgressDocument}` as its termination message when it finishes
 * (read by the operator from the pod's status after the process is gone).
 */

export const PROGRESS_PATH = '/progress';
/** Kubernetes' default terminationMessagePath; the operator sets it on the trainer container. */
export const TERMINATION_LOG_PATH = '/dev/termination-log';

export interface ProgressDocument {
  /** Finished epochs. */
  epoch: number;
  totalEpochs: number;
  /** Step within the running epoch, and steps per epoch. */
  step: number;
  stepsPerEpoch: number;
  trainAccuracy?: number;
  validationAccuracy?: number;
  trainLoss?: number;
  validationLoss?: number;
  imagesPerSecond?: number;
  /** URI of the last checkpoint written. */
  lastCheckpoint?: string;
  /** RFC 3339 time of the report. */
  updatedAt: string;
}

/** The termination message of a trainer that finished training. */
export function finalProgressMessage(progress: ProgressDocument): string {
  return JSON.stringify({ progress });
}
