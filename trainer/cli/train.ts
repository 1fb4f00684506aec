import type { Command, CommandIO } from './command.js';
import { choiceFlag, intFlag, numberFlag, parseFlags, partFlag } from './command.js';
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

const usage = `Usage: cifar-trainer train --data-train URI [options]

Trains a CIFAR-10 classifier with TensorFlow.js, from scratch or by fine-tuning a
pretrained model (the MXNet tutorial's fine-tune.py), on one process.

Model:
  --model lenet|resnet|resnext   architecture (default resnet)
  --depth N                      resnet: 6n+2 (default 20); resnext: 9n+2 (default 29)
  --cardinality N, --width N     resnext groups and bottleneck width (default 8 and 64)
  --num-classes N                classes (default 10)
  --image-shape C,H,W            network input; H,W may crop the stored images (default 3,32,32)
Data (RecordIO .rec local or s3://, or any layout 'pack' reads):
  --data-train URI, --data-val URI
  --data-format auto|recordio|python|binary|image-folder   (default auto)
  --num-examples N, --num-val-examples N    use only N images in all (each of R replicas: N/R of its part)
  --data-part I/N                use only part I of N of the training data (MXNet part semantics)
Optimisation:
  --epochs N (default 10)  --batch-size N (default 128)  --lr X (default 0.05)
  --momentum X (default 0.9)  --nesterov  --wd X weight decay on weights only (default 0.0001)
  --lr-schedule step|cosine|constant (default step)  --lr-step-epochs E1,E2,...  --lr-factor X (default 0.1)
  --warmup-epochs N (default 0)  --min-lr X (cosine, default 0)  --label-smoothing X (default 0)
  --pad N (default 4)  --no-flip  --seed N (default 1)
Fine-tuning:
  --pretrained URI               TensorFlow.js layers model (directory, s3:// prefix or http(s) URL; an
                                 MXNet checkpoint after 'import-mxnet'); its stored preprocessing is used
  --layer-before-fullc NAME      cut point (default: the layer before the last dense layer; MXNet node
                                 names such as flatten0 for an imported model)
  --freeze                       train only the new head
  --pretrained-lr-mult X         learning-rate multiplier for the pretrained layers (default 1)
Checkpoints and output:
  --checkpoint URI               directory or s3:// prefix; written every --checkpoint-every epochs and on SIGTERM
  --checkpoint-every N (default 1)  --keep-checkpoints N (default 3)
  --resume                       continue from the latest checkpoint in --checkpoint
  --out DIR                      metrics.json, accuracy.svg and model/ (directory or s3:// prefix)
Runtime:
  --backend auto|tensorflow|native|wasm|cpu   (default auto: tensorflow, else native, else wasm, else cpu)
  --threads N                    compute threads of native and tensorflow (default: the pod's CPU limit, else the cores)
  --log-format text|json         progress on stderr (default text)
  --progress-interval SECONDS    between step lines (default 5)
  --prefetch-workers N           batch-making worker threads (default 1; 0 = inline)
  --no-shuffle                   keep the stored order every epoch (for equivalence checks)
  --metrics-port N               serve /metrics (Prometheus), /progress (JSON) and /healthz on this port
  --metrics-host HOST            address to bind (default POD_IP, else 127.0.0.1; never all interfaces unless asked)
Distributed (data-parallel, synchronous SGD; the operator sets these as environment variables):
  --world-size N (WORLD_SIZE)  --rank R (RANK)  --master-addr HOST (MASTER_ADDR)  --master-port P (MASTER_PORT)
  peer secret from CIFAR_PEER_SECRET or the file in CIFAR_PEER_SECRET_FILE (required when N > 1)
  each rank reads part RANK of WORLD_SIZE of the data; only rank 0 writes checkpoints and the model
  --lr-scaling linear|none       multiply --lr by the world size (default linear), as the global batch grows
${s3Flags.usage}
${limitFlags.usage}

Exit codes: 0 done; 1 failed, not retryable (bad data, unreadable model, peers disagree);
2 usage error; 75 retryable (a peer was lost or rendezvous timed out: restart the group from
the last checkpoint); 143 stopped by SIGTERM after a checkpoint.`;

const flags = {
  model: { type: 'string' },
  depth: { type: 'string' },
  cardinality: { type: 'string' },
  width: { type: 'string' },
  'num-classes': { type: 'string' },
  'image-shape': { type: 'string' },
  'data-train': { type: 'string' },
  'data-val': { type: 'string' },
  'data-format': { type: 'string' },
  'num-examples': { type: 'string' },
  'num-val-examples': { type: 'string' },
  'data-part': { type: 'string' },
  epochs: { type: 'string' },
  'batch-size': { type: 'string' },
  lr: { type: 'string' },
  momentum: { type: 'string' },
  nesterov: { type: 'boolean' },
  wd: { type: 'string' },
  'lr-schedule': { type: 'string' },
  'lr-step-epochs': { type: 'string' },
  'lr-factor': { type: 'string' },
  'warmup-epochs': { type: 'string' },
  'min-lr': { type: 'string' },
  'label-smoothing': { type: 'string' },
  pad: { type: 'string' },
  'no-flip': { type: 'boolean' },
  seed: { type: 'string' },
  pretrained: { type: 'string' },
  'layer-before-fullc': { type: 'string' },
  freeze: { type: 'boolean' },
  'pretrained-lr-mult': { type: 'string' },
  checkpoint: { type: 'string' },
  'checkpoint-every': { type: 'string' },
  'keep-checkpoints': { type: 'string' },
  resume: { type: 'boolean' },
  out: { type: 'string' },
  backend: { type: 'string' },
  threads: { type: 'string' },
  'log-format': { type: 'string' },
  'progress-interval': { type: 'string' },
  'prefetch-workers': { type: 'string' },
  'no-shuffle': { type: 'boolean' },
  'metrics-port': { type: 'string' },
  'metrics-host': { type: 'string' },
  'world-size': { type: 'string' },
  rank: { type: 'string' },
  'master-addr': { type: 'string' },
  'master-port': { type: 'string' },
  'lr-scaling': { type: 'string' },
  ...s3Flags.options,
  ...limitFlags.options,
} as const;

/** Turns flags into validated options; every error names its flag. */
export function parseTrainOptions(argv: string[], env: NodeJS.ProcessEnv): TrainOptions {
  const { values: v } = parseFlags('train', argv, flags);
  if (!v['data-train']) throw new UsageError('train: --data-train URI is required');
  const model = choiceFlag('model', v.model, MODEL_NAMES, 'resnet');
  if (model === 'lenet' && v.depth !== undefined) throw new UsageError('--depth does not apply to --model lenet');
  if (model !== 'resnext' && (v.cardinality !== undefined || v.width !== undefined)) throw new UsageError('--cardinality and --width apply only to --model resnext');
  const epochs = intFlag('epochs', v.epochs, 10, 1, 100000);
  const stepEpochs = parseStepEpochs(v['lr-step-epochs']);
  const imageShape = parseImageShape(v['image-shape']);
  const schedule = choiceFlag('lr-schedule', v['lr-schedule'], ['step', 'cosine', 'constant'] as const, 'step');
  if (v.resume && !v.checkpoint) throw new UsageError('--resume needs --checkpoint URI');
  if (v['layer-before-fullc'] !== undefined && !v.pretrained) throw new UsageError('--layer-before-fullc needs --pretrained URI');
  if (v.freeze && !v.pretrained) throw new UsageError('--freeze needs --pretrained URI');
  const optional = <T>(key: string, value: T | undefined) => (value === undefined ? {} : { [key]: value });
  return {
    model: {
      name: model,
      ...optional('depth', v.depth !== undefined ? intFlag('depth', v.depth, 0, 1, 1000) : undefined),
      ...optional('cardinality', v.cardinality !== undefined ? intFlag('cardinality', v.cardinality, 0, 1, 1024) : undefined),
      ...optional('width', v.width !== undefined ? intFlag('width', v.width, 0, 1, 4096) : undefined),
    },
    numClasses: intFlag('num-classes', v['num-classes'], 10, 2, 100000),
    imageShape,
    data: {
      train: v['data-train'],
      ...optional('validation', v['data-val']),
      format: choiceFlag('data-format', v['data-format'], DATA_FORMATS, 'auto'),
      ...optional('part', partFlag('data-part', v['data-part'])),
      ...optional('numExamples', v['num-examples'] !== undefined ? intFlag('num-examples', v['num-examples'], 0, 1) : undefined),
      ...optional('numValidationExamples', v['num-val-examples'] !== undefined ? intFlag('num-val-examples', v['num-val-examples'], 0, 1) : undefined),
    },
    limits: limitsFromValues(v),
    epochs,
    batchSize: intFlag('batch-size', v['batch-size'], 128, 1, 65536),
    learningRate: numberFlag('lr', v.lr, 0.05, Number.MIN_VALUE, 100),
    momentum: numberFlag('momentum', v.momentum, 0.9, 0, 0.999999),
    nesterov: v.nesterov ?? false,
    weightDecay: numberFlag('wd', v.wd, 0.0001, 0, 1),
    schedule: {
      kind: schedule,
      stepEpochs,
      factor: numberFlag('lr-factor', v['lr-factor'], 0.1, Number.MIN_VALUE, 1),
      warmupEpochs: numberFlag('warmup-epochs', v['warmup-epochs'], 0, 0, epochs),
      minLr: numberFlag('min-lr', v['min-lr'], 0, 0, 100),
    },
    labelSmoothing: numberFlag('label-smoothing', v['label-smoothing'], 0, 0, 0.999),
    augment: { pad: intFlag('pad', v.pad, 4, 0, 64), flip: !(v['no-flip'] ?? false) },
    seed: intFlag('seed', v.seed, 1, 0, 0xffffffff),
    backend: choiceFlag('backend', v.backend, BACKEND_CHOICES, 'auto'),
    ...optional('threads', v.threads !== undefined ? intFlag('threads', v.threads, 1, 1, 1024) : undefined),
    ...optional(
      'pretrained',
      v.pretrained
        ? {
            uri: v.pretrained,
            ...optional('layerBeforeFullc', v['layer-before-fullc']),
            freeze: v.freeze ?? false,
            lrMultiplier: numberFlag('pretrained-lr-mult', v['pretrained-lr-mult'], 1, 0, 100),
          }
        : undefined,
    ),
    ...optional(
      'checkpoint',
      v.checkpoint
        ? { uri: v.checkpoint, everyEpochs: intFlag('checkpoint-every', v['checkpoint-every'], 1, 1, 100000), keep: intFlag('keep-checkpoints', v['keep-checkpoints'], 3, 1, 1000) }
        : undefined,
    ),
    resume: v.resume ?? false,
    ...optional('out', v.out),
    logFormat: choiceFlag('log-format', v['log-format'], ['text', 'json'] as const, 'text'),
    progressIntervalSeconds: numberFlag('progress-interval', v['progress-interval'], 5, 0, 3600),
    prefetchWorkers: intFlag('prefetch-workers', v['prefetch-workers'], 1, 0, 16),
    s3: resolveS3Config(s3Options(v), env),
    dist: distConfigFromEnv(env, distFlags(v)),
    lrScaling: choiceFlag('lr-scaling', v['lr-scaling'], ['linear', 'none'] as const, 'linear'),
    shuffle: !(v['no-shuffle'] ?? false),
    ...optional(
      'metrics',
      v['metrics-port'] !== undefined
        ? {
            // The pod IP is where the operator and Prometheus reach the pod; outside a pod,
            // loopback. Binding every interface is left to an explicit --metrics-host 0.0.0.0.
            host: v['metrics-host'] ?? (env[TRAINER_ENV.podIp]?.trim() || '127.0.0.1'),
            port: intFlag('metrics-port', v['metrics-port'], 0, 0, 65535),
            jobName: env[TRAINER_ENV.jobName] ?? 'local',
            jobNamespace: env[TRAINER_ENV.jobNamespace] ?? 'default',
            restarts: Number(env[TRAINER_ENV.restartAttempt] ?? 0) || 0,
          }
        : undefined,
    ),
  };
}

function distFlags(v: { 'world-size'?: string; rank?: string; 'master-addr'?: string; 'master-port'?: string }): DistFlags {
  const flags: DistFlags = {};
  if (v['world-size'] !== undefined) flags.worldSize = intFlag('world-size', v['world-size'], 1, 1, 4096);
  if (v.rank !== undefined) flags.rank = intFlag('rank', v.rank, 0, 0, 4095);
  if (v['master-addr'] !== undefined) flags.masterAddr = v['master-addr'];
  if (v['master-port'] !== undefined) flags.masterPort = intFlag('master-port', v['master-port'], 29500, 1, 65535);
  return flags;
}

function parseImageShape(value: string | undefined): [number, number, number] {
  if (value === undefined) return [3, 32, 32];
  const parts = value.split(',').map((p) => Number(p.trim()));
  if (parts.length !== 3 || parts.some((n) => !Number.isInteger(n) || n < 1)) throw new UsageError(`--image-shape must be C,H,W with positive integers, got '${value}'`);
  if (parts[0] !== 3) throw new UsageError(`--image-shape: only 3-channel (RGB) input is supported, got ${parts[0]} channels`);
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
