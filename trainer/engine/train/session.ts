import { selectBackend } from '../backend/select-backend.js';
import { loadDataset } from '../../data/dataset.js';
import { BatchProducer } from '../../data/pipeline/batch-producer.js';
import { openDirectory, type ObjectDirectory } from '../../io/directory.js';
import { saveModel } from '../models/model-store.js';
import { countParams } from '../models/count.js';
import { Sgd } from '../optim/sgd.js';
import type { LrSchedule } from '../optim/lr-schedule.js';
import { loadLatestCheckpoint, saveCheckpoint } from '../checkpoint/store.js';
import { checkpointContents, restoreCheckpoint, type RunFingerprint } from './checkpointing.js';
import { prepareModel, type PreparedModel } from './build-model.js';
import { makeTrainData } from './train-data.js';
import { initialLoopState, runTrainingLoop, type LoopConfig, type LoopHooks, type LoopState, type StepTiming } from './loop.js';
import { weightsSha256 } from './weights-hash.js';
import { writeRunOutputs, type RunMetrics } from './outputs.js';
import type { TrainOptions } from './options.js';
import type { ProgressEvent } from './types.js';
import type { Tensor } from '@tensorflow/tfjs';
import { UsageError } from '../../util/errors.js';
import { TrainerMetrics } from '../../metrics/trainer-metrics.js';
import { ProgressTracker, type ProgressSnapshot } from '../../metrics/progress-tracker.js';
import { startStatusServer, type StatusServer } from '../../metrics/status-server.js';
import { joinGroup } from '../../dist/group.js';
import { describeDistConfig } from '../../dist/config.js';
import { modelFingerprint } from '../../dist/fingerprint.js';
import { ReplicaSync } from '../distributed/replica-sync.js';
import { batchCount } from '../../data/pipeline/batches.js';
import { runConfig } from './run-config.js';
import { PROGRESS_PATH } from '../../../contract/progress.js';

export interface SessionIO {
  log(message: string): void;
  progress(event: ProgressEvent): void;
  /** True once the process was asked to stop (SIGTERM). */
  shouldStop(): boolean;
}

export interface SessionResult {
  metrics: RunMetrics;
  stopped: boolean;
  /** The last progress snapshot (what /progress served), for the pod's termination message. */
  progress: ProgressSnapshot | undefined;
}

type Backend = Awaited<ReturnType<typeof selectBackend>>;
type Dataset = Awaited<ReturnType<typeof loadDataset>>;

/** What the session opened and must close, whatever happens. */
interface Opened {
  producer?: BatchProducer;
  sync?: ReplicaSync;
  statusServer?: StatusServer;
}

/**
 * One training run on one process: backend, model, telemetry, the group, data, optional
 * resume, the loop with its checkpoints, and the outputs in --out. Distributed runs plug in
 * through the same loop.
 */
export async function runTrainingSession(options: TrainOptions, io: SessionIO): Promise<SessionResult> {
  const started = performance.now();
  const backend = await selectBackend(options.backend, io.log, options.threads === undefined ? {} : { threads: options.threads });
  // The model first: a bad --pretrained fails before minutes of data loading.
  const prepared = await prepareNetwork(options, io);
  if (options.dist.worldSize > 1 && options.data.part) throw new UsageError('--data-part cannot be combined with distributed training: each rank reads part RANK of WORLD_SIZE');
  const { model, params } = prepared;
  const optimizer = new Sgd(params, { momentum: options.momentum, nesterov: options.nesterov, weightDecay: options.weightDecay });
  const tracker = new ProgressTracker(options.epochs);
  const opened: Opened = {};
  try {
    const telemetry = await startTelemetry(options, backend, tracker, io, opened);
    const sync = (opened.sync = await joinGroupIfDistributed(options, prepared, io));
    const { train, validation } = await loadData(options, io);
    const fingerprint = runFingerprint(options, prepared);
    const checkpointDir = options.checkpoint ? openDirectory(options.checkpoint.uri, options.s3) : undefined;
    const { start, resumedFrom } = await resumeFromCheckpoint(options, checkpointDir, prepared, optimizer, fingerprint, io);
    // Every progress event (steps, epochs, checkpoints) feeds /progress, the metrics and the log.
    const report = (event: ProgressEvent): void => {
      tracker.update(event);
      if (telemetry) recordProgress(telemetry, event);
      io.progress(event);
    };
    // Every rank starts from rank 0's weights (fresh, fine-tuned or resumed alike), at rank 0's position.
    if (sync) {
      await sync.agreeOnStart(start.position, resumedFrom ? `resumed from ${resumedFrom}` : 'no checkpoint found');
      await sync.broadcastWeights();
    }
    opened.producer = await BatchProducer.create(train.cache, { depth: 2, workers: options.prefetchWorkers });
    if (opened.producer.fallbackReason) io.log(`prefetch: ${opened.producer.fallbackReason}; making batches inline`);
    const data = await loopData(options, prepared, train, validation, opened.producer, sync);
    const saveState = checkpointDir && options.dist.rank === 0 ? checkpointSaver(options, checkpointDir, prepared, optimizer, fingerprint, report) : undefined;
    const result = await runTrainingLoop(
      loopConfig(options, prepared, optimizer, data),
      loopHooks({ io, sync, telemetry, report, saveState, gradientBytes: params.reduce((n, p) => n + p.variable.size * 4, 0) }),
      start,
    );
    const metrics = runMetrics(options, backend, prepared, result.state.history, resumedFrom, started);
    if (options.out && !result.stopped) await writeOutputs(options, options.out.replace(/\/+$/, ''), metrics, prepared, io);
    return { metrics, stopped: result.stopped, progress: tracker.current() };
  } finally {
    await opened.producer?.close();
    await opened.sync?.group.close();
    await opened.statusServer?.close();
    optimizer.dispose();
    model.dispose();
  }
}

/** The model to train, with its trainable parameter count (reported, fingerprinted and recorded). */
type Network = PreparedModel & { parameters: number };

async function prepareNetwork(options: TrainOptions, io: SessionIO): Promise<Network> {
  const [, height, width] = options.imageShape;
  if (height !== width) throw new UsageError(`--image-shape: height ${height} and width ${width} must be equal (square crops)`);
  const prepared = await prepareModel(options);
  const parameters = countParams(prepared.model).trainable;
  io.log(`model: ${prepared.model.name}, ${parameters.toLocaleString('en-US')} trainable parameters (${prepared.origin === 'scratch' ? 'from scratch' : `fine-tuning ${prepared.origin}`})`);
  io.log(`input normalisation: (pixel - mean ${prepared.preprocessing.mean.join(',')}) / std ${prepared.preprocessing.std.join(',')}`);
  return { ...prepared, parameters };
}

/** The Prometheus metrics and the status server (/metrics, /progress) when --metrics-port is set. */
async function startTelemetry(options: TrainOptions, backend: Backend, tracker: ProgressTracker, io: SessionIO, opened: Opened): Promise<TrainerMetrics | undefined> {
  if (!options.metrics) return undefined;
  const telemetry = new TrainerMetrics({ jobName: options.metrics.jobName, jobNamespace: options.metrics.jobNamespace, rank: options.dist.rank });
  telemetry.backendInfo.set({ backend: backend.name }, 1);
  telemetry.computeThreads.set(backend.threads);
  telemetry.epochs.set(options.epochs);
  telemetry.worldSize.set(options.dist.worldSize);
  telemetry.restarts.set(options.metrics.restarts);
  opened.statusServer = await startStatusServer({ host: options.metrics.host, port: options.metrics.port, registry: telemetry.registry, progress: () => tracker.current() });
  io.log(`metrics and progress at ${opened.statusServer.url}/metrics and ${opened.statusServer.url}${PROGRESS_PATH}`);
  return telemetry;
}

async function joinGroupIfDistributed(options: TrainOptions, prepared: PreparedModel, io: SessionIO): Promise<ReplicaSync | undefined> {
  const { rank, worldSize } = options.dist;
  if (worldSize <= 1) return undefined;
  io.log(`joining the training group: ${describeDistConfig(options.dist)}`);
  const { model, params } = prepared;
  const group = await joinGroup(options.dist, { fingerprint: modelFingerprint(model.weights.map((w) => ({ name: w.originalName, shape: w.shape.map(Number) }))), log: io.log });
  const sync = new ReplicaSync(group, model, params.map((p) => p.variable));
  io.log(`rank ${rank} of ${worldSize}: group formed`);
  return sync;
}

/** This rank's part of the training data and of the validation data. */
async function loadData(options: TrainOptions, io: SessionIO): Promise<{ train: Dataset; validation: Dataset | undefined }> {
  const { rank, worldSize } = options.dist;
  const dataPart = worldSize > 1 ? { index: rank, count: worldSize } : options.data.part;
  const perReplica = (n: number | undefined) => (n === undefined ? undefined : Math.ceil(n / worldSize));
  const common = { format: options.data.format, s3: options.s3, limits: options.limits, numClasses: options.numClasses };
  const train = await forFlag('--data-train', loadDataset({
    ...common,
    uri: options.data.train,
    split: 'train',
    ...(dataPart ? { part: dataPart } : {}),
    ...(options.data.numExamples !== undefined ? { limit: perReplica(options.data.numExamples) } : {}),
  }));
  io.log(`training data: ${train.cache.count} images of ${train.cache.height}x${train.cache.width} from ${options.data.train}`);
  const validation = options.data.validation
    ? await forFlag('--data-val', loadDataset({
        ...common,
        uri: options.data.validation,
        split: 'test',
        ...(worldSize > 1 ? { part: { index: rank, count: worldSize } } : {}),
        ...(options.data.numValidationExamples !== undefined ? { limit: perReplica(options.data.numValidationExamples) } : {}),
      }))
    : undefined;
  if (validation) io.log(`validation data: ${validation.cache.count} images from ${options.data.validation}`);
  if (train.cache.height < options.imageShape[1]) throw new UsageError(`--image-shape ${options.imageShape.join(',')} is larger than the ${train.cache.height}x${train.cache.width} training images`);
  if (train.cache.count < options.batchSize) throw new UsageError(`--batch-size ${options.batchSize} is larger than the ${train.cache.count} training images`);
  return { train, validation };
}

/** What a checkpoint must match to be resumed from. */
function runFingerprint(options: TrainOptions, prepared: Network): RunFingerprint {
  return {
    model: prepared.origin === 'scratch' ? JSON.stringify(options.model) : `finetune:${prepared.origin}`,
    parameters: prepared.parameters,
    batchSize: options.batchSize,
    worldSize: options.dist.worldSize,
    imageShape: options.imageShape,
    seed: options.seed,
  };
}

async function resumeFromCheckpoint(
  options: TrainOptions,
  checkpointDir: ObjectDirectory | undefined,
  prepared: PreparedModel,
  optimizer: Sgd,
  fingerprint: RunFingerprint,
  io: SessionIO,
): Promise<{ start: LoopState; resumedFrom: string | null }> {
  if (!options.resume) return { start: initialLoopState(), resumedFrom: null };
  if (!checkpointDir) throw new UsageError('--resume needs --checkpoint URI');
  const latest = await loadLatestCheckpoint(checkpointDir, io.log);
  if (!latest) {
    io.log(`no checkpoint in ${checkpointDir.uri}: starting from the beginning`);
    return { start: initialLoopState(), resumedFrom: null };
  }
  const start = restoreCheckpoint(latest, prepared.model, optimizer, fingerprint);
  io.log(`resumed from ${latest.uri} at epoch ${start.position.epoch}, step ${start.position.stepInEpoch}`);
  return { start, resumedFrom: latest.uri };
}

/** The learning rate schedule; with linear scaling --lr is one replica's rate and the global batch is worldSize times larger. */
function lrSchedule(options: TrainOptions): LrSchedule {
  const baseLr = options.lrScaling === 'linear' ? options.learningRate * options.dist.worldSize : options.learningRate;
  const { schedule } = options;
  if (schedule.kind === 'step') return { kind: 'step', baseLr, stepEpochs: schedule.stepEpochs, factor: schedule.factor, warmupEpochs: schedule.warmupEpochs };
  if (schedule.kind === 'cosine') return { kind: 'cosine', baseLr, totalEpochs: options.epochs, minLr: schedule.minLr, warmupEpochs: schedule.warmupEpochs };
  return { kind: 'constant', baseLr, warmupEpochs: schedule.warmupEpochs };
}

async function loopData(options: TrainOptions, prepared: PreparedModel, train: Dataset, validation: Dataset | undefined, producer: BatchProducer, sync: ReplicaSync | undefined): Promise<LoopConfig['data']> {
  return makeTrainData(train.cache, validation?.cache, producer, {
    batchSize: options.batchSize,
    seed: options.seed,
    crop: options.imageShape[1],
    augment: options.augment,
    shuffle: options.shuffle,
    normalization: prepared.preprocessing,
    // Ranks may hold a record more or less: all take the smallest number of steps.
    ...(sync ? { stepsPerEpoch: await sync.min(batchCount(train.cache.count, options.batchSize, true)) } : {}),
  });
}

function loopConfig(options: TrainOptions, prepared: PreparedModel, optimizer: Sgd, data: LoopConfig['data']): LoopConfig {
  const [channels, height, width] = options.imageShape;
  return {
    model: prepared.model,
    variables: prepared.params.map((p) => p.variable),
    optimizer,
    schedule: lrSchedule(options),
    epochs: options.epochs,
    labelSmoothing: options.labelSmoothing,
    inputShape: [height, width, channels],
    data,
    checkpointEvery: options.checkpoint?.everyEpochs ?? 1,
    progressIntervalSeconds: options.progressIntervalSeconds,
  };
}

/** Rank 0 writes checkpoints (reported as progress events). */
function checkpointSaver(options: TrainOptions, dir: ObjectDirectory, prepared: PreparedModel, optimizer: Sgd, fingerprint: RunFingerprint, report: (event: ProgressEvent) => void): (state: LoopState) => Promise<void> {
  return async (state) => {
    const t0 = performance.now();
    const saved = await saveCheckpoint(dir, checkpointContents(prepared.model, optimizer, state, options.seed, fingerprint), options.checkpoint?.keep ?? 3);
    report({ type: 'checkpoint', uri: saved.uri, epoch: state.position.epoch, step: state.position.stepInEpoch, bytes: saved.bytes, seconds: (performance.now() - t0) / 1000 });
  };
}

function loopHooks(parts: {
  io: SessionIO;
  sync: ReplicaSync | undefined;
  telemetry: TrainerMetrics | undefined;
  report: (event: ProgressEvent) => void;
  saveState: ((state: LoopState) => Promise<void>) | undefined;
  gradientBytes: number;
}): LoopHooks {
  const { io, sync, telemetry, report, saveState, gradientBytes } = parts;
  return {
    ...(saveState ? { saveCheckpoint: saveState } : {}),
    ...(sync
      ? {
          reduceGradients: (grads: Record<string, Tensor>) => sync.reduceGradients(grads, io.shouldStop()),
          reduceEvaluation: (sums: number[]) => sync.sum(sums),
          shouldStop: () => sync.stopRequested,
        }
      : { shouldStop: io.shouldStop }),
    onProgress: report,
    ...(telemetry
      ? {
          onStep: (timing: StepTiming) => {
            telemetry.imagesTotal.inc(timing.images);
            telemetry.stepSeconds.observe(timing.stepSeconds);
            telemetry.dataWaitSeconds.observe(timing.dataWaitSeconds);
            telemetry.learningRate.set(timing.learningRate);
            if (sync) {
              telemetry.allreduceSeconds.observe(timing.allreduceSeconds);
              telemetry.allreduceBytesTotal.inc(gradientBytes);
            }
          },
        }
      : {}),
  };
}

function runMetrics(options: TrainOptions, backend: Backend, prepared: Network, history: RunMetrics['epochs'], resumedFrom: string | null, started: number): RunMetrics {
  const accuracies = history.map((e) => e.validationAccuracy).filter((a): a is number => a !== null);
  return {
    backend: backend.name,
    backendDetail: backend.detail,
    weightsSha256: weightsSha256(prepared.model),
    model: { name: options.pretrained ? `${options.model.name}-finetune` : options.model.name, origin: prepared.origin, parameters: prepared.parameters },
    rank: options.dist.rank,
    worldSize: options.dist.worldSize,
    seed: options.seed,
    epochs: history,
    finalValidationAccuracy: accuracies.length > 0 ? accuracies[accuracies.length - 1] : null,
    bestValidationAccuracy: accuracies.length > 0 ? Math.max(...accuracies) : null,
    totalSeconds: (performance.now() - started) / 1000,
    resumedFrom,
    // An allow-list, never a copy of the options: they hold the peer secret.
    config: { ...runConfig(options) },
  };
}

/** Rank 0 writes metrics.json, the chart and the model; other ranks only their metrics (with their weights hash) to check agreement. */
async function writeOutputs(options: TrainOptions, out: string, metrics: RunMetrics, prepared: PreparedModel, io: SessionIO): Promise<void> {
  if (options.dist.rank !== 0) {
    await writeRunOutputs(`${out}/rank-${options.dist.rank}`, metrics, options.s3);
    return;
  }
  await writeRunOutputs(out, metrics, options.s3);
  await saveModel(prepared.model, `${out}/model`, options.s3);
  io.log(`wrote metrics.json, accuracy.svg and model/ to ${out}`);
}

/** Mirrors progress events into the Prometheus gauges. */
function recordProgress(metrics: TrainerMetrics, event: ProgressEvent): void {
  switch (event.type) {
    case 'step':
      metrics.step.set(event.step);
      metrics.imagesPerSecond.set(event.imagesPerSecond);
      break;
    case 'epoch':
      metrics.epoch.set(event.epoch + 1);
      metrics.step.set(0);
      metrics.loss.set({ split: 'train' }, event.trainLoss);
      metrics.accuracy.set({ split: 'train' }, event.trainAccuracy);
      if (event.validationLoss !== null) metrics.loss.set({ split: 'validation' }, event.validationLoss);
      if (event.validationAccuracy !== null) metrics.accuracy.set({ split: 'validation' }, event.validationAccuracy);
      metrics.imagesPerSecond.set(event.imagesPerSecond);
      break;
    case 'checkpoint':
      metrics.checkpointSeconds.observe(event.seconds);
      metrics.checkpointBytes.set(event.bytes);
      metrics.lastCheckpointTimestamp.set(Date.now() / 1000);
      break;
  }
}

/**
 * Prefixes a failure with the flag whose value caused it, keeping its kind (a usage error
 * stays one), so the operator can point the user at the spec field behind the flag.
 */
async function forFlag<T>(flag: string, work: Promise<T>): Promise<T> {
  try {
    return await work;
  } catch (err) {
    const message = `${flag}: ${err instanceof Error ? err.message : String(err)}`;
    throw err instanceof UsageError ? new UsageError(message) : new Error(message, { cause: err });
  }
}
