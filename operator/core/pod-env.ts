/**
 * Environment of a worker container: its place in the gang (WORLD_SIZE, RANK,
 * MASTER_ADDR, MASTER_PORT, POD_IP), the peer key file, who it belongs to, and S3 access.
 * S3 credentials only ever arrive through secretKeyRef: no secret value is in a pod spec.
 *
 * A pod running several ranks gets NODE_RANK (its replica index) instead of RANK; the
 * launcher in the pod gives each of its processes RANK = NODE_RANK x processesPerReplica +
 * local rank.
 */
import { TRAINER_ENV, TRAINER_S3_ENV } from '../../contract/env.js';
import type { EnvVar } from '../api/k8s-types.js';
import type { DefaultedSpec } from '../api/defaults.js';
import { PEER_KEY_SECRET_KEY } from './desired-secret.js';
import { processesPerReplica, worldSize } from './gang-size.js';
import { labelValue, masterAddress } from './names.js';
import type { JobIdentity } from './owner-ref.js';

export const PEER_KEY_MOUNT_PATH = '/var/run/cifar-operator/peer';
export const PEER_KEY_FILE = `${PEER_KEY_MOUNT_PATH}/${PEER_KEY_SECRET_KEY}`;

function s3Env(spec: DefaultedSpec): EnvVar[] {
  const s3 = spec.s3;
  if (s3 === undefined) return [];
  const env: EnvVar[] = [];
  if (s3.endpoint !== undefined) env.push({ name: TRAINER_S3_ENV.endpoint, value: s3.endpoint });
  if (s3.region !== undefined) env.push({ name: TRAINER_S3_ENV.region, value: s3.region });
  if (s3.pathStyle !== undefined) env.push({ name: TRAINER_S3_ENV.pathStyle, value: String(s3.pathStyle) });
  const ref = s3.credentialsSecretRef;
  if (ref !== undefined) {
    env.push(
      { name: TRAINER_S3_ENV.accessKeyId, valueFrom: { secretKeyRef: { name: ref.name, key: ref.accessKeyIdKey } } },
      { name: TRAINER_S3_ENV.secretAccessKey, valueFrom: { secretKeyRef: { name: ref.name, key: ref.secretAccessKeyKey } } },
    );
  }
  return env;
}

/**
 * The trainer binds CIFAR_JOB_ID into every handshake; including the attempt means a
 * straggler from an earlier attempt cannot join the new gang even with the right key.
 */
export function trainerJobId(job: JobIdentity, attempt: number): string {
  return `${job.namespace}/${labelValue(job.name)}/attempt-${attempt}`;
}

export function workerEnv(job: JobIdentity, spec: DefaultedSpec, replica: number, attempt: number): EnvVar[] {
  const place = processesPerReplica(spec) === 1 ? { name: TRAINER_ENV.rank, value: String(replica) } : { name: TRAINER_ENV.nodeRank, value: String(replica) };
  return [
    { name: TRAINER_ENV.worldSize, value: String(worldSize(spec)) },
    place,
    // Rank 0 of this attempt: a new gang never rendezvous at an old pod's name.
    { name: TRAINER_ENV.masterAddr, value: masterAddress(job.name, job.namespace, attempt) },
    { name: TRAINER_ENV.masterPort, value: String(spec.masterPort) },
    { name: TRAINER_ENV.podIp, valueFrom: { fieldRef: { fieldPath: 'status.podIP' } } },
    { name: TRAINER_ENV.peerSecretFile, value: PEER_KEY_FILE },
    { name: TRAINER_ENV.jobId, value: trainerJobId(job, attempt) },
    { name: TRAINER_ENV.restartAttempt, value: String(attempt) },
    { name: TRAINER_ENV.jobName, value: job.name },
    { name: TRAINER_ENV.jobNamespace, value: job.namespace },
    ...s3Env(spec),
  ];
}
