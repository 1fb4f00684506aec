/**
 * What a new gang attempt waits for, and what it does not.
 *
 * Its pods have names of their own (names.ts), so it never waits for old pods to give their
 * names back. It waits for one old pod only: rank 0 of an earlier attempt while that trainer
 * may still be running, because rank 0 alone writes checkpoints, and a new gang reading
 * them while the old rank 0 still writes one (say the checkpoint it takes on SIGTERM) could
 * have its ranks resume from different places. Old rank 0 has usually exited already
 * (its peers died, so it lost them) or exits within a step of SIGTERM.
 *
 * A pod still there after its deletion deadline (deletionTimestamp, which the API server
 * sets to the delete time plus the grace period) plus a margin for the kubelet to confirm is
 * on a node that is gone or not reporting: it is force-deleted (grace 0) and no longer
 * waited for. Its trainer, if it still runs behind a partition, cannot join the new gang:
 * the peer handshake binds the attempt.
 */
import type { Pod } from '../api/k8s-types.js';
import type { GangObservation } from './gang-observation.js';
import { LABEL_ATTEMPT, LABEL_REPLICA_RANK, intLabel } from './labels.js';

/** Time after the deletion deadline for the kubelet to kill the container and report it. */
export const KUBELET_CONFIRM_MARGIN_MS = 5_000;

export function isTerminated(pod: Pod): boolean {
  return pod.status?.phase === 'Succeeded' || pod.status?.phase === 'Failed';
}

/** The moment a terminating pod should have been gone by, if it is terminating. */
function deadlineMs(pod: Pod): number | undefined {
  const at = pod.metadata.deletionTimestamp;
  return at === undefined ? undefined : Date.parse(at) + KUBELET_CONFIRM_MARGIN_MS;
}

/** Terminating, past its deadline, and never reported as ended: its node is not answering. */
export function presumedLost(pod: Pod, now: Date): boolean {
  const deadline = deadlineMs(pod);
  return deadline !== undefined && !isTerminated(pod) && now.getTime() >= deadline;
}

export interface OldAttemptPlan {
  /** Pods to delete with grace period 0. */
  forceDelete: Pod[];
  /** The earlier attempt's rank 0, still possibly writing checkpoints; the new pods wait for it. */
  checkpointWriter?: Pod;
  /** When to look again if nothing else happens: the writer's deletion deadline. */
  recheckAt?: number;
}

export function planOldAttempts(gang: GangObservation, attempt: number, now: Date): OldAttemptPlan {
  const owned = [...gang.stale, ...gang.terminating];
  const forceDelete = gang.terminating.filter((pod) => presumedLost(pod, now));
  const writer = owned.find((pod) => {
    const labels = pod.metadata.labels;
    const fromEarlier = intLabel(labels, LABEL_ATTEMPT) !== attempt;
    return fromEarlier && intLabel(labels, LABEL_REPLICA_RANK) === 0 && !isTerminated(pod) && !presumedLost(pod, now);
  });
  if (writer === undefined) return { forceDelete };
  const deadline = deadlineMs(writer);
  return { forceDelete, checkpointWriter: writer, ...(deadline === undefined ? {} : { recheckAt: deadline }) };
}
