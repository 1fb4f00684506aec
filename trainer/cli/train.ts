import type { Command, CommandIO } from './command.js';
import { partFlag } from './command.js';
import { bool, choice, custom, int, num, readFlags, renderFlagUsage, str, type FlagSection, type FlagValues } from './flag-table.js';
import { UsageError } from '../util/errors.js';
import { resolveS3Config } from '../io/s3-config.js';
import { BACKEND_CHOICES } from '../engine/backend/select-backend.js';
import { MODEL_NAMES } from '../engine/models/registry.js';
import { DATA_FORMATS } from '../data/dataset.js';
import { parseStepEpochs } from '../engine/optim/lr-schedule.js';
import type { TrainOptions } from '../engine/train/options.js';
import { runTrainingSession } from '../engine/train/session.js';
import { formatProgress } from './train-progress.js';
import { writeTerminationMessage } from './termination-message.js';
import { distConfigFromEnv, type DistFlags } from '../dist/config.js';
import { s3Flags, s3Options } from './s3-flags.js';
import { limitFlags, limitsFromValues } from '../data/limits.js';
import { TRAINER_ENV } from '../../contract/env.js';
import { finalProgressMessage } from '../../contract/progress.js';

/** Exit code when the run stopped on SIGTERM after checkpointing (128 + 15, as a killed process). */
export const EXIT_STOPPED = 143;

/**
 * The train command's flags: the one place each flag's name, default, bounds and help live.
 * The usage text and the parser are derived from it.
 */
export const TRAIN_FLAGS = {
  model: choice('architecture', MODEL_NAMES, 'resnet'),
  depth: int('resnet: 6n+2; resnext: 9n+2', { min: 1, max: 1000, defaultText: '20 for resnet, 29 for resnext' }),
  cardinality: int('resnext groups', { min: 1, max: 1024, defaultText: '8' }),
  width: int('resnext bottleneck width', { min: 1, max: 4096, defaultText: '64' }),
  'num-classes': int('classes', { default: 10, min: 2, max: 100000 }),
  'image-shape': custom('network input; H,W may crop the stored images', 'C,H,W', (flag, raw) => parseImageShape(flag, raw), '3,32,32'),
  'data-train': str('training data (required)', 'URI'),
  'data-val': str('validation data', 'URI'),
  'data-format': choice('how to read --data-train and --data-val', DATA_FORMATS, 'auto'),
  'num-examples': int('use only N training images in all (each of R replicas: N/R of its part)', { min: 1 }),
  'num-val-examples': int('use only N validation images', { min: 1 }),
  'data-part': custom('use only part I of N of the training data (MXNet part semantics)', 'I/N', partFlag),
  epochs: int('passes over the training data', { default: 10, min: 1, max: 100000 }),
  'batch-size': int('images per step on each rank', { default: 128, min: 1, max: 65536 }),
  lr: num('learning rate', { default: 0.05, min: Number.MIN_VALUE, max: 100 }),
  momentum: num('SGD momentum', { default: 0.9, min: 0, max: 0.999999 }),
  nesterov: bool('Nesterov momentum'),
  wd: num('weight decay, on weights only', { default: 0.0001, min: 0, max: 1 }),
  'lr-schedule': choice('learning-rate schedule', ['step', 'cosine', 'constant'] as const, 'step'),
  'lr-step-epochs': custom('step schedule: epochs at which the rate is multiplied by --lr-factor', 'E1,E2,...', (_flag, raw) => parseStepEpochs(raw)),
  'lr-factor': num('step schedule factor', { default: 0.1, min: Number.MIN_VALUE, max: 1 }),
  'warmup-epochs': num('linear warm-up from 0, at most --epochs', { default: 0, min: 0, value: 'N' }),
  'min-lr': num('cosine schedule floor', { default: 0, min: 0, max: 100 }),
  'label-smoothing': num('label smoothing of the loss', { default: 0, min: 0, max: 0.999 }),
  pad: int('zero padding before the random crop', { default: 4, min: 0, max: 64 }),
  'no-flip': bool('no random horizontal flip'),
  cutout: int('side of the Cutout square erased at a random place in each training image (0: off)', { default: 0, min: 0, max: 64 }),
  seed: int('seed of initialisation, shuffling and augmentation', { default: 1, min: 0, max: 0xffffffff }),
  pretrained: str("TensorFlow.js layers model (directory, s3:// prefix or http(s) URL; an MXNet checkpoint after 'import-mxnet'); its stored preprocessing is used", 'URI'),
  'layer-before-fullc': str('cut point; MXNet node names such as flatten0 for an imported model', 'NAME', 'the layer before the last dense layer'),
  freeze: bool('train only the new head'),
  'pretrained-lr-mult': num('learning-rate multiplier for the pretrained layers', { default: 1, min: 0, max: 100 }),
  checkpoint: str('directory or s3:// prefix; written every --checkpoint-every epochs and on SIGTERM', 'URI'),
  'checkpoint-every': int('epochs between checkpoints', { default: 1, min: 1, max: 100000 }),
  'keep-checkpoints': int('checkpoints kept', { default: 3, min: 1, max: 1000 }),
  resume: bool('continue from the latest checkpoint in --checkpoint'),
  out: str('metrics.json, accuracy.svg and model/ (directory or s3:// prefix)', 'DIR'),
  backend: choice('TensorFlow.js backend', BACKEND_CHOICES, 'auto', 'auto: tensorflow, else native, else wasm, else cpu'),
  threads: int('compute threads of native and tensorflow', { min: 1, max: 1024, defaultText: "the pod's CPU limit, else the cores" }),
  'log-format': choice('progress on stderr', ['text', 'json'] as const, 'text'),
  'progress-interval': num('seconds between step lines', { default: 5, min: 0, max: 3600, value: 'SECONDS' }),
  'prefetch-workers': int('batch-making worker threads; 0 = inline', { default: 1, min: 0, max: 16 }),
  'no-shuffle': bool('keep the stored order every epoch (for equivalence checks)'),
  'metrics-port': int('serve /metrics (Prometheus), /progress (JSON) and /healthz on this port', { min: 0, max: 65535 }),
  'metrics-host': str('address to bind; never all interfaces unless asked', 'HOST', 'POD_IP, else 127.0.0.1'),
  'world-size': int(`ranks in the group (${TRAINER_ENV.worldSize})`, { min: 1, max: 4096 }),
  rank: int(`this process's rank (${TRAINER_ENV.rank})`, { min: 0, max: 4095 }),
  'master-addr': str(`rank 0's address (${TRAINER_ENV.masterAddr})`, 'HOST'),
  'master-port': int(`rank 0's rendezvous port (${TRAINER_ENV.masterPort})`, { min: 1, max: 65535, value: 'P' }),
  'lr-scaling': choice('multiply --lr by the world size, as the global batch grows', ['linear', 'none'] as const, 'linear'),
} as const;

const TRAIN_SECTIONS: readonly FlagSection[] = [
  { title: 'Model', flags: ['model', 'depth', 'cardinality', 'width', 'num-classes', 'image-shape'] },
  {
    title: "Data (RecordIO .rec local or s3://, or any layout 'pack' reads)",
    flags: ['data-train', 'data-val', 'data-format', 'num-examples', 'num-val-examples', 'data-part'],
  },
  {
    title: 'Optimisation',
    flags: ['epochs', 'batch-size', 'lr', 'momentum', 'nesterov', 'wd', 'lr-schedule', 'lr-step-epochs', 'lr-factor', 'warmup-epochs', 'min-lr', 'label-smoothing', 'pad', 'no-flip', 'cutout', 'seed'],
  },
  { title: 'Fine-tuning', flags: ['pretrained', 'layer-before-fullc', 'freeze', 'pretrained-lr-mult'] },
  { title: 'Checkpoints and output', flags: ['checkpoint', 'checkpoint-every', 'keep-checkpoints', 'resume', 'out'] },
  { title: 'Runtime', flags: ['backend', 'threads', 'log-format', 'progress-interval', 'prefetch-workers', 'no-shuffle', 'metrics-port', 'metrics-host'] },
  {
    title: 'Distributed (data-parallel, synchronous SGD; the operator sets these as environment variables)',
    flags: ['world-size', 'rank', 'master-addr', 'master-port', 'lr-scaling'],
    notes: [
      `peer secret from ${TRAINER_ENV.peerSecret} or the file in ${TRAINER_ENV.peerSecretFile} (required when the world size is above 1)`,
      'each rank reads its part of the data; only rank 0 writes checkpoints and the model',
    ],
  },
];

const usage = `Usage: cifar-trainer train --data-train URI [options]

Trains a CIFAR-10 classifier with TensorFlow.js, from scratch or by fine-tuning a
pretrained model (the MXNet tutorial's fine-tune.py), on one process.

${renderFlagUsage(TRAIN_FLAGS, TRAIN_SECTIONS)}
${s3Flags.usage}
${limitFlags.usage}

Exit codes: 0 done; 1 failed, not retryable (bad data, unreadable model, peers disagree);
2 usage error; 75 retryable (a peer was lost or rendezvous timed out: restart the group from
the last checkpoint); 143 stopped by SIGTERM after a checkpoint.`;

type TrainFlags = FlagValues<typeof TRAIN_FLAGS>;

/** Rules between flags, which no single row can state. */
function checkFlagCombinations(f: TrainFlags): void {
  if (f.model === 'lenet' && f.depth !== undefined) throw new UsageError('--depth does not apply to --model lenet');
  if (f.model !== 'resnext' && (f.cardinality !== undefined || f.width !== undefined)) throw new UsageError('--cardinality and --width apply only to --model resnext');
  if (f['warmup-epochs'] > f.epochs) throw new UsageError(`--warmup-epochs must be between 0 and ${f.epochs}, got ${f['warmup-epochs']}`);
  if (f.resume && f.checkpoint === undefined) throw new UsageError('--resume needs --checkpoint URI');
  if (f['layer-before-fullc'] !== undefined && f.pretrained === undefined) throw new UsageError('--layer-before-fullc needs --pretrained URI');
  if (f.freeze && f.pretrained === undefined) throw new UsageError('--freeze needs --pretrained URI');
}

/** Drops undefined values, so optional option fields are absent rather than undefined. */
function defined<T extends object>(value: T): { [K in keyof T]?: Exclude<T[K], undefined> } {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as { [K in keyof T]?: Exclude<T[K], undefined> };
}

function metricsOptions(f: TrainFlags, env: NodeJS.ProcessEnv): TrainOptions['metrics'] {
  if (f['metrics-port'] === undefined) return undefined;
  return {
    // The pod IP is where the operator and Prometheus reach the pod; outside a pod,
    // loopback. Binding every interface is left to an explicit --metrics-host 0.0.0.0.
    host: f['metrics-host'] ?? (env[TRAINER_ENV.podIp]?.trim() || '127.0.0.1'),
    port: f['metrics-port'],
    jobName: env[TRAINER_ENV.jobName] ?? 'local',
    jobNamespace: env[TRAINER_ENV.jobNamespace] ?? 'default',
    restarts: Number(env[TRAINER_ENV.restartAttempt] ?? 0) || 0,
  };
}

/** Turns flags into validated options; every error names its flag. */
export function parseTrainOptions(argv: string[], env: NodeJS.ProcessEnv): TrainOptions {
  const { flags: f, extra } = readFlags('train', argv, TRAIN_FLAGS, { ...s3Flags.options, ...limitFlags.options });
  const train = f['data-train'];
  if (train === undefined || train === '') throw new UsageError('train: --data-train URI is required');
  checkFlagCombinations(f);
  const pretrained = f.pretrained === undefined ? undefined : { uri: f.pretrained, ...defined({ layerBeforeFullc: f['layer-before-fullc'] }), freeze: f.freeze, lrMultiplier: f['pretrained-lr-mult'] };
  const checkpoint = f.checkpoint === undefined ? undefined : { uri: f.checkpoint, everyEpochs: f['checkpoint-every'], keep: f['keep-checkpoints'] };
  return {
    model: { name: f.model, ...defined({ depth: f.depth, cardinality: f.cardinality, width: f.width }) },
    numClasses: f['num-classes'],
    imageShape: f['image-shape'],
    data: {
      train,
      format: f['data-format'],
      ...defined({ validation: f['data-val'], part: f['data-part'], numExamples: f['num-examples'], numValidationExamples: f['num-val-examples'] }),
    },
    limits: limitsFromValues(extra),
    epochs: f.epochs,
    batchSize: f['batch-size'],
    learningRate: f.lr,
    momentum: f.momentum,
    nesterov: f.nesterov,
    weightDecay: f.wd,
    schedule: { kind: f['lr-schedule'], stepEpochs: f['lr-step-epochs'], factor: f['lr-factor'], warmupEpochs: f['warmup-epochs'], minLr: f['min-lr'] },
    labelSmoothing: f['label-smoothing'],
    augment: { pad: f.pad, flip: !f['no-flip'], cutout: f.cutout },
    seed: f.seed,
    backend: f.backend,
    resume: f.resume,
    logFormat: f['log-format'],
    progressIntervalSeconds: f['progress-interval'],
    prefetchWorkers: f['prefetch-workers'],
    s3: resolveS3Config(s3Options(extra), env),
    dist: distConfigFromEnv(env, distFlags(f)),
    lrScaling: f['lr-scaling'],
    shuffle: !f['no-shuffle'],
    ...defined({ threads: f.threads, pretrained, checkpoint, out: f.out, metrics: metricsOptions(f, env) }),
  };
}

function distFlags(f: TrainFlags): DistFlags {
  return defined({ worldSize: f['world-size'], rank: f.rank, masterAddr: f['master-addr'], masterPort: f['master-port'] });
}

function parseImageShape(flag: string, value: string | undefined): [number, number, number] {
  if (value === undefined) return [3, 32, 32];
  const parts = value.split(',').map((p) => Number(p.trim()));
  if (parts.length !== 3 || parts.some((n) => !Number.isInteger(n) || n < 1)) throw new UsageError(`--${flag} must be C,H,W with positive integers, got '${value}'`);
  if (parts[0] !== 3) throw new UsageError(`--${flag}: only 3-channel (RGB) input is supported, got ${parts[0]} channels`);
  return parts as [number, number, number];
}

export const trainCommand: Command = {
  name: 'train',
  summary: 'train a classifier (LeNet, ResNet, ResNeXt) from scratch or fine-tune a pretrained one',
  usage,
  async run(argv: string[], io: CommandIO): Promise<number> {
    const options = parseTrainOptions(argv, io.env);
    let stopRequested = false;
    const onSignal = () => {
      stopRequested = true;
      io.stderr.write('SIGTERM: stopping after this step, writing a checkpoint\n');
    };
    process.on('SIGTERM', onSignal);
    try {
      const result = await runTrainingSession(options, {
        log: (message) => io.stderr.write(options.logFormat === 'json' ? `${JSON.stringify({ event: 'log', time: new Date().toISOString(), message })}\n` : `${message}\n`),
        progress: (event) => io.stderr.write(formatProgress(event, options.logFormat)),
        shouldStop: () => stopRequested,
      });
      const m = result.metrics;
      io.stdout.write(
        `${JSON.stringify({ result: result.stopped ? 'stopped' : 'done', epochs: m.epochs.length, finalValidationAccuracy: m.finalValidationAccuracy, weightsSha256: m.weightsSha256, backend: m.backend, seconds: Math.round(m.totalSeconds) })}\n`,
      );
      // The final progress goes into the pod's termination message: rank 0 exits right after
      // its last epoch, possibly before the operator polls /progress again.
      if (!result.stopped && result.progress) await writeTerminationMessage(finalProgressMessage(result.progress), io.env);
      return result.stopped ? EXIT_STOPPED : 0;
    } finally {
      process.off('SIGTERM', onSignal);
    }
  },
};
