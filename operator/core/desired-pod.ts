/**
 * The worker pod of one replica in one gang attempt.
 *
 * restartPolicy is Never because a lone restarted rank cannot rejoin a ring that is
 * mid-step: the operator restarts the whole gang instead. Pods are locked down by default
 * (non-root, read-only root filesystem, no capabilities, no service-account token), with
 * /tmp and the job's own volumes as the only writable places. The ServiceAccount is the
 * job's or the operator's default, so cloud identities (IRSA, workload identity) reach S3.
 */
import type { Container, Pod, PodSpec, Volume } from '../api/k8s-types.js';
import { withDefaults, type DefaultedSpec } from '../api/defaults.js';
import type { CifarTrainingJob } from '../api/types.js';
import { MASTER_PORT_NAME, METRICS_PORT_NAME } from './desired-service.js';
import { gangPodFields } from './gang-scheduling.js';
import { trainerImage, trainerServiceAccount, type OperatorDefaults } from './operator-defaults.js';
import { ANNOTATION_JOB_GENERATION, ANNOTATION_SPEC_HASH, workerLabels } from './labels.js';
import { peerKeySecretName, workerPodName, workersServiceName } from './names.js';
import { controllerRef, jobIdentity, type JobIdentity } from './owner-ref.js';
import { PEER_KEY_MOUNT_PATH, workerEnv } from './pod-env.js';
import { workerResources, workerTolerations } from './pod-scheduling.js';
import { podSpecHash } from './spec-hash.js';
import { TRAINER_COMMAND, containerArgs } from './trainer-args.js';
import { TERMINATION_LOG_PATH } from '../../contract/progress.js';

export const TRAINER_CONTAINER = 'trainer';
export const TRAINER_UID = 1000;
export const TERMINATION_LOG = TERMINATION_LOG_PATH;

/** The operator's own volumes and mounts come first in every pod; the job's follow (see jobFieldForPodField). */
const OWN_VOLUMES = 2;

/**
 * Which spec field a pod field comes from, so a pod the API server refuses (422, naming pod
 * fields) can be reported against the manifest the user wrote.
 */
export function jobFieldForPodField(podField: string): string | undefined {
  const shifted = (m: RegExpExecArray, base: string): string => {
    const index = Number(m[1]) - OWN_VOLUMES;
    return index >= 0 ? `${base}[${index}]${m[2] ?? ''}` : base;
  };
  let m: RegExpExecArray | null;
  if ((m = /^spec\.volumes\[(\d+)\](.*)$/.exec(podField)) !== null) return shifted(m, 'spec.volumes');
  if ((m = /^spec\.containers\[0\]\.volumeMounts\[(\d+)\](.*)$/.exec(podField)) !== null) return shifted(m, 'spec.volumeMounts');
  const rules: Array<[RegExp, string]> = [
    [/^spec\.containers\[0\]\.image/, 'spec.image'],
    [/^spec\.containers\[0\]\.resources.*nvidia\.com\/gpu/, 'spec.gpusPerReplica'],
    [/^spec\.containers\[0\]\.resources/, 'spec.resources'],
    [/^spec\.containers\[0\]\.ports/, 'spec.masterPort / spec.metricsPort'],
    [/^spec\.containers\[0\]\.imagePullPolicy/, 'spec.imagePullPolicy'],
    [/^spec\.nodeSelector/, 'spec.nodeSelector'],
    [/^spec\.tolerations/, 'spec.tolerations'],
    [/^spec\.affinity/, 'spec.affinity'],
    [/^spec\.serviceAccountName/, 'spec.serviceAccountName'],
    [/^spec\.(schedulerName|priorityClassName)/, 'spec.runPolicy.schedulingPolicy'],
    [/^metadata\.(labels|annotations)/, 'spec.runPolicy.schedulingPolicy'],
  ];
  return rules.find(([re]) => re.test(podField))?.[1];
}

export function desiredWorkerPod(job: CifarTrainingJob, replica: number, attempt: number, defaults: OperatorDefaults = {}): Pod {
  const id = jobIdentity(job);
  const spec = withDefaults(job.spec);
  if (!Number.isInteger(replica) || replica < 0 || replica >= spec.replicas) {
    throw new Error(`desiredWorkerPod: replica ${replica} is outside 0..${spec.replicas - 1} (spec.replicas ${spec.replicas})`);
  }
  const image = trainerImage(spec, defaults);
  if (image === undefined) throw new Error(`desiredWorkerPod: CifarTrainingJob ${id.namespace}/${id.name} has no spec.image and the operator no --default-trainer-image`);
  const name = workerPodName(id.name, replica, attempt);
  const gang = gangPodFields(id, spec, attempt);
  const serviceAccountName = trainerServiceAccount(spec, defaults);
  const podSpec: PodSpec = {
    hostname: name,
    subdomain: workersServiceName(id.name),
    restartPolicy: 'Never',
    ...(serviceAccountName === undefined ? {} : { serviceAccountName }),
    // IRSA and workload identity project their own token; the API token is never needed.
    automountServiceAccountToken: false,
    enableServiceLinks: false,
    securityContext: {
      runAsNonRoot: true,
      runAsUser: TRAINER_UID,
      runAsGroup: TRAINER_UID,
      // Lets the non-root trainer read the mounted peer key.
      fsGroup: TRAINER_UID,
      seccompProfile: { type: 'RuntimeDefault' },
    },
    tolerations: workerTolerations(spec),
    containers: [trainerContainer(id, spec, replica, attempt, image)],
    volumes: workerVolumes(id, spec),
  };
  if (spec.nodeSelector !== undefined) podSpec.nodeSelector = { ...spec.nodeSelector };
  if (spec.affinity !== undefined) podSpec.affinity = spec.affinity;
  if (gang.schedulerName !== undefined) podSpec.schedulerName = gang.schedulerName;
  if (gang.priorityClassName !== undefined) podSpec.priorityClassName = gang.priorityClassName;
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name,
      namespace: id.namespace,
      labels: { ...gang.labels, ...workerLabels(id.name, replica, attempt) },
      annotations: {
        ...gang.annotations,
        [ANNOTATION_SPEC_HASH]: podSpecHash(spec),
        [ANNOTATION_JOB_GENERATION]: String(job.metadata.generation ?? 0),
      },
      ownerReferences: [controllerRef(id)],
    },
    spec: podSpec,
  };
}

/** The trainer container: its command and flags, the gang's environment, ports, limits and a locked-down security context. */
function trainerContainer(id: JobIdentity, spec: DefaultedSpec, replica: number, attempt: number, image: string): Container {
  return {
    name: TRAINER_CONTAINER,
    image,
    imagePullPolicy: spec.imagePullPolicy,
    command: [...TRAINER_COMMAND],
    args: containerArgs(spec),
    env: workerEnv(id, spec, replica, attempt),
    ports: [
      { name: MASTER_PORT_NAME, containerPort: spec.masterPort, protocol: 'TCP' },
      { name: METRICS_PORT_NAME, containerPort: spec.metricsPort, protocol: 'TCP' },
    ],
    resources: workerResources(spec),
    securityContext: {
      runAsNonRoot: true,
      runAsUser: TRAINER_UID,
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      capabilities: { drop: ['ALL'] },
      seccompProfile: { type: 'RuntimeDefault' },
    },
    volumeMounts: [
      { name: 'scratch', mountPath: '/tmp' },
      { name: 'peer-key', mountPath: PEER_KEY_MOUNT_PATH, readOnly: true },
      ...(spec.volumeMounts ?? []).map((m) => ({ ...m })),
    ],
    // The trainer writes its fatal error here; the operator copies it into the job's status.
    terminationMessagePath: TERMINATION_LOG,
    terminationMessagePolicy: 'FallbackToLogsOnError',
  };
}

/** A scratch /tmp (the root file system is read-only), the peer key, and the user's volumes. */
function workerVolumes(id: JobIdentity, spec: DefaultedSpec): Volume[] {
  return [
    { name: 'scratch', emptyDir: {} },
    { name: 'peer-key', secret: { secretName: peerKeySecretName(id.name), defaultMode: 0o440 } },
    ...(spec.volumes ?? []).map((v) => structuredClone(v)),
  ];
}
