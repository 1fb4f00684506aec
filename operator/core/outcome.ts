/**
 * The job's state machine: from the previous status and the observed gang, what happens
 * now. Checks run in priority order; the first that applies wins:
 *   being deleted > already finished (Succeeded/Failed are final) > invalid spec >
 *   suspended > rank 0 succeeded > a replica failed > a replica vanished from a running
 *   gang > spec edited > deadline passed > keep converging.
 * Success is judged by rank 0 alone, as PyTorchJob judges by its master: rank 0 writes
 * the final checkpoint and metrics, and the other ranks may be torn down after it exits.
 *
 * A restart counts against backoffLimit only when the gang had run together in that
 * attempt. A rank that timed out its rendezvous (exit 75) while a peer was still being
 * scheduled or pulling its image did not fail at training: the gang is started afresh
 * without spending the budget, and the job's PodsReady condition says what it waits for.
 */
import type { Pod } from '../api/k8s-types.js';
import type { DefaultedSpec } from '../api/defaults.js';
import type { CifarTrainingJob } from '../api/types.js';
import { classifyPodFailure, type FailureKind } from './exit-codes.js';
import type { GangObservation } from './gang-observation.js';
import { describeIssues, validateJobSpec } from './job-validation.js';
import type { OperatorDefaults } from './operator-defaults.js';
import { podBlocker } from './pod-readiness.js';
import { annotateTrainerFlags } from './trainer-args.js';
import { Reason } from './reasons.js';

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
  /** counted: spends backoffLimit (restartNumber is then the new status.restarts); attempt: the new gang attempt. */
  | { kind: 'restart'; failure: RankFailure; counted: boolean; restartNumber: number; attempt: number; uncountedBecause?: string }
  | { kind: 'specChanged'; attempt: number }
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

/** The gang attempt in effect: status.attempt, or status.restarts as operators before it wrote. */
export function currentAttempt(job: CifarTrainingJob): number {
  return job.status?.attempt ?? job.status?.restarts ?? 0;
}

function trainerTimes(pod: Pod): { started?: number; finished?: number } {
  const status = pod.status?.containerStatuses?.find((c) => c.name === 'trainer');
  const terminated = status?.state?.terminated ?? status?.lastState?.terminated;
  const startedText = status?.state?.running?.startedAt ?? terminated?.startedAt;
  const started = startedText === undefined ? undefined : Date.parse(startedText);
  const finished = terminated?.finishedAt === undefined ? undefined : Date.parse(terminated.finishedAt);
  return {
    ...(started === undefined || Number.isNaN(started) ? {} : { started }),
    ...(finished === undefined || Number.isNaN(finished) ? {} : { finished }),
  };
}

/**
 * Whether every rank's trainer ran at the same time in this attempt: the job was seen
 * Running, or every rank started and none had finished before the last one started
 * (container timestamps). When not, says which rank kept the gang from forming.
 */
export function gangRanTogether(gang: GangObservation, replicas: number, previousPhase: string | undefined): { ran: true } | { ran: false; why: string } {
  if (previousPhase === 'Running') return { ran: true };
  let lastStart = Number.NEGATIVE_INFINITY;
  let firstEnd: { at: number; replica: number } | undefined;
  for (let replica = 0; replica < replicas; replica++) {
    const pod = gang.current.get(replica);
    if (pod === undefined) return { ran: false, why: `worker-${replica} had no pod` };
    const times = trainerTimes(pod);
    const started = pod.status?.phase === 'Running' || pod.status?.phase === 'Succeeded' || times.started !== undefined;
    if (!started) {
      const blocker = podBlocker(pod);
      return { ran: false, why: `worker-${replica} never started${blocker === undefined ? '' : ` (${blocker.reason}: ${blocker.detail})`}` };
    }
    if (times.started !== undefined) lastStart = Math.max(lastStart, times.started);
    if (times.finished !== undefined && (firstEnd === undefined || times.finished < firstEnd.at)) firstEnd = { at: times.finished, replica };
  }
  // Timestamps have one-second resolution: only a strict gap proves the ranks never overlapped.
  if (firstEnd !== undefined && firstEnd.at < lastStart) return { ran: false, why: `worker-${firstEnd.replica} had exited before the last rank started` };
  return { ran: true };
}

function deadlinePassed(job: CifarTrainingJob, spec: DefaultedSpec, now: Date): boolean {
  const limit = spec.runPolicy.activeDeadlineSeconds;
  const start = job.status?.startTime;
  return limit !== undefined && start !== undefined && now.getTime() - Date.parse(start) >= limit * 1000;
}

export function decideOutcome(job: CifarTrainingJob, spec: DefaultedSpec, gang: GangObservation, now: Date, defaults: OperatorDefaults = {}): Outcome {
  const previous = job.status ?? {};
  if (job.metadata.deletionTimestamp !== undefined) return { kind: 'deleting' };
  if (previous.phase === 'Succeeded' || previous.phase === 'Failed') return { kind: 'finished' };
  const issues = validateJobSpec(spec, defaults);
  if (issues.length > 0) return { kind: 'failed', reason: Reason.InvalidSpec, message: `the spec cannot run: ${describeIssues(issues)}` };
  if (spec.runPolicy.suspend) return { kind: 'suspended' };
  if (gang.current.get(0)?.status?.phase === 'Succeeded') return { kind: 'succeeded' };

  let failure = firstFailure(gang.current);
  if (failure === undefined && previous.phase === 'Running' && gang.outdated.length === 0) {
    // Every rank was running; one without a live pod was deleted, preempted or lost with its node.
    const rank = lostRank(gang, spec.replicas);
    if (rank !== undefined) failure = { rank, kind: 'retryable', reason: Reason.ReplicaLost, detail: 'was deleted or lost with its node' };
  }
  if (failure !== undefined) {
    if (failure.kind === 'permanent') return { kind: 'failed', reason: failure.reason, message: describeFailure(failure), failure };
    const restarts = previous.restarts ?? 0;
    const attempt = currentAttempt(job) + 1;
    const together = gangRanTogether(gang, spec.replicas, previous.phase);
    if (!together.ran) return { kind: 'restart', failure, counted: false, restartNumber: restarts, attempt, uncountedBecause: together.why };
    const limit = spec.runPolicy.backoffLimit;
    if (restarts >= limit) {
      const message = `${describeFailure(failure)}; backoffLimit ${limit} reached after ${restarts} restart${restarts === 1 ? '' : 's'}`;
      return { kind: 'failed', reason: Reason.BackoffLimitExceeded, message, failure };
    }
    return { kind: 'restart', failure, counted: true, restartNumber: restarts + 1, attempt };
  }
  if (gang.outdated.length > 0) return { kind: 'specChanged', attempt: currentAttempt(job) + 1 };
  if (deadlinePassed(job, spec, now)) {
    const seconds = spec.runPolicy.activeDeadlineSeconds ?? 0;
    return { kind: 'failed', reason: Reason.DeadlineExceeded, message: `the job ran longer than activeDeadlineSeconds (${seconds}s) since ${previous.startTime}; its pods were stopped` };
  }
  return { kind: 'active' };
}
