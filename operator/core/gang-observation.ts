/**
 * Sorts the pods the controller listed for a job into what the planner reasons about:
 * the live pod of each rank for the current attempt and spec, pods that must go, and
 * pods already going. Pods another object controls are never touched, but their names
 * still block ours.
 */
import type { Pod } from '../api/k8s-types.js';
import { ANNOTATION_SPEC_HASH, LABEL_ATTEMPT, LABEL_REPLICA_RANK, intLabel } from './labels.js';
import { workerPodName } from './names.js';
import { isControlledBy, type JobIdentity } from './owner-ref.js';

export interface GangObservation {
  /** The live pod of each rank built for this attempt and this spec. */
  readonly current: ReadonlyMap<number, Pod>;
  /** Owned live pods of this attempt, whatever their spec hash: what the replica counts describe. */
  readonly attemptPods: readonly Pod[];
  /** Owned live pods that must be deleted: older attempt, rank out of range, or unrecognisable. */
  readonly stale: readonly Pod[];
  /** Owned live pods of this attempt built from an older spec (the spec was edited). */
  readonly outdated: readonly Pod[];
  /** Owned pods with a deletionTimestamp. */
  readonly terminating: readonly Pod[];
  /** Every listed pod's name: a new pod cannot take a name until its holder is gone. */
  readonly takenNames: ReadonlySet<string>;
  /** Listed pods this job does not control that hold one of our pod names. */
  readonly foreign: readonly Pod[];
}

export function observeGang(job: JobIdentity, replicas: number, attempt: number, specHash: string, pods: readonly Pod[]): GangObservation {
  const current = new Map<number, Pod>();
  const attemptPods: Pod[] = [];
  const stale: Pod[] = [];
  const outdated: Pod[] = [];
  const terminating: Pod[] = [];
  const foreign: Pod[] = [];
  const ourNames = new Set(Array.from({ length: replicas }, (_, rank) => workerPodName(job.name, rank, attempt)));
  for (const pod of pods) {
    if (!isControlledBy(pod.metadata, job)) {
      if (ourNames.has(pod.metadata.name)) foreign.push(pod);
      continue;
    }
    if (pod.metadata.deletionTimestamp !== undefined) {
      terminating.push(pod);
      continue;
    }
    const rank = intLabel(pod.metadata.labels, LABEL_REPLICA_RANK);
    const podAttempt = intLabel(pod.metadata.labels, LABEL_ATTEMPT);
    // Operators before attempt-suffixed names called every attempt's pods <job>-worker-<rank>.
    const recognised =
      rank !== undefined && podAttempt !== undefined && rank < replicas &&
      (pod.metadata.name === workerPodName(job.name, rank, podAttempt) || pod.metadata.name === workerPodName(job.name, rank, 0));
    if (!recognised || podAttempt !== attempt || current.has(rank)) {
      stale.push(pod);
      continue;
    }
    attemptPods.push(pod);
    if (pod.metadata.annotations?.[ANNOTATION_SPEC_HASH] === specHash) current.set(rank, pod);
    else outdated.push(pod);
  }
  return { current, attemptPods, stale, outdated, terminating, takenNames: new Set(pods.map((p) => p.metadata.name)), foreign };
}

/** Started: the trainer process ran (Running) or finished well (Succeeded). */
export function hasStarted(pod: Pod): boolean {
  return pod.status?.phase === 'Running' || pod.status?.phase === 'Succeeded';
}

export function isReady(pod: Pod): boolean {
  return pod.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;
}
