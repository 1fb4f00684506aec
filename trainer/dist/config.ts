/**
 * Distributed-training settings from the environment the operator gives each pod
 * (WORLD_SIZE, RANK, MASTER_ADDR, MASTER_PORT, POD_IP, the job's peer secret), with
 * command-line flags taking precedence. Pure apart from reading the secret file, which
 * goes through an injectable reader.
 */
import { readFileSync } from 'node:fs';
import { UsageError } from '../util/errors.js';
import { TRAINER_ENV } from '../../contract/env.js';

export interface DistConfig {
  readonly worldSize: number;
  readonly rank: number;
  /** Rank 0's rendezvous address; unused when worldSize is 1. */
  readonly masterAddr: string;
  readonly masterPort: number;
  /** Host this rank's ring listener binds to; undefined means the address used to reach the master. */
  readonly listenHost: string | undefined;
  /** Ring listener port; 0 picks an ephemeral port. */
  readonly listenPort: number;
  /** Every rank must agree on it; bound into every handshake so another job's pods are refused. */
  readonly jobId: string;
  /** Per-job shared secret for the HMAC handshake; undefined only when worldSize is 1. */
  readonly secret: Buffer | undefined;
  readonly rendezvousTimeoutMs: number;
  /** A neighbour silent for this long (no data, no heartbeat) is declared lost. */
  readonly peerTimeoutMs: number;
  /** Size of the pipelined sub-chunks the ring sends, in bytes. */
  readonly chunkBytes: number;
}

export interface DistFlags {
  worldSize?: number;
  rank?: number;
  masterAddr?: string;
  masterPort?: number;
  podIp?: string;
  listenPort?: number;
  jobId?: string;
  rendezvousTimeoutS?: number;
  peerTimeoutS?: number;
  chunkBytes?: number;
}

export type Env = Readonly<Record<string, string | undefined>>;

export const DEFAULT_MASTER_PORT = 29500;
export const DEFAULT_RENDEZVOUS_TIMEOUT_S = 120;
export const DEFAULT_PEER_TIMEOUT_S = 30;
export const DEFAULT_CHUNK_BYTES = 1024 * 1024;
export const MIN_SECRET_BYTES = 16;

const MAX_WORLD_SIZE = 4096;
const JOB_ID_RE = /^[A-Za-z0-9][A-Za-z0-9._:/-]{0,199}$/;

function intFrom(name: string, raw: string | number | undefined, min: number, max: number): number | undefined {
  if (raw === undefined || raw === '') return undefined;
  const n = typeof raw === 'number' ? raw : Number(raw.trim());
  if (!Number.isInteger(n) || n < min || n > max) {
    throw new UsageError(`${name}: expected an integer in [${min}, ${max}], got ${JSON.stringify(String(raw))}`);
  }
  return n;
}

function secondsFrom(name: string, raw: string | number | undefined, fallback: number): number {
  if (raw === undefined || raw === '') return fallback * 1000;
  const n = typeof raw === 'number' ? raw : Number(raw.trim());
  if (!Number.isFinite(n) || n <= 0 || n > 86400) {
    throw new UsageError(`${name}: expected a number of seconds in (0, 86400], got ${JSON.stringify(String(raw))}`);
  }
  return Math.round(n * 1000);
}

function readSecret(env: Env, readText: (path: string) => string): Buffer | undefined {
  const inline = env[TRAINER_ENV.peerSecret];
  const file = env[TRAINER_ENV.peerSecretFile];
  if (inline && file) {
    throw new UsageError('CIFAR_PEER_SECRET and CIFAR_PEER_SECRET_FILE are both set: set only one');
  }
  let text: string | undefined = inline;
  let source = 'CIFAR_PEER_SECRET';
  if (file) {
    source = `CIFAR_PEER_SECRET_FILE (${file})`;
    try {
      text = readText(file);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code ?? 'read failed';
      throw new UsageError(`${source}: cannot read the secret file: ${code}`);
    }
  }
  if (text === undefined || text === '') return undefined;
  // A mounted Secret or an `echo` often ends in a newline that is not part of the key.
  const secret = Buffer.from(text.replace(/\r?\n$/, ''), 'utf8');
  if (secret.length < MIN_SECRET_BYTES) {
    throw new UsageError(`${source}: the peer secret must be at least ${MIN_SECRET_BYTES} bytes, got ${secret.length}`);
  }
  return secret;
}

function defaultReadText(path: string): string {
  return readFileSync(path, 'utf8');
}

/** Reads and validates the distributed settings. WORLD_SIZE unset or 1 means a single process, no networking. */
export function distConfigFromEnv(env: Env, flags: DistFlags = {}, readText: (path: string) => string = defaultReadText): DistConfig {
  const worldSize = intFrom('--world-size/WORLD_SIZE', flags.worldSize ?? env[TRAINER_ENV.worldSize], 1, MAX_WORLD_SIZE) ?? 1;
  const rankRaw = intFrom('--rank/RANK', flags.rank ?? env[TRAINER_ENV.rank], 0, MAX_WORLD_SIZE);
  if (rankRaw === undefined && worldSize > 1) {
    throw new UsageError(`--rank/RANK: required when WORLD_SIZE is ${worldSize}`);
  }
  const rank = rankRaw ?? 0;
  if (rank >= worldSize) {
    throw new UsageError(`--rank/RANK: rank ${rank} is out of range for WORLD_SIZE ${worldSize} (expected 0..${worldSize - 1})`);
  }
  const masterAddr = (flags.masterAddr ?? env[TRAINER_ENV.masterAddr] ?? '').trim();
  if (worldSize > 1 && masterAddr === '') {
    throw new UsageError(`--master-addr/MASTER_ADDR: required when WORLD_SIZE is ${worldSize}`);
  }
  const masterPort = intFrom('--master-port/MASTER_PORT', flags.masterPort ?? env[TRAINER_ENV.masterPort], 1, 65535) ?? DEFAULT_MASTER_PORT;
  const listenHost = (flags.podIp ?? env[TRAINER_ENV.podIp] ?? '').trim() || undefined;
  const listenPort = intFrom('CIFAR_DIST_PORT', flags.listenPort ?? env.CIFAR_DIST_PORT, 0, 65535) ?? 0;
  const jobId = (flags.jobId ?? env[TRAINER_ENV.jobId] ?? 'cifar').trim();
  if (!JOB_ID_RE.test(jobId)) {
    throw new UsageError(`--job-id/CIFAR_JOB_ID: ${JSON.stringify(jobId)} must be 1-200 characters of letters, digits and ._:/-`);
  }
  const secret = worldSize > 1 ? readSecret(env, readText) : undefined;
  if (worldSize > 1 && secret === undefined) {
    throw new UsageError(
      `CIFAR_PEER_SECRET or CIFAR_PEER_SECRET_FILE: a per-job peer secret is required when WORLD_SIZE is ${worldSize}`,
    );
  }
  const rendezvousTimeoutMs = secondsFrom(
    '--rendezvous-timeout/CIFAR_RENDEZVOUS_TIMEOUT',
    flags.rendezvousTimeoutS ?? env.CIFAR_RENDEZVOUS_TIMEOUT,
    DEFAULT_RENDEZVOUS_TIMEOUT_S,
  );
  const peerTimeoutMs = secondsFrom('--peer-timeout/CIFAR_PEER_TIMEOUT', flags.peerTimeoutS ?? env.CIFAR_PEER_TIMEOUT, DEFAULT_PEER_TIMEOUT_S);
  const chunkBytes =
    intFrom('CIFAR_ALLREDUCE_CHUNK_BYTES', flags.chunkBytes ?? env.CIFAR_ALLREDUCE_CHUNK_BYTES, 4096, 64 * 1024 * 1024) ??
    DEFAULT_CHUNK_BYTES;
  if (chunkBytes % 4 !== 0) {
    throw new UsageError(`CIFAR_ALLREDUCE_CHUNK_BYTES: ${chunkBytes} is not a multiple of 4 (the size of a float32)`);
  }
  return {
    worldSize, rank, masterAddr, masterPort, listenHost, listenPort, jobId, secret,
    rendezvousTimeoutMs, peerTimeoutMs, chunkBytes,
  };
}

/** A one-line description for logs, without the secret. */
export function describeDistConfig(cfg: DistConfig): string {
  if (cfg.worldSize === 1) return 'single process (WORLD_SIZE=1), no peers';
  return (
    `rank ${cfg.rank}/${cfg.worldSize} job ${cfg.jobId} master ${cfg.masterAddr}:${cfg.masterPort} ` +
    `listen ${cfg.listenHost ?? '(address used to reach the master)'}:${cfg.listenPort || 'ephemeral'} ` +
    `rendezvous timeout ${cfg.rendezvousTimeoutMs / 1000}s peer timeout ${cfg.peerTimeoutMs / 1000}s`
  );
}
