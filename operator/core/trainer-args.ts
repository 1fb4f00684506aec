/**
 * The one place that maps the job spec to `cifar-trainer train` flags. Every value is
 * passed explicitly, defaults included, so a pod's behaviour is fixed by the spec alone
 * and not by whatever defaults the trainer image was built with.
 */
import type { DefaultedSpec } from '../api/defaults.js';
import { processesPerReplica } from './gang-size.js';

export const TRAINER_COMMAND = ['cifar-trainer'] as const;
export const TRAINER_SUBCOMMAND = 'train';
export const LAUNCH_SUBCOMMAND = 'launch';

type FlagValue = string | number | boolean | readonly number[] | undefined;

export interface FlagRule {
  /** Spec field path, as in docs/api.md. */
  readonly field: string;
  readonly flag: string;
  /** undefined or false leaves the flag out; true passes it bare; a list is comma-joined. */
  readonly value: (spec: DefaultedSpec) => FlagValue;
}

export const TRAINER_FLAGS: readonly FlagRule[] = [
  { field: 'model.architecture', flag: '--model', value: (s) => s.model.architecture },
  { field: 'model.depth', flag: '--depth', value: (s) => s.model.depth },
  { field: 'model.cardinality', flag: '--cardinality', value: (s) => s.model.cardinality },
  { field: 'model.width', flag: '--width', value: (s) => s.model.width },
  { field: 'model.numClasses', flag: '--num-classes', value: (s) => s.model.numClasses },
  { field: 'pretrained.uri', flag: '--pretrained', value: (s) => s.pretrained?.uri },
  { field: 'pretrained.layerBeforeFullc', flag: '--layer-before-fullc', value: (s) => s.pretrained?.layerBeforeFullc },
  { field: 'pretrained.freeze', flag: '--freeze', value: (s) => s.pretrained?.freeze },
  { field: 'pretrained.lrMultiplier', flag: '--pretrained-lr-mult', value: (s) => s.pretrained?.lrMultiplier },
  { field: 'data.train', flag: '--data-train', value: (s) => s.data.train },
  { field: 'data.validation', flag: '--data-val', value: (s) => s.data.validation },
  { field: 'data.format', flag: '--data-format', value: (s) => s.data.format },
  { field: 'data.imageShape', flag: '--image-shape', value: (s) => s.data.imageShape },
  { field: 'data.numExamples', flag: '--num-examples', value: (s) => s.data.numExamples },
  { field: 'hyperparameters.batchSize', flag: '--batch-size', value: (s) => s.hyperparameters.batchSize },
  { field: 'hyperparameters.epochs', flag: '--epochs', value: (s) => s.hyperparameters.epochs },
  { field: 'hyperparameters.learningRate', flag: '--lr', value: (s) => s.hyperparameters.learningRate },
  { field: 'hyperparameters.momentum', flag: '--momentum', value: (s) => s.hyperparameters.momentum },
  { field: 'hyperparameters.weightDecay', flag: '--wd', value: (s) => s.hyperparameters.weightDecay },
  { field: 'hyperparameters.nesterov', flag: '--nesterov', value: (s) => s.hyperparameters.nesterov },
  { field: 'hyperparameters.labelSmoothing', flag: '--label-smoothing', value: (s) => s.hyperparameters.labelSmoothing },
  { field: 'hyperparameters.cutout', flag: '--cutout', value: (s) => s.hyperparameters.cutout },
  { field: 'hyperparameters.seed', flag: '--seed', value: (s) => s.hyperparameters.seed },
  { field: 'hyperparameters.schedule.type', flag: '--lr-schedule', value: (s) => s.hyperparameters.schedule.type },
  { field: 'hyperparameters.schedule.stepEpochs', flag: '--lr-step-epochs', value: (s) => s.hyperparameters.schedule.stepEpochs },
  { field: 'hyperparameters.schedule.factor', flag: '--lr-factor', value: (s) => s.hyperparameters.schedule.factor },
  { field: 'hyperparameters.schedule.warmupEpochs', flag: '--warmup-epochs', value: (s) => s.hyperparameters.schedule.warmupEpochs },
  { field: 'checkpoint.uri', flag: '--checkpoint', value: (s) => s.checkpoint.uri },
  // With a checkpoint location every start resumes from the latest checkpoint there (a fresh run finds none).
  { field: 'checkpoint.uri', flag: '--resume', value: (s) => s.checkpoint.uri !== undefined },
  { field: 'checkpoint.everyEpochs', flag: '--checkpoint-every', value: (s) => s.checkpoint.everyEpochs },
  { field: 'output.uri', flag: '--out', value: (s) => s.output?.uri },
  { field: 'backend', flag: '--backend', value: (s) => s.backend },
  { field: 'metricsPort', flag: '--metrics-port', value: (s) => s.metricsPort },
];

/** Spec fields (and subtrees) that reach the pod another way, and how. */
export const FIELDS_NOT_PASSED_AS_FLAGS: Readonly<Record<string, string>> = {
  replicas: 'env WORLD_SIZE and one pod per replica',
  gpusPerReplica: 'nvidia.com/gpu limit and toleration; cifar-trainer launch --gpus-per-process',
  processesPerReplica: 'cifar-trainer launch --nproc-per-node, env WORLD_SIZE and NODE_RANK',
  image: 'container image',
  imagePullPolicy: 'container imagePullPolicy',
  resources: 'container resources',
  nodeSelector: 'pod nodeSelector',
  tolerations: 'pod tolerations',
  affinity: 'pod affinity',
  serviceAccountName: 'pod serviceAccountName',
  volumes: 'pod volumes',
  volumeMounts: 'container volumeMounts',
  s3: 'env AWS_ENDPOINT_URL_S3, AWS_REGION, S3_FORCE_PATH_STYLE and the credentials secretKeyRefs',
  runPolicy: 'used by the operator only',
  masterPort: 'env MASTER_PORT',
};

function render(value: Exclude<FlagValue, undefined | boolean>): string {
  return typeof value === 'object' ? value.join(',') : String(value);
}

/**
 * Container args. One rank per pod runs `train` directly; several run under
 * `launch --nproc-per-node N`, each pinned to its share of the pod's GPUs.
 */
export function containerArgs(spec: DefaultedSpec): string[] {
  const ppr = processesPerReplica(spec);
  if (ppr === 1) return trainerArgs(spec);
  const gpus = spec.gpusPerReplica > 0 ? ['--gpus-per-process', String(spec.gpusPerReplica / ppr)] : [];
  return [LAUNCH_SUBCOMMAND, '--nproc-per-node', String(ppr), ...gpus, '--', ...trainerArgs(spec)];
}

/** `train` and its flags, in TRAINER_FLAGS order. */
export function trainerArgs(spec: DefaultedSpec): string[] {
  const args: string[] = [TRAINER_SUBCOMMAND];
  for (const rule of TRAINER_FLAGS) {
    const value = rule.value(spec);
    if (value === undefined || value === false) continue;
    if (value === true) args.push(rule.flag);
    else args.push(rule.flag, render(value));
  }
  return args;
}

/**
 * Points a trainer message at the spec: every flag it mentions gains the spec field it
 * comes from (`--pretrained s3://x: ...` becomes `--pretrained (spec.pretrained.uri) s3://x: ...`),
 * so a user reading the job's condition knows which field of their manifest to fix.
 */
export function annotateTrainerFlags(message: string): string {
  const fieldOf = new Map<string, string>();
  for (const rule of TRAINER_FLAGS) if (!fieldOf.has(rule.flag)) fieldOf.set(rule.flag, rule.field);
  return message.replace(/--[a-z][a-z0-9-]*/g, (flag) => {
    const field = fieldOf.get(flag);
    return field === undefined ? flag : `${flag} (spec.${field})`;
  });
}
