/**
 * The job's state machine: from the previous status and the observed gang, what happens
 * now. Checks run in priority order; the first that applies wins:
 *   being deleted > already finished (Succeeded/Failed are final) > suspended >
 *   rank 0 succeeded > a replica failed > a replica vanished from a running gang >
 *   spec edited > deadline passed > keep converging.
 * Success is judged by rank 0 alone, as PyTorchJob judges by its master: rank 0 writes
 * the final checkpoint and metrics, and the other ranks may be torn down after it exits.
 */
import type { Pod } from '../api/k8s-types.js';
import type { DefaultedSpec } from '../api/defaults.js';
import type { CifarTrainingJob } from '../api/types.js';
import { classifyPodFailure, type FailureKind } from './exit-codes.js';
import type { GangObservation } from './gang-observation.js';
import { annotateTrainerFlags } from './trainer-args.js';

/** A failed (or vanished) rank, described for status and events. */
export interface RankFailure {
  rank: number;
  kind: FailureKind;
  reason: string;
  detail: string;
  message?: string;
  exitCode?: number;
}

export type Outcome =
  | { kind: 'deleting' }
  | { kind: 'finished' }
  | { kind: 'suspended' }
  | { kind: 'succeeded' }
  /** reason: BackoffLimitExceeded, DeadlineExceeded, or the permanent failure's reason (TrainerFailed, OOMKilled, ...). */
  | { kind: 'failed'; reason: string; message: string; failure?: RankFailure }
  | { kind: 'restart'; failure: RankFailure; restartNumber: number }
  | { kind: 'specChanged' }
  | { kind: 'active' };

/** "worker-1 exited with code 75 (...)", plus the trainer's own words when it left any. */
export function describeFailure(failure: RankFailure): string {
  const head = `worker-${failure.rank} ${failure.detail}`;
  return failure.message === undefined ? head : `${head}: ${annotateTrainerFlags(failure.message)}`;
}

function firstFailure(current: ReadonlyMap<number, Pod>): RankFailure | undefined {
  let retryable: RankFailure | undefined;
  for (const rank of [...current.keys()].sort((a, b) => a - b)) {
    const failure = classifyPodFailure(current.get(rank) as Pod);
    if (failure.kind === 'none') continue;
    const found: RankFailure = { rank, ...failure };
    // A permanent failure is the root cause; the others usually exited 75 because it died.
    if (failure.kind === 'permanent') return found;
    retryable ??= found;
  }
  return retryable;
}

function lostRank(gang: GangObservation, replicas: number): number | undefined {
  for (let rank = 0; rank < replicas; rank++) if (!gang.current.has(rank)) return rank;
  return undefined;
}

function deadlinePassed(job: CifarTrainingJob, spec: DefaultedSpec, now: Date): boolean {
  const limit = spec.runPolicy.activeDeadlineSeconds;
  const start = job.status?.startTime;
  return limit !== undefined && start !== undefined && now.getTime() - Date.parse(start) >= limit * 1000;
}

export function decideOutcome(job: CifarTrainingJob, spec: DefaultedSpec, gang: GangObservation, now: Date): Outcome {
  const previous = job.status ?? {};
  if (job.metadata.deletionTimestamp !== undefined) return { kind: 'deleting' };
  if (previous.phase === 'Succeeded' || previous.phase === 'Failed') return { kind: 'finished' };
  if (spec.runPolicy.suspend) return { kind: 'suspended' };
  if (gang.current.get(0)?.status?.phase === 'Succeeded') return { kind: 'succeeded' };

  let failure = firstFailure(gang.current);
  if (failure === undefined && previous.phase === 'Running' && gang.outdated.length === 0) {
    // Every rank was running; one without a live pod was deleted, preempted or lost with its node.
    const rank = lostRank(gang, spec.replicas);
    if (rank !== undefined) failure = { rank, kind: 'retryable', reason: 'ReplicaLost', detail: 'was deleted or lost with its node' };
  }
  if (failure !== undefined) {
    if (failure.kind === 'permanent') return { kind: 'failed', reason: failure.reason, message: describeFailure(failure), failure };
    const restarts = previous.restarts ?? 0;
    const limit = spec.runPolicy.backoffLimit;
    if (restarts >= limit) {
      const message = `${describeFailure(failure)}; backoffLimit ${limit} reached after ${restarts} restart${restarts === 1 ? '' : 's'}`;
      return { kind: 'failed', reason: 'BackoffLimitExceeded', message, failure };
    }
    return { kind: 'restart', failure, restartNumber: restarts + 1 };
  }
  if (gang.outdated.length > 0) return { kind: 'specChanged' };
  if (deadlinePassed(job, spec, now)) {
    const seconds = spec.runPolicy.activeDeadlineSeconds ?? 0;
    return { kind: 'failed', reason: 'DeadlineExceeded', message: `the job ran longer than activeDeadlineSeconds (${seconds}s) since ${previous.startTime}; its pods were stopped` };
  }
  return { kind: 'active' };
}
