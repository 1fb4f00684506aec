/**
 * The CRD's `default:` values applied in TypeScript, so the operator computes the same
 * pods whether or not the API server defaulted the object (old objects, tests, dry runs).
 * test/operator-crd-schema.test.ts checks this against every default in the CRD.
 */
import type { PullPolicy } from './k8s-types.js';
import type {
  Backend,
  CheckpointSpec,
  CifarTrainingJobSpec,
  CleanPodPolicy,
  CredentialsSecretRef,
  DataFormat,
  DataSpec,
  HyperparametersSpec,
  ModelSpec,
  PretrainedSpec,
  RunPolicySpec,
  S3Spec,
  ScheduleSpec,
  ScheduleType,
} from './types.js';

export type DefaultedSchedule = ScheduleSpec & { type: ScheduleType; factor: number; warmupEpochs: number };

export type DefaultedHyperparameters = HyperparametersSpec & {
  batchSize: number;
  epochs: number;
  learningRate: number;
  momentum: number;
  weightDecay: number;
  nesterov: boolean;
  labelSmoothing: number;
  seed: number;
  schedule: DefaultedSchedule;
};

export type DefaultedRunPolicy = RunPolicySpec & {
  backoffLimit: number;
  cleanPodPolicy: CleanPodPolicy;
  suspend: boolean;
};

export type DefaultedS3 = Omit<S3Spec, 'credentialsSecretRef'> & {
  credentialsSecretRef?: CredentialsSecretRef & { accessKeyIdKey: string; secretAccessKeyKey: string };
};

/** A spec with every CRD default filled in. */
type DefaultedKeys =
  | 'replicas' | 'gpusPerReplica' | 'imagePullPolicy' | 'backend' | 'model' | 'pretrained' | 'data'
  | 'hyperparameters' | 'checkpoint' | 's3' | 'runPolicy' | 'metricsPort' | 'masterPort';

export type DefaultedSpec = Omit<CifarTrainingJobSpec, DefaultedKeys> & {
  replicas: number;
  gpusPerReplica: number;
  imagePullPolicy: PullPolicy;
  backend: Backend;
  model: ModelSpec & { numClasses: number };
  pretrained?: PretrainedSpec & { freeze: boolean };
  data: DataSpec & { format: DataFormat; imageShape: number[] };
  hyperparameters: DefaultedHyperparameters;
  checkpoint: CheckpointSpec & { everyEpochs: number };
  s3?: DefaultedS3;
  runPolicy: DefaultedRunPolicy;
  metricsPort: number;
  masterPort: number;
};

export const DEFAULT_IMAGE_SHAPE: readonly number[] = [3, 32, 32];

function defaultSchedule(s: ScheduleSpec | undefined): DefaultedSchedule {
  return { ...s, type: s?.type ?? 'step', factor: s?.factor ?? 0.1, warmupEpochs: s?.warmupEpochs ?? 0 };
}

function defaultHyperparameters(h: HyperparametersSpec | undefined): DefaultedHyperparameters {
  return {
    ...h,
    batchSize: h?.batchSize ?? 128,
    epochs: h?.epochs ?? 10,
    learningRate: h?.learningRate ?? 0.05,
    momentum: h?.momentum ?? 0.9,
    weightDecay: h?.weightDecay ?? 0.0001,
    nesterov: h?.nesterov ?? false,
    labelSmoothing: h?.labelSmoothing ?? 0,
    seed: h?.seed ?? 1,
    schedule: defaultSchedule(h?.schedule),
  };
}

function defaultS3(s3: S3Spec): DefaultedS3 {
  const { credentialsSecretRef: ref, ...rest } = s3;
  if (ref === undefined) return rest;
  return {
    ...rest,
    credentialsSecretRef: {
      ...ref,
      accessKeyIdKey: ref.accessKeyIdKey ?? 'AWS_ACCESS_KEY_ID',
      secretAccessKeyKey: ref.secretAccessKeyKey ?? 'AWS_SECRET_ACCESS_KEY',
    },
  };
}

/** Returns a new spec with the CRD defaults applied; the input is not modified. */
export function withDefaults(spec: CifarTrainingJobSpec): DefaultedSpec {
  const { pretrained, s3, ...rest } = spec;
  const out: DefaultedSpec = {
    ...rest,
    replicas: spec.replicas ?? 1,
    gpusPerReplica: spec.gpusPerReplica ?? 1,
    imagePullPolicy: spec.imagePullPolicy ?? 'IfNotPresent',
    backend: spec.backend ?? 'auto',
    model: { ...spec.model, numClasses: spec.model.numClasses ?? 10 },
    data: { ...spec.data, format: spec.data.format ?? 'auto', imageShape: spec.data.imageShape ?? [...DEFAULT_IMAGE_SHAPE] },
    hyperparameters: defaultHyperparameters(spec.hyperparameters),
    checkpoint: { ...spec.checkpoint, everyEpochs: spec.checkpoint?.everyEpochs ?? 1 },
    runPolicy: {
      ...spec.runPolicy,
      backoffLimit: spec.runPolicy?.backoffLimit ?? 3,
      cleanPodPolicy: spec.runPolicy?.cleanPodPolicy ?? 'Running',
      suspend: spec.runPolicy?.suspend ?? false,
    },
    metricsPort: spec.metricsPort ?? 9400,
    masterPort: spec.masterPort ?? 29500,
  };
  // Optional blocks stay absent when absent: the API server defaults inside an object only if it exists.
  if (pretrained !== undefined) out.pretrained = { ...pretrained, freeze: pretrained.freeze ?? false };
  if (s3 !== undefined) out.s3 = defaultS3(s3);
  return out;
}
