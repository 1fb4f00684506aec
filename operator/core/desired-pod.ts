/**
 * The worker pod of one rank in one restart attempt.
 *
 * restartPolicy is Never because a lone restarted rank cannot rejoin a ring that is
 * mid-step: the operator restarts the whole gang instead. Pods are locked down by default
 * (non-root, read-only root filesystem, no capabilities, no service-account token), with
 * /tmp as the only writable place.
 */
import type { Pod, PodSpec } from '../api/k8s-types.js';
import { withDefaults } from '../api/defaults.js';
import type { CifarTrainingJob } from '../api/types.js';
import { MASTER_PORT_NAME, METRICS_PORT_NAME } from './desired-service.js';
import { ANNOTATION_JOB_GENERATION, ANNOTATION_SPEC_HASH, workerLabels } from './labels.js';
import { peerKeySecretName, workerPodName, workersServiceName } from './names.js';
import { controllerRef, jobIdentity } from './owner-ref.js';
import { PEER_KEY_MOUNT_PATH, workerEnv } from './pod-env.js';
import { workerResources, workerTolerations } from './pod-scheduling.js';
import { podSpecHash } from './spec-hash.js';
import { TRAINER_COMMAND, trainerArgs } from './trainer-args.js';

export const TRAINER_CONTAINER = 'trainer';
export const TRAINER_UID = 1000;
export const TERMINATION_LOG = '/dev/termination-log';

export function desiredWorkerPod(job: CifarTrainingJob, rank: number, attempt: number): Pod {
  const id = jobIdentity(job);
  const spec = withDefaults(job.spec);
  if (!Number.isInteger(rank) || rank < 0 || rank >= spec.replicas) {
    throw new Error(`desiredWorkerPod: rank ${rank} is outside 0..${spec.replicas - 1} (spec.replicas ${spec.replicas})`);
  }
  const name = workerPodName(id.name, rank);
  const podSpec: PodSpec = {
    hostname: name,
    subdomain: workersServiceName(id.name),
    restartPolicy: 'Never',
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
    containers: [
      {
        name: TRAINER_CONTAINER,
        image: spec.image,
        imagePullPolicy: spec.imagePullPolicy,
        command: [...TRAINER_COMMAND],
        args: trainerArgs(spec),
        env: workerEnv(id, spec, rank, attempt),
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
        ],
        // The trainer writes its fatal error here; the operator copies it into the job's status.
        terminationMessagePath: TERMINATION_LOG,
        terminationMessagePolicy: 'FallbackToLogsOnError',
      },
    ],
    volumes: [
      { name: 'scratch', emptyDir: {} },
      { name: 'peer-key', secret: { secretName: peerKeySecretName(id.name), defaultMode: 0o440 } },
    ],
  };
  if (spec.nodeSelector !== undefined) podSpec.nodeSelector = { ...spec.nodeSelector };
  if (spec.affinity !== undefined) podSpec.affinity = spec.affinity;
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name,
      namespace: id.namespace,
      labels: workerLabels(id.name, rank, attempt),
      annotations: {
        [ANNOTATION_SPEC_HASH]: podSpecHash(spec),
        [ANNOTATION_JOB_GENERATION]: String(job.metadata.generation ?? 0),
      },
      ownerReferences: [controllerRef(id)],
    },
    spec: podSpec,
  };
}
