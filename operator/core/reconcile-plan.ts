/**
 * THE decision function of the controller. Given the job and what exists, it returns the
 * changes that move the world one step towards the spec, the status to write, events to
 * record and when to look again. It is level-triggered and idempotent: it never relies
 * on having seen an earlier event, and planning again on the result of applying its
 * actions yields no further actions.
 *
 * The controller must write `status` (status subresource) before applying `actions`, so the
 * decision is recorded before its evidence (a failed pod) is deleted.
 */
import type { Pod, Secret, Service } from '../api/k8s-types.js';
import { withDefaults, type DefaultedSpec } from '../api/defaults.js';
import type { CifarTrainingJob, CifarTrainingJobStatus, TrainingProgress } from '../api/types.js';
import { podsToClean } from './clean-pod-policy.js';
import { findCondition } from './conditions.js';
import { desiredWorkerPod } from './desired-pod.js';
import { desiredPeerKeySecret } from './desired-secret.js';
import { desiredWorkersService } from './desired-service.js';
import { observeGang, type GangObservation } from './gang-observation.js';
import { workerPodName } from './names.js';
import { decideOutcome, describeFailure, type Outcome } from './outcome.js';
import { isControlledBy, jobIdentity, type JobIdentity } from './owner-ref.js';
import { podSpecHash } from './spec-hash.js';
import { computeStatus } from './status.js';

export type Action =
  | { kind: 'CreatePod'; pod: Pod }
  /** uid: delete only that pod (a precondition), never a newer one that took the name. */
  | { kind: 'DeletePod'; name: string; uid?: string; reason: string }
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
}

export interface ReconcilePlan {
  actions: Action[];
  status: CifarTrainingJobStatus;
  events: JobEvent[];
  requeueAfterSeconds?: number;
}

function deletePod(pod: Pod, reason: string): Action {
  return { kind: 'DeletePod', name: pod.metadata.name, ...(pod.metadata.uid === undefined ? {} : { uid: pod.metadata.uid }), reason };
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

/** Converge: drop pods that must go, then, once nothing is still going away, create the missing ranks together. */
function convergeActions(job: CifarTrainingJob, spec: DefaultedSpec, gang: GangObservation, attempt: number): Action[] {
  const actions: Action[] = gang.stale.map((pod) => deletePod(pod, 'from an earlier restart attempt or outside spec.replicas'));
  if (actions.length > 0 || gang.terminating.length > 0) return actions;
  for (let rank = 0; rank < spec.replicas; rank++) {
    if (gang.current.has(rank) || gang.takenNames.has(workerPodName(job.metadata.name, rank))) continue;
    actions.push({ kind: 'CreatePod', pod: desiredWorkerPod(job, rank, attempt) });
  }
  return actions;
}

function finishedActions(id: JobIdentity, spec: DefaultedSpec, status: CifarTrainingJobStatus, gang: GangObservation, observed: ObservedChildren): Action[] {
  const deadlineFailure = findCondition(status.conditions, 'Failed')?.reason === 'DeadlineExceeded';
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

function outcomeEvents(outcome: Outcome, previousPhase: string | undefined, nextPhase: string | undefined, status: CifarTrainingJobStatus, spec: DefaultedSpec): JobEvent[] {
  switch (outcome.kind) {
    case 'succeeded':
      return [{ type: 'Normal', reason: 'Succeeded', message: `rank 0 finished ${spec.hyperparameters.epochs} epochs` }];
    case 'failed':
      return [{ type: 'Warning', reason: outcome.reason, message: outcome.message }];
    case 'restart':
      return [{ type: 'Warning', reason: 'Restarting', message: findCondition(status.conditions, 'Restarting')?.message ?? describeFailure(outcome.failure) }];
    case 'specChanged':
      return [{ type: 'Normal', reason: 'SpecChanged', message: 'the spec was edited; recreating the workers' }];
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
  const attempt = job.status?.restarts ?? 0;
  const gang = observeGang(id, spec.replicas, attempt, podSpecHash(spec), observed.pods);
  const outcome = decideOutcome(job, spec, gang, now);
  const status = computeStatus({ job, spec, gang, outcome, now, ...(inputs.progress === undefined ? {} : { progress: inputs.progress }) });
  const events = outcomeEvents(outcome, job.status?.phase, status.phase, status, spec);
  for (const pod of gang.foreign) {
    events.push({ type: 'Warning', reason: 'NameConflict', message: `pod ${pod.metadata.name} exists but is not controlled by this job; delete it so the worker can be created` });
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
      actions = [...ensureChildren(id, spec, observed, inputs), ...convergeActions(job, spec, gang, attempt)];
      const deadlineLeft = secondsUntil(status.startTime, spec.runPolicy.activeDeadlineSeconds, now);
      if (deadlineLeft !== undefined) requeueAfterSeconds = Math.max(1, Math.ceil(deadlineLeft));
      break;
    }
  }
  return { actions, status, events, ...(requeueAfterSeconds === undefined ? {} : { requeueAfterSeconds }) };
}
