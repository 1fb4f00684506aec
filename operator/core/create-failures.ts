/**
 * The job's status after the API server refused to create one of its children. A refusal a
 * retry may cure (403 from a quota or Pod Security admission, 404 for an API the cluster does
 * not serve yet) becomes PodsReady=False with reason FailedCreate and a Warning Event, and the
 * controller retries with backoff. 422 Invalid cannot be cured by retrying the same object:
 * the job fails, naming the refused fields and the spec fields they come from.
 */
import type { CifarTrainingJob, CifarTrainingJobStatus } from '../api/types.js';
import { setCondition, updateConditionIfPresent } from './conditions.js';
import { jobFieldForPodField } from './desired-pod.js';
import { Reason } from './reasons.js';

export interface CreateRefusal {
  /** Pod, Service, Secret or PodGroup. */
  kind: string;
  name: string;
  code: number;
  /** The Status reason, e.g. Forbidden, Invalid, NotFound. */
  reason: string;
  message: string;
  causes: ReadonlyArray<{ field?: string; message?: string }>;
}

export interface RefusalOutcome {
  status: CifarTrainingJobStatus;
  events: Array<{ type: 'Warning'; reason: string; message: string }>;
  /** The job failed: nothing more to retry. */
  final: boolean;
}

function describeCause(kind: string, cause: { field?: string; message?: string }): string {
  const jobField = kind === 'Pod' && cause.field !== undefined ? jobFieldForPodField(cause.field) : undefined;
  const where = cause.field === undefined ? '' : `${cause.field}${jobField === undefined ? '' : ` (from ${jobField})`}: `;
  return `${where}${cause.message ?? 'invalid'}`;
}

export function describeRefusal(refusal: CreateRefusal): string {
  const what = `${refusal.kind} ${refusal.name}`;
  const status = `HTTP ${refusal.code}${refusal.reason === '' ? '' : ` ${refusal.reason}`}`;
  if (refusal.code === 422 && refusal.causes.length > 0) {
    return `the API server refused ${what} as invalid (${status}): ${refusal.causes.map((c) => describeCause(refusal.kind, c)).join('; ')}`;
  }
  return `could not create ${what} (${status}): ${refusal.message}`;
}

export function statusAfterRefusals(job: CifarTrainingJob, status: CifarTrainingJobStatus, refusals: readonly CreateRefusal[], now: Date): RefusalOutcome {
  const generation = job.metadata.generation;
  const invalid = refusals.find((r) => r.code === 422);
  const first = invalid ?? refusals[0];
  if (first === undefined) return { status, events: [], final: false };
  const message = describeRefusal(first);
  let conditions = setCondition(status.conditions ?? [], { type: 'PodsReady', status: 'False', reason: Reason.FailedCreate, message }, now, generation);
  const events = refusals.map((r) => ({ type: 'Warning' as const, reason: Reason.FailedCreate, message: describeRefusal(r) }));
  if (invalid === undefined) return { status: { ...status, conditions }, events, final: false };
  const reason = invalid.kind === 'Pod' ? Reason.InvalidPodSpec : Reason.CreateRejected;
  const failedMessage = `${message}; retrying cannot help: fix the spec and create the job again`;
  conditions = setCondition(conditions, { type: 'Failed', status: 'True', reason, message: failedMessage }, now, generation);
  conditions = updateConditionIfPresent(conditions, { type: 'Running', status: 'False', reason: Reason.JobFailed, message: 'the job has failed' }, now, generation);
  return {
    status: { ...status, phase: 'Failed', conditions, completionTime: now.toISOString(), lastFailure: { reason, message } },
    events: [...events, { type: 'Warning', reason, message: failedMessage }],
    final: true,
  };
}
