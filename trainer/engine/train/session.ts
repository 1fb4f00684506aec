import { selectBackend } from '../backend/select-backend.js';
import { loadDataset } from '../../data/dataset.js';
import { BatchProducer } from '../../data/pipeline/batch-producer.js';
import { openDirectory } from '../../io/directory.js';
import { saveModel } from '../models/model-store.js';
import { countParams } from '../models/count.js';
import { Sgd } from '../optim/sgd.js';
import type { LrSchedule } from '../optim/lr-schedule.js';
import { loadLatestCheckpoint, saveCheckpoint } from '../checkpoint/store.js';
import { checkpointContents, restoreCheckpoint, type RunFingerprint } from './checkpointing.js';
import { prepareModel } from './build-model.js';
import { makeTrainData } from './train-data.js';
import { initialLoopState, runTrainingLoop, type LoopState, type StepTiming } from './loop.js';
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

/**
 * One training run on one process: backend, data, model, optional resume, the loop,
 * checkpoints, and the outputs in --out. Distributed runs plug in through the same loop.
 */
export async function runTrainingSession(options: TrainOptions, io: SessionIO): Promise<SessionResult> {
  const started = performance.now();
  const backend = await selectBackend(options.backend, io.log, options.threads === undefined ? {} : { threads: options.threads });

  const [, height, width] = options.imageShape;
  if (height !== width) throw new UsageError(`--image-shape: height ${height} and width ${width} must be equal (square crops)`);
  // The model first: a bad --pretrained fails before minutes of data loading.
  const prepared = await prepareModel(options);
  const { model, params } = prepared;
  const parameters = countParams(model).trainable;
  io.log(`model: ${model.name}, ${parameters.toLocaleString('en-US')} trainable parameters (${prepared.origin === 'scratch' ? 'from scratch' : `fine-tuning ${prepared.origin}`})`);
  io.log(`input normalisation: (pixel - mean ${prepared.preprocessing.mean.join(',')}) / std ${prepared.preprocessing.std.join(',')}`);
  const optimizer = new Sgd(params, { momentum: options.momentum, nesterov: options.nesterov, weightDecay: options.weightDecay });
  const { rank, worldSize } = options.dist;
  if (worldSize > 1 && options.data.part) throw new UsageError('--data-part cannot be combined with distributed training: each rank reads part RANK of WORLD_SIZE');
  const dataPart = worldSize > 1 ? { index: rank, count: worldSize } : options.data.part;
  let producer: BatchProducer | undefined;
  let sync: ReplicaSync | undefined;
  let statusServer: StatusServer | undefined;
  const tracker = new ProgressTracker(options.epochs);
  const telemetry = options.metrics ? new TrainerMetrics({ jobName: options.metrics.jobName, jobNamespace: options.metrics.jobNamespace, rank }) : undefined;
  const perReplica = (n: number | undefined) => (n === undefined ? undefined : Math.ceil(n / worldSize));
  try {
    if (options.metrics && telemetry) {
      telemetry.backendInfo.set({ backend: backend.name }, 1);
      telemetry.computeThreads.set(backend.threads);
      telemetry.epochs.set(options.epochs);
      telemetry.worldSize.set(worldSize);
      telemetry.restarts.set(options.metrics.restarts);
      statusServer = await startStatusServer({ host: options.metrics.host, port: options.metrics.port, registry: telemetry.registry, progress: () => tracker.current() });
      io.log(`metrics and progress at ${statusServer.url}/metrics and ${statusServer.url}/progress`);
    }
    if (worldSize > 1) {
      io.log(`joining the training group: ${describeDistConfig(options.dist)}`);
      const group = await joinGroup(options.dist, { fingerprint: modelFingerprint(model.weights.map((w) => ({ name: w.originalName, shape: w.shape.map(Number) }))), log: io.log });
      sync = new ReplicaSync(group, model, params.map((p) => p.variable));
      io.log(`rank ${rank} of ${worldSize}: group formed`);
    }
    const train = await forFlag('--data-train', loadDataset({
      uri: options.data.train,
      format: options.data.format,
      split: 'train',
      ...(dataPart ? { part: dataPart } : {}),
      ...(options.data.numExamples !== undefined ? { limit: perReplica(options.data.numExamples) } : {}),
      s3: options.s3,
      limits: options.limits,
      numClasses: options.numClasses,
    }));
    io.log(`training data: ${train.cache.count} images of ${train.cache.height}x${train.cache.width} from ${options.data.train}`);
    const validation = options.data.validation
      ? await forFlag('--data-val', loadDataset({
          uri: options.data.validation,
          format: options.data.format,
          split: 'test',
          ...(worldSize > 1 ? { part: { index: rank, count: worldSize } } : {}),
          ...(options.data.numValidationExamples !== undefined ? { limit: perReplica(options.data.numValidationExamples) } : {}),
          s3: options.s3,
          limits: options.limits,
          numClasses: options.numClasses,
        }))
      : undefined;
    if (validation) io.log(`validation data: ${validation.cache.count} images from ${options.data.validation}`);
    if (train.cache.height < height) throw new UsageError(`--image-shape ${options.imageShape.join(',')} is larger than the ${train.cache.height}x${train.cache.width} training images`);
    if (train.cache.count < options.batchSize) throw new UsageError(`--batch-size ${options.batchSize} is larger than the ${train.cache.count} training images`);

    // Linear scaling: --lr is the rate for one replica's batch; the global batch is worldSize times larger.
    const baseLr = options.lrScaling === 'linear' ? options.learningRate * worldSize : options.learningRate;
    const schedule: LrSchedule =
      options.schedule.kind === 'step'
        ? { kind: 'step', baseLr, stepEpochs: options.schedule.stepEpochs, factor: options.schedule.factor, warmupEpochs: options.schedule.warmupEpochs }
        : options.schedule.kind === 'cosine'
          ? { kind: 'cosine', baseLr, totalEpochs: options.epochs, minLr: options.schedule.minLr, warmupEpochs: options.schedule.warmupEpochs }
          : { kind: 'constant', baseLr, warmupEpochs: options.schedule.warmupEpochs };
    const fingerprint: RunFingerprint = {
      model: prepared.origin === 'scratch' ? JSON.stringify(options.model) : `finetune:${prepared.origin}`,
      parameters,
      batchSize: options.batchSize,
      worldSize,
      imageShape: options.imageShape,
      seed: options.seed,
    };

    const checkpointDir = options.checkpoint ? openDirectory(options.checkpoint.uri, options.s3) : undefined;
    let start: LoopState = initialLoopState();
    let resumedFrom: string | null = null;
    if (options.resume) {
      if (!checkpointDir) throw new UsageError('--resume needs --checkpoint URI');
      const latest = await loadLatestCheckpoint(checkpointDir, io.log);
      if (latest) {
        start = restoreCheckpoint(latest, model, optimizer, fingerprint);
        resumedFrom = latest.uri;
        io.log(`resumed from ${latest.uri} at epoch ${start.position.epoch}, step ${start.position.stepInEpoch}`);
      } else {
        io.log(`no checkpoint in ${checkpointDir.uri}: starting from the beginning`);
      }
    }

    // Every progress event (steps, epochs, checkpoints) feeds /progress, the metrics and the log.
    const report = (event: ProgressEvent): void => {
      tracker.update(event);
      if (telemetry) recordProgress(telemetry, event);
      io.progress(event);
    };
    const gradientBytes = params.reduce((n, p) => n + p.variable.size * 4, 0);
    // Every rank starts from rank 0's weights (fresh, fine-tuned or resumed alike), at rank 0's position.
    if (sync) {
      await sync.agreeOnStart(start.position, resumedFrom ? `resumed from ${resumedFrom}` : 'no checkpoint found');
      await sync.broadcastWeights();
    }
    producer = await BatchProducer.create(train.cache, { depth: 2, workers: options.prefetchWorkers });
    if (producer.fallbackReason) io.log(`prefetch: ${producer.fallbackReason}; making batches inline`);
    const data = makeTrainData(train.cache, validation?.cache, producer, {
      batchSize: options.batchSize,
      seed: options.seed,
      crop: height,
      pad: options.augment.pad,
      flip: options.augment.flip,
      shuffle: options.shuffle,
      normalization: prepared.preprocessing,
      ...(sync ? { stepsPerEpoch: await sync.min(batchCount(train.cache.count, options.batchSize, true)) } : {}),
    });
    const result = await runTrainingLoop(
      {
        model,
        variables: params.map((p) => p.variable),
        optimizer,
        schedule,
        epochs: options.epochs,
        labelSmoothing: options.labelSmoothing,
        inputShape: [height, width, options.imageShape[0]],
        data,
        checkpointEvery: options.checkpoint?.everyEpochs ?? 1,
        progressIntervalSeconds: options.progressIntervalSeconds,
      },
      {
        ...(checkpointDir && rank === 0
          ? {
              saveCheckpoint: async (state: LoopState) => {
                const t0 = performance.now();
                const saved = await saveCheckpoint(checkpointDir, checkpointContents(model, optimizer, state, options.seed, fingerprint), options.checkpoint?.keep ?? 3);
                report({ type: 'checkpoint', uri: saved.uri, epoch: state.position.epoch, step: state.position.stepInEpoch, bytes: saved.bytes, seconds: (performance.now() - t0) / 1000 });
              },
            }
          : {}),
        ...(sync
          ? {
              reduceGradients: (grads: Record<string, Tensor>) => sync!.reduceGradients(grads, io.shouldStop()),
              reduceEvaluation: (sums: number[]) => sync!.sum(sums),
              shouldStop: () => sync!.stopRequested,
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
      },
      start,
    );

    const history = result.state.history;
    const accuracies = history.map((e) => e.validationAccuracy).filter((a): a is number => a !== null);
    const metrics: RunMetrics = {
      backend: backend.name,
      backendDetail: backend.detail,
      weightsSha256: weightsSha256(model),
      model: { name: options.pretrained ? `${options.model.name}-finetune` : options.model.name, origin: prepared.origin, parameters },
      rank,
      worldSize,
      seed: options.seed,
      epochs: history,
      finalValidationAccuracy: accuracies.length > 0 ? accuracies[accuracies.length - 1] : null,
      bestValidationAccuracy: accuracies.length > 0 ? Math.max(...accuracies) : null,
      totalSeconds: (performance.now() - started) / 1000,
      resumedFrom,
      // An allow-list, never a copy of the options: they hold the peer secret.
      config: { ...runConfig(options) },
    };
    if (options.out && !result.stopped) {
      const out = options.out.replace(/\/+$/, '');
      if (rank === 0) {
        await writeRunOutputs(out, metrics, options.s3);
        await saveModel(model, `${out}/model`, options.s3);
        io.log(`wrote metrics.json, accuracy.svg and model/ to ${out}`);
      } else {
        // Other ranks record only their metrics (with their weights hash) to check agreement.
        await writeRunOutputs(`${out}/rank-${rank}`, metrics, options.s3);
      }
    }
    return { metrics, stopped: result.stopped, progress: tracker.current() };
  } finally {
    await producer?.close();
    await sync?.group.close();
    await statusServer?.close();
    optimizer.dispose();
    model.dispose();
  }
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
