/**
 * Environment of a worker container: its place in the gang (WORLD_SIZE, RANK,
 * MASTER_ADDR, MASTER_PORT, POD_IP), the peer key file, who it belongs to, and S3 access.
 * S3 credentials only ever arrive through secretKeyRef: no secret value is in a pod spec.
 *
 * A pod running several ranks gets NODE_RANK (its replica index) instead of RANK; the
 * launcher in the pod gives each of its processes RANK = NODE_RANK x processesPerReplica +
 * local rank.
 */
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
  if (s3.endpoint !== undefined) env.push({ name: 'AWS_ENDPOINT_URL_S3', value: s3.endpoint });
  if (s3.region !== undefined) env.push({ name: 'AWS_REGION', value: s3.region });
  if (s3.pathStyle !== undefined) env.push({ name: 'S3_FORCE_PATH_STYLE', value: String(s3.pathStyle) });
  const ref = s3.credentialsSecretRef;
  if (ref !== undefined) {
    env.push(
      { name: 'AWS_ACCESS_KEY_ID', valueFrom: { secretKeyRef: { name: ref.name, key: ref.accessKeyIdKey } } },
      { name: 'AWS_SECRET_ACCESS_KEY', valueFrom: { secretKeyRef: { name: ref.name, key: ref.secretAccessKeyKey } } },
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
  const place = processesPerReplica(spec) === 1 ? { name: 'RANK', value: String(replica) } : { name: 'NODE_RANK', value: String(replica) };
  return [
    { name: 'WORLD_SIZE', value: String(worldSize(spec)) },
    place,
    // Rank 0 of this attempt: a new gang never rendezvous at an old pod's name.
    { name: 'MASTER_ADDR', value: masterAddress(job.name, job.namespace, attempt) },
    { name: 'MASTER_PORT', value: String(spec.masterPort) },
    { name: 'POD_IP', valueFrom: { fieldRef: { fieldPath: 'status.podIP' } } },
    { name: 'CIFAR_PEER_SECRET_FILE', value: PEER_KEY_FILE },
    { name: 'CIFAR_JOB_ID', value: trainerJobId(job, attempt) },
    { name: 'CIFAR_RESTART_ATTEMPT', value: String(attempt) },
    { name: 'JOB_NAME', value: job.name },
    { name: 'JOB_NAMESPACE', value: job.namespace },
    ...s3Env(spec),
  ];
}
