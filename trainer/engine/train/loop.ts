import * as tf from '@tensorflow/tfjs';
import { learningRateAt, type LrSchedule } from '../optim/lr-schedule.js';
import type { Sgd } from '../optim/sgd.js';
import type { TrainingPosition } from '../checkpoint/format.js';
import { computeGradients, evaluate } from './step.js';
import type { EpochMetrics, ProgressEvent, TrainData } from './types.js';

/** Sums for the epoch in progress, saved in checkpoints so a resumed epoch reports the same figures. */
export interface EpochAccumulator {
  lossSum: number;
  correct: number;
  images: number;
  seconds: number;
}

/** Everything a checkpoint must hold besides tensors, and what a resume starts from. */
export interface LoopState {
  position: TrainingPosition;
  history: EpochMetrics[];
  partial: EpochAccumulator;
}

export interface LoopHooks {
  /** Averages gradients across replicas (distributed training); identity when absent. */
  reduceGradients?: (grads: Record<string, tf.Tensor>) => Promise<Record<string, tf.Tensor>>;
  /** Sums [lossSum, correct, count] of the validation pass over replicas (each validates its shard). */
  reduceEvaluation?: (sums: number[]) => Promise<number[]>;
  /** Called when a checkpoint is due: at epoch ends every `checkpointEvery` epochs, and when stopping. */
  saveCheckpoint?: (state: LoopState, reason: 'epoch' | 'stop') => Promise<void>;
  /** Polled between steps; true makes the loop checkpoint and return (SIGTERM). */
  shouldStop?: () => boolean;
  onProgress?: (event: ProgressEvent) => void;
  /** Timings of every step, for metrics. */
  onStep?: (timing: StepTiming) => void;
}

export interface StepTiming {
  images: number;
  /** Waiting for the batch from the input pipeline. */
  dataWaitSeconds: number;
  /** Averaging gradients across replicas (0 alone). */
  allreduceSeconds: number;
  /** The whole step: forward, backward, all-reduce and update. */
  stepSeconds: number;
  learningRate: number;
}

export interface LoopConfig {
  model: tf.LayersModel;
  variables: tf.Variable[];
  optimizer: Sgd;
  schedule: LrSchedule;
  epochs: number;
  labelSmoothing: number;
  inputShape: readonly [number, number, number];
  data: TrainData;
  checkpointEvery: number;
  /** Minimum seconds between step progress events. */
  progressIntervalSeconds: number;
}

export interface LoopResult {
  state: LoopState;
  stopped: boolean;
}

export function initialLoopState(): LoopState {
  return { position: { epoch: 0, stepInEpoch: 0, globalStep: 0 }, history: [], partial: emptyAccumulator() };
}

function emptyAccumulator(): EpochAccumulator {
  return { lossSum: 0, correct: 0, images: 0, seconds: 0 };
}

/** Progress pacing across the whole run (the ETA uses the mean step time of this run). */
interface RunClock {
  started: number;
  steps: number;
  lastProgress: number;
}

/**
 * The training loop: level with the tutorial's `fit` — epochs of shuffled, augmented
 * batches, SGD updates, validation after each epoch — but resumable at any step and with
 * a hook where gradients are averaged across replicas.
 */
export async function runTrainingLoop(config: LoopConfig, hooks: LoopHooks, start: LoopState = initialLoopState()): Promise<LoopResult> {
  const state: LoopState = structuredClone(start);
  const clock: RunClock = { started: performance.now(), steps: 0, lastProgress: 0 };
  for (let epoch = state.position.epoch; epoch < config.epochs; epoch++) {
    const trained = await trainEpoch(config, hooks, state, epoch, clock);
    if (trained.stopped) return { state, stopped: true };
    const validation = await validate(config, hooks);
    const last = epoch + 1 === config.epochs;
    finishEpoch(config, hooks, state, epoch, trained.acc, trained.lr, validation);
    const due = (epoch + 1) % config.checkpointEvery === 0 || last;
    if (hooks.saveCheckpoint && due) await hooks.saveCheckpoint(state, 'epoch');
    if (hooks.shouldStop?.() && !last) {
      if (!due) await hooks.saveCheckpoint?.(state, 'stop');
      return { state, stopped: true };
    }
  }
  return { state, stopped: false };
}

/** The training steps of one epoch, from where the state stands; stops early (after a checkpoint) when asked to. */
async function trainEpoch(config: LoopConfig, hooks: LoopHooks, state: LoopState, epoch: number, clock: RunClock): Promise<{ stopped: boolean; acc: EpochAccumulator; lr: number }> {
  const { data } = config;
  const acc = state.position.stepInEpoch > 0 ? state.partial : emptyAccumulator();
  let lr = learningRateAt(config.schedule, epoch + state.position.stepInEpoch / data.stepsPerEpoch);
  let waitStarted = performance.now();
  for await (const batch of data.trainBatches(epoch, state.position.stepInEpoch)) {
    lr = learningRateAt(config.schedule, epoch + state.position.stepInEpoch / data.stepsPerEpoch);
    await trainStep(config, hooks, batch, lr, acc, (performance.now() - waitStarted) / 1000);
    state.position.stepInEpoch++;
    state.position.globalStep++;
    clock.steps++;
    state.partial = acc;
    reportStep(config, hooks, state, epoch, acc, lr, clock);
    // Let timers, signals and sockets run: batches may always be ready, and a loop of
    // resolved promises alone would starve SIGTERM handlers and peer heartbeats.
    await new Promise<void>((resolve) => setImmediate(resolve));
    waitStarted = performance.now();
    if (hooks.shouldStop?.() && state.position.stepInEpoch < data.stepsPerEpoch) {
      await hooks.saveCheckpoint?.(state, 'stop');
      return { stopped: true, acc, lr };
    }
  }
  return { stopped: false, acc, lr };
}

/** One SGD step: gradients, their average across replicas, the update; adds to the epoch's sums. */
async function trainStep(config: LoopConfig, hooks: LoopHooks, batch: Parameters<typeof computeGradients>[2], lr: number, acc: EpochAccumulator, dataWaitSeconds: number): Promise<void> {
  const stepStarted = performance.now();
  const step = computeGradients(config.model, config.variables, batch, config.inputShape, config.labelSmoothing);
  let grads = step.grads;
  let allreduceSeconds = 0;
  if (hooks.reduceGradients) {
    const reduceStarted = performance.now();
    const reduced = await hooks.reduceGradients(grads);
    allreduceSeconds = (performance.now() - reduceStarted) / 1000;
    if (reduced !== grads) tf.dispose(Object.values(grads));
    grads = reduced;
  }
  config.optimizer.apply(grads, lr);
  tf.dispose(Object.values(grads));
  acc.lossSum += step.loss * batch.size;
  acc.correct += step.correct;
  acc.images += batch.size;
  const stepSeconds = (performance.now() - stepStarted) / 1000;
  acc.seconds += stepSeconds;
  hooks.onStep?.({ images: batch.size, dataWaitSeconds, allreduceSeconds, stepSeconds, learningRate: lr });
}

/** A step progress event, at most every progressIntervalSeconds. */
function reportStep(config: LoopConfig, hooks: LoopHooks, state: LoopState, epoch: number, acc: EpochAccumulator, lr: number, clock: RunClock): void {
  const now = performance.now();
  if (!hooks.onProgress || (now - clock.lastProgress) / 1000 < config.progressIntervalSeconds) return;
  clock.lastProgress = now;
  const perStep = (now - clock.started) / 1000 / clock.steps;
  const remainingSteps = (config.epochs - epoch) * config.data.stepsPerEpoch - state.position.stepInEpoch;
  hooks.onProgress({
    type: 'step',
    epoch,
    epochs: config.epochs,
    step: state.position.stepInEpoch,
    stepsPerEpoch: config.data.stepsPerEpoch,
    loss: acc.lossSum / acc.images,
    accuracy: acc.correct / acc.images,
    imagesPerSecond: acc.images / Math.max(acc.seconds, 1e-9),
    learningRate: lr,
    etaSeconds: remainingSteps * perStep,
  });
}

/** The validation pass, summed over replicas when they each validate a shard. */
async function validate(config: LoopConfig, hooks: LoopHooks): Promise<{ loss: number; accuracy: number; count: number } | undefined> {
  const validation = config.data.validationCount > 0 ? await evaluate(config.model, config.data.validationBatches(), config.inputShape) : undefined;
  if (!validation || !hooks.reduceEvaluation) return validation;
  const [lossSum, correct, count] = await hooks.reduceEvaluation(
    validation.count > 0 ? [validation.loss * validation.count, validation.accuracy * validation.count, validation.count] : [0, 0, 0],
  );
  return { loss: lossSum / count, accuracy: correct / count, count };
}

/** Records the epoch in the history, moves the position to the next epoch and reports it. */
function finishEpoch(config: LoopConfig, hooks: LoopHooks, state: LoopState, epoch: number, acc: EpochAccumulator, lr: number, validation: { loss: number; accuracy: number } | undefined): void {
  const metrics: EpochMetrics = {
    epoch,
    trainLoss: acc.lossSum / Math.max(acc.images, 1),
    trainAccuracy: acc.correct / Math.max(acc.images, 1),
    validationLoss: validation ? validation.loss : null,
    validationAccuracy: validation ? validation.accuracy : null,
    imagesPerSecond: acc.images / Math.max(acc.seconds, 1e-9),
    seconds: acc.seconds,
    learningRate: lr,
  };
  state.history.push(metrics);
  state.position = { epoch: epoch + 1, stepInEpoch: 0, globalStep: state.position.globalStep };
  state.partial = emptyAccumulator();
  hooks.onProgress?.({ type: 'epoch', epochs: config.epochs, ...metrics });
}
