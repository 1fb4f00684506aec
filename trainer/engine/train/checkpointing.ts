import * as tf from '@tensorflow/tfjs';
import type { CheckpointContents, TensorRecord } from '../checkpoint/format.js';
import type { Sgd } from '../optim/sgd.js';
import type { LoopState } from './loop.js';
import type { EpochMetrics } from './types.js';

/** What must match between a checkpoint and the run resuming from it. */
export interface RunFingerprint {
  model: string;
  parameters: number;
  batchSize: number;
  worldSize: number;
  imageShape: number[];
  seed: number;
}

/** Model weights (trainable and not) and optimizer momentum, in model order, as checkpoint tensors. */
export function checkpointContents(model: tf.LayersModel, optimizer: Sgd, state: LoopState, seed: number, fingerprint: RunFingerprint): CheckpointContents {
  const modelTensors: TensorRecord[] = model.weights.map((w) => ({ name: w.originalName, shape: w.shape.map(Number), values: w.read().dataSync() as Float32Array }));
  const momentum = optimizer.state().momentum;
  const optimizerTensors: TensorRecord[] = Object.entries(momentum).map(([name, values]) => ({ name, shape: [values.length], values }));
  return {
    position: state.position,
    seed,
    trainer: { history: state.history, partial: state.partial, fingerprint },
    model: modelTensors,
    optimizer: optimizerTensors,
  };
}

/**
 * Restores a checkpoint into a freshly built model and optimizer. Tensors are matched by
 * position (tfjs makes variable names unique per process, so names may differ between
 * runs) and checked by shape; a checkpoint of another model or setup is refused.
 */
export function restoreCheckpoint(contents: CheckpointContents & { uri: string }, model: tf.LayersModel, optimizer: Sgd, fingerprint: RunFingerprint): LoopState {
  const saved = contents.trainer.fingerprint as RunFingerprint | undefined;
  if (saved) {
    for (const key of Object.keys(fingerprint) as Array<keyof RunFingerprint>) {
      if (JSON.stringify(saved[key]) !== JSON.stringify(fingerprint[key])) {
        throw new Error(`${contents.uri}: checkpoint was written with ${key} ${JSON.stringify(saved[key])}, this run has ${JSON.stringify(fingerprint[key])}; use another --checkpoint location or the original settings`);
      }
    }
  }
  const weights = model.weights;
  if (contents.model.length !== weights.length) {
    throw new Error(`${contents.uri}: checkpoint holds ${contents.model.length} model tensors, the model has ${weights.length}`);
  }
  tf.tidy(() => {
    weights.forEach((w, i) => {
      const record = contents.model[i];
      const shape = w.shape.map(Number);
      if (JSON.stringify(record.shape) !== JSON.stringify(shape)) {
        throw new Error(`${contents.uri}: tensor ${i} (${record.name}) has shape ${JSON.stringify(record.shape)}, the model's ${w.originalName} has ${JSON.stringify(shape)}`);
      }
      w.write(tf.tensor(record.values, shape));
    });
  });
  const names = Object.keys(optimizer.state().momentum);
  if (contents.optimizer.length !== names.length) {
    throw new Error(`${contents.uri}: checkpoint holds ${contents.optimizer.length} momentum buffers, the optimizer has ${names.length}`);
  }
  optimizer.restore({ momentum: Object.fromEntries(names.map((name, i) => [name, contents.optimizer[i].values])) });
  const trainer = contents.trainer as { history?: EpochMetrics[]; partial?: LoopState['partial'] };
  return {
    position: contents.position,
    history: trainer.history ?? [],
    partial: trainer.partial ?? { lossSum: 0, correct: 0, images: 0, seconds: 0 },
  };
}
