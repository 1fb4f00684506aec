/**
 * THE decision function of the controller. Given the job and what exists, it returns the
 * changes that move the world one step towards the spec, the status to write, events to
 * record and when to look again. It is level-triggered and idempotent: it never relies
 * on having seen an earlier event, and planning again on the result of applying its
 * actions yields no further actions.
 *
 * The controller must write `status` (status subresource) before applying `actions`, so the
 * decision is recorded before its evidence (a failed pod) is deleted, and must apply the
 * actions marked `prerequisite` (the Service, the Secret, the PodGroup) before the others:
 * a pod created before its gang scheduler's PodGroup would be scheduled without it.
 */
import type { Pod, PodGroup, Secret, Service } from '../api/k8s-types.js';
import { withDefaults, type DefaultedSpec } from '../api/defaults.js';
import type { CifarTrainingJob, CifarTrainingJobStatus, TrainingProgress } from '../api/types.js';
import { podsToClean } from './clean-pod-policy.js';
import { findCondition } from './conditions.js';
import { desiredWorkerPod } from './desired-pod.js';
import { desiredPeerKeySecret } from './desired-secret.js';
import { desiredWorkersService } from './desired-service.js';
import { desiredPodGroup, podGroupApiVersion } from './gang-scheduling.js';
import { observeGang, type GangObservation } from './gang-observation.js';
import { podGroupName, workerPodName } from './names.js';
import { planOldAttempts } from './old-attempts.js';
import type { OperatorDefaults } from './operator-defaults.js';
import { currentAttempt, decideOutcome, describeFailure, type Outcome } from './outcome.js';
import { PROBLEM_REASONS, reasonFamily } from './pod-readiness.js';
import { isControlledBy, jobIdentity, type JobIdentity } from './owner-ref.js';
import { podSpecHash } from './spec-hash.js';
import { computeStatus } from './status.js';
import { Reason } from './reasons.js';

export type Action =
  | { kind: 'CreatePod'; pod: Pod }
  /** uid: delete only that pod (a precondition), never a newer one that took the name; force: grace period 0. */
  | { kind: 'DeletePod'; name: string; uid?: string; reason: string; force?: boolean }
  | { kind: 'CreatePodGroup'; podGroup: PodGroup }
  | { kind: 'DeletePodGroup'; apiVersion: PodGroup['apiVersion']; name: string; reason: string }
  | { kind: 'CreateService'; service: Service }
  | { kind: 'DeleteService'; name: string }
  | { kind: 'CreateSecret'; secret: Secret }
  | { kind: 'DeleteSecret'; name: string }
  | { kind: 'DeleteJob'; name: string; reason: string };

export interface JobEvent {
  type: 'Normal' | 'Warning';
  reason: string;
  message: string;
}

export interface ObservedChildren {
  /** Pods carrying the job's selector label. */
  pods: readonly Pod[];
  service?: Service;
  secret?: Secret;
}

export interface PlanInputs {
  /** At least 32 random bytes, used only when the peer-key Secret has to be created. */
  peerKey: Uint8Array;
  /** Rank 0's latest progress report, when the controller has one. */
  progress?: TrainingProgress;
  /** The operator's defaults for the trainer image and ServiceAccount. */
  defaults?: OperatorDefaults;
}

/** Actions that must succeed before the others are applied: what pods depend on. */
export function isPrerequisite(action: Action): boolean {
  return action.kind === 'CreateService' || action.kind === 'CreateSecret' || action.kind === 'CreatePodGroup';
}

export interface ReconcilePlan {
  actions: Action[];
  status: CifarTrainingJobStatus;
  events: JobEvent[];
  requeueAfterSeconds?: number;
}

function deletePod(pod: Pod, reason: string, force = false): Action {
  return { kind: 'DeletePod', name: pod.metadata.name, ...(pod.metadata.uid === undefined ? {} : { uid: pod.metadata.uid }), reason, ...(force ? { force } : {}) };
}

function ensureChildren(id: JobIdentity, spec: DefaultedSpec, observed: ObservedChildren, inputs: PlanInputs): Action[] {
  const actions: Action[] = [];
  if (observed.service === undefined) actions.push({ kind: 'CreateService', service: desiredWorkersService(id, spec) });
  if (observed.secret === undefined) actions.push({ kind: 'CreateSecret', secret: desiredPeerKeySecret(id, inputs.peerKey) });
  return actions;
}

/** Owned live pods of any attempt. */
function liveOwnedPods(gang: GangObservation): Pod[] {
  return [...gang.attemptPods, ...gang.stale];
}

interface Converge {
  actions: Action[];
  /** When a pod being waited for passes its deletion deadline. */
  recheckAt?: number;
}

/**
 * Converge: drop pods of earlier attempts, force-delete pods whose node stopped answering,
 * and create the missing pods of this attempt at once, waiting only for the earlier
 * attempt's rank 0 to stop (old-attempts.ts) and for a name to be free.
 */
function convergeActions(job: CifarTrainingJob, spec: DefaultedSpec, gang: GangObservation, attempt: number, now: Date, defaults: OperatorDefaults): Converge {
  const id = jobIdentity(job);
  const actions: Action[] = gang.stale.map((pod) => deletePod(pod, 'from an earlier gang attempt or outside spec.replicas'));
  const old = planOldAttempts(gang, attempt, now);
  for (const pod of old.forceDelete) actions.push(deletePod(pod, 'past its deletion grace period; its node is not reporting', true));
  if (old.checkpointWriter !== undefined) return { actions, ...(old.recheckAt === undefined ? {} : { recheckAt: old.recheckAt }) };
  const creates: Action[] = [];
  for (let replica = 0; replica < spec.replicas; replica++) {
    if (gang.current.has(replica) || gang.takenNames.has(workerPodName(id.name, replica, attempt))) continue;
    creates.push({ kind: 'CreatePod', pod: desiredWorkerPod(job, replica, attempt, defaults) });
  }
  const podGroup = desiredPodGroup(id, spec, attempt);
  if (creates.length > 0 && podGroup !== undefined) {
    // Created (or found) before the pods that name it; AlreadyExists is fine.
    actions.push({ kind: 'CreatePodGroup', podGroup });
    if (attempt > 0) actions.push({ kind: 'DeletePodGroup', apiVersion: podGroup.apiVersion, name: podGroupName(id.name, attempt - 1), reason: 'the gang moved on to a new attempt' });
  }
  return { actions: [...actions, ...creates] };
}

function finishedActions(id: JobIdentity, spec: DefaultedSpec, status: CifarTrainingJobStatus, gang: GangObservation, observed: ObservedChildren): Action[] {
  const deadlineFailure = findCondition(status.conditions, 'Failed')?.reason === Reason.DeadlineExceeded;
  const policy = spec.runPolicy.cleanPodPolicy;
  const actions: Action[] = podsToClean(policy, liveOwnedPods(gang), deadlineFailure).map((pod) => deletePod(pod, `job finished (cleanPodPolicy ${policy})`));
  if (policy !== 'None' && observed.service !== undefined && isControlledBy(observed.service.metadata, id)) {
    actions.push({ kind: 'DeleteService', name: observed.service.metadata.name });
  }
  // Nothing will use the peer key again; fewer live credentials is better.
  if (observed.secret !== undefined && isControlledBy(observed.secret.metadata, id)) {
    actions.push({ kind: 'DeleteSecret', name: observed.secret.metadata.name });
  }
  return actions;
}

/** One Event when the gang starts waiting on something a person must fix, not one per reconcile. */
function podsReadyEvents(previous: CifarTrainingJobStatus | undefined, next: CifarTrainingJobStatus): JobEvent[] {
  const before = findCondition(previous?.conditions, 'PodsReady');
  const after = findCondition(next.conditions, 'PodsReady');
  if (after === undefined || after.status !== 'False' || !PROBLEM_REASONS.has(after.reason)) return [];
  if (before?.status === 'False' && reasonFamily(before.reason) === reasonFamily(after.reason)) return [];
  return [{ type: 'Warning', reason: after.reason, message: after.message }];
}

function outcomeEvents(outcome: Outcome, previousPhase: string | undefined, nextPhase: string | undefined, status: CifarTrainingJobStatus, spec: DefaultedSpec): JobEvent[] {
  switch (outcome.kind) {
    case 'succeeded':
      return [{ type: 'Normal', reason: 'Succeeded', message: `rank 0 finished ${spec.hyperparameters.epochs} epochs` }];
    case 'failed':
      return [{ type: 'Warning', reason: outcome.reason, message: outcome.message }];
    case 'restart':
      return [{ type: 'Warning', reason: 'Restarting', message: findCondition(status.conditions, 'Restarting')?.message ?? describeFailure(outcome.failure) }];
    case 'specChanged':
      return [{ type: 'Normal', reason: Reason.SpecChanged, message: `the spec was edited; recreating the workers as attempt ${outcome.attempt}` }];
    case 'suspended':
      return previousPhase === 'Suspended' ? [] : [{ type: 'Normal', reason: 'Suspended', message: 'runPolicy.suspend is true; deleting the worker pods' }];
    case 'active': {
      const events: JobEvent[] = [];
      if (previousPhase === 'Suspended') events.push({ type: 'Normal', reason: 'Resumed', message: 'runPolicy.suspend is false; recreating the worker pods' });
      if (nextPhase === 'Running' && previousPhase !== 'Running') events.push({ type: 'Normal', reason: 'Running', message: `all ${spec.replicas} worker(s) are running` });
      return events;
    }
    default:
      return [];
  }
}

function secondsUntil(from: string | undefined, seconds: number | undefined, now: Date): number | undefined {
  if (from === undefined || seconds === undefined) return undefined;
  return (Date.parse(from) + seconds * 1000 - now.getTime()) / 1000;
}

export function planReconcile(job: CifarTrainingJob, observed: ObservedChildren, now: Date, inputs: PlanInputs): ReconcilePlan {
  const id = jobIdentity(job);
  const spec = withDefaults(job.spec);
  const defaults = inputs.defaults ?? {};
  const attempt = currentAttempt(job);
  const gang = observeGang(id, spec.replicas, attempt, podSpecHash(spec), observed.pods);
  const outcome = decideOutcome(job, spec, gang, now, defaults);
  const status = computeStatus({ job, spec, gang, outcome, now, ...(inputs.progress === undefined ? {} : { progress: inputs.progress }) });
  const events = [...outcomeEvents(outcome, job.status?.phase, status.phase, status, spec), ...podsReadyEvents(job.status, status)];
  for (const pod of gang.foreign) {
    events.push({ type: 'Warning', reason: Reason.NameConflict, message: `pod ${pod.metadata.name} exists but is not controlled by this job; delete it so the worker can be created` });
  }

  let actions: Action[] = [];
  let requeueAfterSeconds: number | undefined;
  switch (outcome.kind) {
    case 'deleting':
      break;
    case 'finished':
    case 'succeeded':
    case 'failed': {
      const ttlLeft = secondsUntil(status.completionTime, spec.runPolicy.ttlSecondsAfterFinished, now);
      if (ttlLeft !== undefined && ttlLeft <= 0) {
        actions = [{ kind: 'DeleteJob', name: id.name, reason: `ttlSecondsAfterFinished (${spec.runPolicy.ttlSecondsAfterFinished}s) has passed` }];
      } else {
        actions = finishedActions(id, spec, status, gang, observed);
        requeueAfterSeconds = ttlLeft === undefined ? undefined : Math.ceil(ttlLeft);
      }
      // A finished gang frees its place in the gang scheduler's queue (once, when it finishes).
      const groupVersion = podGroupApiVersion(spec);
      if (groupVersion !== undefined && outcome.kind !== 'finished') {
        actions.push({ kind: 'DeletePodGroup', apiVersion: groupVersion, name: podGroupName(id.name, attempt), reason: 'the job has finished' });
      }
      break;
    }
    case 'suspended':
    case 'restart':
    case 'specChanged': {
      const reason = outcome.kind === 'suspended' ? 'job suspended' : outcome.kind === 'restart' ? 'gang restart' : 'spec changed';
      actions = [...ensureChildren(id, spec, observed, inputs), ...liveOwnedPods(gang).map((pod) => deletePod(pod, reason))];
      break;
    }
    case 'active': {
      const converge = convergeActions(job, spec, gang, attempt, now, defaults);
      actions = [...ensureChildren(id, spec, observed, inputs), ...converge.actions];
      const deadlineLeft = secondsUntil(status.startTime, spec.runPolicy.activeDeadlineSeconds, now);
      const recheckLeft = converge.recheckAt === undefined ? undefined : (converge.recheckAt - now.getTime()) / 1000;
      const waits = [deadlineLeft, recheckLeft].filter((s): s is number => s !== undefined).map((s) => Math.max(1, Math.ceil(s)));
      if (waits.length > 0) requeueAfterSeconds = Math.min(...waits);
      break;
    }
  }
  return { actions, status, events, ...(requeueAfterSeconds === undefined ? {} : { requeueAfterSeconds }) };
}
