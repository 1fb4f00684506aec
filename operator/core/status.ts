/**
 * The next status of a job. phase is decided here from the outcome and the pods, never
 * read back from the newest condition, and Succeeded/Failed are final: once a job has
 * finished, no later reconcile turns it back into Running.
 */
import type { Condition } from '../api/k8s-types.js';
import type { DefaultedSpec } from '../api/defaults.js';
import type { CifarTrainingJob, CifarTrainingJobStatus, FailureRecord, JobPhase, ReplicaStatuses, TrainingProgress } from '../api/types.js';
import { findCondition, setCondition, updateConditionIfPresent, type ConditionUpdate } from './conditions.js';
import { hasStarted, isReady, type GangObservation } from './gang-observation.js';
import { currentAttempt, describeFailure, type Outcome, type RankFailure } from './outcome.js';
import { whyNotRunning } from './pod-readiness.js';
import { Reason } from './reasons.js';

export interface StatusInputs {
  job: CifarTrainingJob;
  spec: DefaultedSpec;
  gang: GangObservation;
  outcome: Outcome;
  now: Date;
  /** Rank 0's latest figures, when the controller could fetch them. */
  progress?: TrainingProgress;
}

function countReplicas(gang: GangObservation): Required<ReplicaStatuses> {
  const counts = { active: 0, ready: 0, succeeded: 0, failed: 0 };
  for (const pod of gang.attemptPods) {
    const phase = pod.status?.phase;
    if (phase === 'Succeeded') counts.succeeded++;
    else if (phase === 'Failed') counts.failed++;
    else counts.active++;
    if (isReady(pod)) counts.ready++;
  }
  return counts;
}

/** Phase while converging: how far the current attempt's pods have got. */
function activePhase(spec: DefaultedSpec, gang: GangObservation, previous: JobPhase | undefined): JobPhase {
  const all = [...Array(spec.replicas).keys()].map((rank) => gang.current.get(rank));
  if (all.every((pod) => pod !== undefined && hasStarted(pod))) return 'Running';
  if (previous === 'Restarting') return 'Restarting';
  return all.every((pod) => pod !== undefined) ? 'Created' : 'Pending';
}

export function phaseFor(inputs: StatusInputs): JobPhase {
  const previous = inputs.job.status?.phase;
  switch (inputs.outcome.kind) {
    case 'deleting':
    case 'finished':
      return previous ?? 'Pending';
    case 'suspended':
      return 'Suspended';
    case 'succeeded':
      return 'Succeeded';
    case 'failed':
      return 'Failed';
    case 'restart':
    case 'specChanged':
      return 'Restarting';
    case 'active':
      return activePhase(inputs.spec, inputs.gang, previous);
  }
}

function failureRecord(failure: RankFailure | undefined): FailureRecord | undefined {
  if (failure === undefined) return undefined;
  const record: FailureRecord = { reason: failure.reason, message: describeFailure(failure), rank: failure.rank };
  if (failure.exitCode !== undefined) record.exitCode = failure.exitCode;
  return record;
}

function restartingMessage(outcome: Outcome, spec: DefaultedSpec): ConditionUpdate | undefined {
  if (outcome.kind === 'restart') {
    const where = spec.checkpoint.uri === undefined ? 'from the beginning (no checkpoint.uri)' : 'from the last checkpoint';
    const budget = outcome.counted
      ? `restart ${outcome.restartNumber} of ${spec.runPolicy.backoffLimit}`
      : `attempt ${outcome.attempt}; not counted against backoffLimit (${outcome.restartNumber} of ${spec.runPolicy.backoffLimit} used) because the gang never ran together: ${outcome.uncountedBecause ?? 'a rank never started'}`;
    const reason = outcome.failure.reason === Reason.ReplicaLost ? Reason.ReplicaLost : outcome.counted ? Reason.ReplicaFailed : Reason.GangNotFormed;
    return { type: 'Restarting', status: 'True', reason, message: `${describeFailure(outcome.failure)}; restarting the gang ${where} (${budget})` };
  }
  if (outcome.kind === 'specChanged') {
    return { type: 'Restarting', status: 'True', reason: Reason.SpecChanged, message: `the spec was edited; recreating the workers from the last checkpoint as attempt ${outcome.attempt} (not counted against backoffLimit)` };
  }
  return undefined;
}

/**
 * PodsReady: True once every pod of the current attempt runs; otherwise False with why,
 * from the pods (Unschedulable, ImagePullBackOff, ...). A FailedCreate recorded after a
 * refused create stays until every pod exists: the pods' own state cannot explain a pod
 * that was never created.
 */
function podsReadyCondition(inputs: StatusInputs, phase: JobPhase): ConditionUpdate {
  const { job, spec, gang, outcome } = inputs;
  const attempt = nextAttempt(job, outcome);
  if (phase === 'Succeeded' || phase === 'Failed') return { type: 'PodsReady', status: 'False', reason: Reason.JobFinished, message: 'the job has finished; no worker pods are needed' };
  if (phase === 'Suspended') return { type: 'PodsReady', status: 'False', reason: Reason.JobSuspended, message: 'runPolicy.suspend is true; no worker pods run' };
  if (outcome.kind === 'restart' || outcome.kind === 'specChanged') {
    return { type: 'PodsReady', status: 'False', reason: Reason.Restarting, message: `replacing the gang's pods with attempt ${attempt}` };
  }
  const previous = findCondition(job.status?.conditions, 'PodsReady');
  const allExist = [...Array(spec.replicas).keys()].every((r) => gang.current.has(r));
  if (previous?.reason === Reason.FailedCreate && previous.status === 'False' && !allExist) {
    return { type: 'PodsReady', status: 'False', reason: previous.reason, message: previous.message };
  }
  const why = whyNotRunning(job.metadata.name, spec.replicas, attempt, gang);
  if (why === undefined) return { type: 'PodsReady', status: 'True', reason: Reason.AllRunning, message: `all ${spec.replicas} worker pod(s) of attempt ${attempt} are running` };
  return { type: 'PodsReady', status: 'False', reason: why.reason, message: why.message };
}

function nextAttempt(job: CifarTrainingJob, outcome: Outcome): number {
  return outcome.kind === 'restart' || outcome.kind === 'specChanged' ? outcome.attempt : currentAttempt(job);
}

/** Conditions for the new phase; each is added when it first matters and then kept up to date. */
function nextConditions(inputs: StatusInputs, phase: JobPhase): Condition[] {
  const { job, spec, outcome, now } = inputs;
  const generation = job.metadata.generation;
  let conditions: Condition[] = [...(job.status?.conditions ?? [])];
  if (outcome.kind === 'deleting' || outcome.kind === 'finished') return conditions;
  const set = (update: ConditionUpdate): void => {
    conditions = setCondition(conditions, update, now, generation);
  };
  const setIfPresent = (update: ConditionUpdate): void => {
    conditions = updateConditionIfPresent(conditions, update, now, generation);
  };

  set({ type: 'Created', status: 'True', reason: Reason.JobCreated, message: `the operator accepted the job and manages its ${spec.replicas} worker pod(s)` });
  set(podsReadyCondition(inputs, phase));

  const running = phase === 'Running';
  const notRunning: Record<Exclude<JobPhase, 'Running'>, [string, string]> = {
    Pending: [Reason.PodsPending, 'waiting for all worker pods to be created'],
    Created: [Reason.PodsStarting, 'waiting for all worker pods to start'],
    Restarting: [Reason.JobRestarting, 'the gang is restarting'],
    Succeeded: [Reason.JobSucceeded, 'the job has finished'],
    Failed: [Reason.JobFailed, 'the job has failed'],
    Suspended: [Reason.JobSuspended, 'the job is suspended'],
  };
  if (running) {
    set({ type: 'Running', status: 'True', reason: Reason.AllReplicasRunning, message: `all ${spec.replicas} worker(s) are running (attempt ${currentAttempt(job)})` });
  } else {
    const [reason, message] = notRunning[phase];
    setIfPresent({ type: 'Running', status: 'False', reason, message });
  }

  const restarting = restartingMessage(outcome, spec);
  if (restarting !== undefined) set(restarting);
  else if (phase !== 'Restarting') setIfPresent({ type: 'Restarting', status: 'False', reason: Reason.GangRecovered, message: 'no restart in progress' });

  if (phase === 'Suspended') set({ type: 'Suspended', status: 'True', reason: Reason.JobSuspended, message: 'runPolicy.suspend is true; the worker pods were deleted' });
  else setIfPresent({ type: 'Suspended', status: 'False', reason: Reason.JobResumed, message: 'runPolicy.suspend is false; the job resumes from the last checkpoint' });

  if (outcome.kind === 'succeeded') {
    set({ type: 'Succeeded', status: 'True', reason: Reason.JobSucceeded, message: `worker-0 (rank 0) finished training (${spec.hyperparameters.epochs} epochs)` });
  }
  if (outcome.kind === 'failed') set({ type: 'Failed', status: 'True', reason: outcome.reason, message: outcome.message });
  return conditions;
}

function nextReplicaStatuses(inputs: StatusInputs): ReplicaStatuses {
  const counts = countReplicas(inputs.gang);
  if (inputs.outcome.kind !== 'finished') return counts;
  // Clean-up deletes pods after the end; the record of how they ended should not vanish with them.
  const before = inputs.job.status?.replicaStatuses ?? {};
  return { ...counts, succeeded: Math.max(counts.succeeded, before.succeeded ?? 0), failed: Math.max(counts.failed, before.failed ?? 0) };
}

export function computeStatus(inputs: StatusInputs): CifarTrainingJobStatus {
  const { job, outcome, now } = inputs;
  const previous = job.status ?? {};
  if (outcome.kind === 'deleting') return previous;
  const phase = phaseFor(inputs);
  const status: CifarTrainingJobStatus = {
    ...previous,
    phase,
    conditions: nextConditions(inputs, phase),
    replicaStatuses: nextReplicaStatuses(inputs),
    restarts: outcome.kind === 'restart' ? outcome.restartNumber : (previous.restarts ?? 0),
    attempt: nextAttempt(job, outcome),
  };
  if (job.metadata.generation !== undefined) status.observedGeneration = job.metadata.generation;
  // The deadline counts from the start or the last resume, so a suspension does not eat into it.
  if (outcome.kind === 'suspended') delete status.startTime;
  else if (outcome.kind !== 'finished') status.startTime = previous.startTime ?? now.toISOString();
  if (outcome.kind === 'succeeded' || outcome.kind === 'failed') status.completionTime = now.toISOString();
  const failure = outcome.kind === 'restart' || outcome.kind === 'failed' ? failureRecord(outcome.failure) : undefined;
  if (failure !== undefined) status.lastFailure = failure;
  if (inputs.progress !== undefined) status.progress = inputs.progress;
  return status;
}
