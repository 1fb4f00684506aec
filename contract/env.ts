/**
 * The environment the operator gives every trainer container, by name. The operator writes
 * these into pod specs (operator/core/pod-env.ts); the trainer reads them
 * (trainer/dist/config.ts, trainer/cli/train.ts, trainer/cli/launch.ts).
 */
export const TRAINER_ENV = {
  /** Ranks in the gang. */
  worldSize: 'WORLD_SIZE',
  /** This process's rank (a pod with one process). */
  rank: 'RANK',
  /** This pod's replica index when it runs several processes; `cifar-trainer launch` derives RANK. */
  nodeRank: 'NODE_RANK',
  /** Rank 0's stable DNS name for this attempt, and its rendezvous port. */
  masterAddr: 'MASTER_ADDR',
  masterPort: 'MASTER_PORT',
  /** The pod's IP (downward API): where the trainer listens for peers and serves metrics. */
  podIp: 'POD_IP',
  /** File holding the job's peer secret (mounted from the Secret the operator creates). */
  peerSecretFile: 'CIFAR_PEER_SECRET_FILE',
  /** The peer secret itself (local runs); the operator never puts a secret value in a pod spec. */
  peerSecret: 'CIFAR_PEER_SECRET',
  /** Bound into every handshake: namespace/name/attempt, so a straggler from another attempt cannot join. */
  jobId: 'CIFAR_JOB_ID',
  /** The gang restart attempt (status.attempt), a label of the trainer's metrics. */
  restartAttempt: 'CIFAR_RESTART_ATTEMPT',
  /** The job's name and namespace, labels of the trainer's metrics. */
  jobName: 'JOB_NAME',
  jobNamespace: 'JOB_NAMESPACE',
} as const;

/**
 * S3 settings, under the AWS SDK's standard names (so the trainer also works with them set by
 * hand or by IRSA): the operator fills them from spec.s3, credentials only through secretKeyRef.
 */
export const TRAINER_S3_ENV = {
  endpoint: 'AWS_ENDPOINT_URL_S3',
  region: 'AWS_REGION',
  pathStyle: 'S3_FORCE_PATH_STYLE',
  accessKeyId: 'AWS_ACCESS_KEY_ID',
  secretAccessKey: 'AWS_SECRET_ACCESS_KEY',
} as const;

export type TrainerEnvName = (typeof TRAINER_ENV)[keyof typeof TRAINER_ENV];
