/**
 * The CifarTrainingJob API (training.cifar-operator.io/v1alpha1) as TypeScript types.
 * crds/cifartrainingjobs.yaml is the source of truth; test/operator-crd-schema.test.ts
 * fails when a field, an enum or a required marker here drifts from it.
 * Fields the CRD defaults are optional here (users may omit them); defaults.ts fills them.
 */
import type { ProgressDocument } from '../../contract/progress.js';
import type { Affinity, Condition, ObjectMeta, PullPolicy, Quantity, Toleration, Volume, VolumeMount } from './k8s-types.js';

export const API_GROUP = 'training.cifar-operator.io';
export const API_VERSION_NAME = 'v1alpha1';
export const API_VERSION = `${API_GROUP}/${API_VERSION_NAME}`;
export const KIND = 'CifarTrainingJob';

export type Backend = 'auto' | 'tensorflow' | 'native' | 'wasm' | 'cpu';
export type Architecture = 'lenet' | 'resnet' | 'resnext';
export type DataFormat = 'auto' | 'recordio' | 'python' | 'binary' | 'image-folder';
export type ScheduleType = 'step' | 'cosine' | 'constant';
export type CleanPodPolicy = 'None' | 'Running' | 'All';
export type GangScheduler = 'coscheduling' | 'volcano' | 'kueue';

export interface ModelSpec {
  architecture: Architecture;
  depth?: number;
  cardinality?: number;
  width?: number;
  numClasses?: number;
}

export interface PretrainedSpec {
  uri: string;
  layerBeforeFullc?: string;
  freeze?: boolean;
  lrMultiplier?: number;
}

export interface DataSpec {
  train: string;
  validation?: string;
  format?: DataFormat;
  /** [channels, height, width], as MXNet's --image-shape. */
  imageShape?: number[];
  numExamples?: number;
}

export interface ScheduleSpec {
  type?: ScheduleType;
  stepEpochs?: number[];
  factor?: number;
  warmupEpochs?: number;
}

export interface HyperparametersSpec {
  batchSize?: number;
  epochs?: number;
  learningRate?: number;
  momentum?: number;
  weightDecay?: number;
  nesterov?: boolean;
  labelSmoothing?: number;
  seed?: number;
  schedule?: ScheduleSpec;
}

export interface CheckpointSpec {
  uri?: string;
  everyEpochs?: number;
}

export interface OutputSpec {
  uri?: string;
}

export interface CredentialsSecretRef {
  name: string;
  accessKeyIdKey?: string;
  secretAccessKeyKey?: string;
}

export interface S3Spec {
  endpoint?: string;
  region?: string;
  pathStyle?: boolean;
  credentialsSecretRef?: CredentialsSecretRef;
}

/** Gang scheduling, as Kubeflow's runPolicy.schedulingPolicy: the whole gang is placed or none of it. */
export interface SchedulingPolicySpec {
  gangScheduler: GangScheduler;
  schedulerName?: string;
  queue?: string;
  priorityClass?: string;
  scheduleTimeoutSeconds?: number;
}

export interface RunPolicySpec {
  backoffLimit?: number;
  activeDeadlineSeconds?: number;
  ttlSecondsAfterFinished?: number;
  cleanPodPolicy?: CleanPodPolicy;
  suspend?: boolean;
  schedulingPolicy?: SchedulingPolicySpec;
}

export interface ReplicaResources {
  requests?: Record<string, Quantity>;
  limits?: Record<string, Quantity>;
}

export interface CifarTrainingJobSpec {
  replicas?: number;
  gpusPerReplica?: number;
  /** Default gpusPerReplica, or 1 without GPUs (not a CRD default: it depends on another field). */
  processesPerReplica?: number;
  /** Default: the operator's --default-trainer-image. */
  image?: string;
  imagePullPolicy?: PullPolicy;
  resources?: ReplicaResources;
  nodeSelector?: Record<string, string>;
  tolerations?: Toleration[];
  affinity?: Affinity;
  /** Default: the operator's --default-trainer-service-account, else the namespace's default. */
  serviceAccountName?: string;
  volumes?: Volume[];
  volumeMounts?: VolumeMount[];
  backend?: Backend;
  model: ModelSpec;
  pretrained?: PretrainedSpec;
  data: DataSpec;
  hyperparameters?: HyperparametersSpec;
  checkpoint?: CheckpointSpec;
  output?: OutputSpec;
  s3?: S3Spec;
  runPolicy?: RunPolicySpec;
  metricsPort?: number;
  masterPort?: number;
}

export type JobPhase = 'Pending' | 'Created' | 'Running' | 'Restarting' | 'Succeeded' | 'Failed' | 'Suspended';

export type JobConditionType = 'Created' | 'PodsReady' | 'Running' | 'Restarting' | 'Succeeded' | 'Failed' | 'Suspended';

export interface ReplicaStatuses {
  active?: number;
  ready?: number;
  succeeded?: number;
  failed?: number;
}

/**
 * status.progress: the last progress document rank 0 reported (contract/progress.ts), copied
 * field by field as the operator got it (any field may be missing).
 */
export type TrainingProgress = Partial<ProgressDocument>;

export interface FailureRecord {
  reason?: string;
  message?: string;
  rank?: number;
  exitCode?: number;
}

export interface CifarTrainingJobStatus {
  phase?: JobPhase;
  conditions?: Condition[];
  replicaStatuses?: ReplicaStatuses;
  restarts?: number;
  attempt?: number;
  startTime?: string;
  completionTime?: string;
  observedGeneration?: number;
  progress?: TrainingProgress;
  lastFailure?: FailureRecord;
}

export interface CifarTrainingJob {
  apiVersion: typeof API_VERSION;
  kind: typeof KIND;
  metadata: ObjectMeta;
  spec: CifarTrainingJobSpec;
  status?: CifarTrainingJobStatus;
}
