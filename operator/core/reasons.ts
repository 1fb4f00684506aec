/**
 * Every reason the operator writes into a condition, `status.lastFailure` or an Event, in one
 * place: status.ts, outcome.ts, exit-codes.ts, create-failures.ts and pod-readiness.ts use
 * these names, and docs/api.md's reasons table is generated from CONDITION_REASONS
 * (test/docs/api.test.ts keeps it current).
 */
import type { JobConditionType } from '../api/types.js';

export const Reason = {
  // Created
  JobCreated: 'JobCreated',
  // PodsReady
  AllRunning: 'AllRunning',
  Unschedulable: 'Unschedulable',
  ErrImagePull: 'ErrImagePull',
  ImagePullBackOff: 'ImagePullBackOff',
  CreateContainerConfigError: 'CreateContainerConfigError',
  CreateContainerError: 'CreateContainerError',
  SchedulingGated: 'SchedulingGated',
  FailedCreate: 'FailedCreate',
  PodsCreating: 'PodsCreating',
  PodsPending: 'PodsPending',
  Restarting: 'Restarting',
  JobFinished: 'JobFinished',
  // Running
  AllReplicasRunning: 'AllReplicasRunning',
  PodsStarting: 'PodsStarting',
  JobRestarting: 'JobRestarting',
  JobSucceeded: 'JobSucceeded',
  JobFailed: 'JobFailed',
  JobSuspended: 'JobSuspended',
  JobResumed: 'JobResumed',
  // Restarting
  ReplicaFailed: 'ReplicaFailed',
  ReplicaLost: 'ReplicaLost',
  GangNotFormed: 'GangNotFormed',
  SpecChanged: 'SpecChanged',
  GangRecovered: 'GangRecovered',
  // Failed
  BackoffLimitExceeded: 'BackoffLimitExceeded',
  DeadlineExceeded: 'DeadlineExceeded',
  InvalidSpec: 'InvalidSpec',
  InvalidPodSpec: 'InvalidPodSpec',
  CreateRejected: 'CreateRejected',
  // How a worker ended (status.lastFailure.reason, and Failed's reason when permanent)
  TrainerFailed: 'TrainerFailed',
  UsageError: 'UsageError',
  OOMKilled: 'OOMKilled',
  UnexpectedExitCode: 'UnexpectedExitCode',
  InvalidImageName: 'InvalidImageName',
  ErrImageNeverPull: 'ErrImageNeverPull',
  PeerLost: 'PeerLost',
  Killed: 'Killed',
  PodFailed: 'PodFailed',
  // Events only
  NameConflict: 'NameConflict',
} as const;

export type Reason = (typeof Reason)[keyof typeof Reason];

export interface ReasonDoc {
  reason: Reason;
  /** What it means when that is not obvious from the name. */
  note?: string;
}

/** The reasons each condition carries, when True and when False, as docs/api.md lists them. */
export const CONDITION_REASONS: ReadonlyArray<{ condition: JobConditionType; whenTrue: ReasonDoc[]; whenFalse: ReasonDoc[] }> = [
  { condition: 'Created', whenTrue: [{ reason: Reason.JobCreated }], whenFalse: [] },
  {
    condition: 'PodsReady',
    whenTrue: [{ reason: Reason.AllRunning }],
    whenFalse: [
      { reason: Reason.Unschedulable, note: "the scheduler's message" },
      { reason: Reason.ErrImagePull },
      { reason: Reason.ImagePullBackOff },
      { reason: Reason.CreateContainerConfigError, note: 'e.g. a missing Secret' },
      { reason: Reason.CreateContainerError },
      { reason: Reason.SchedulingGated, note: 'held by a queue such as Kueue' },
      { reason: Reason.FailedCreate, note: 'the API server refused a child: quota, Pod Security, an API the cluster does not serve' },
      { reason: Reason.PodsCreating },
      { reason: Reason.PodsPending },
      { reason: Reason.Restarting },
      { reason: Reason.JobFinished },
      { reason: Reason.JobSuspended },
    ],
  },
  {
    condition: 'Running',
    whenTrue: [{ reason: Reason.AllReplicasRunning }],
    whenFalse: [{ reason: Reason.PodsPending }, { reason: Reason.PodsStarting }, { reason: Reason.JobRestarting }, { reason: Reason.JobSucceeded }, { reason: Reason.JobFailed }, { reason: Reason.JobSuspended }],
  },
  {
    condition: 'Restarting',
    whenTrue: [
      { reason: Reason.ReplicaFailed },
      { reason: Reason.ReplicaLost },
      { reason: Reason.GangNotFormed, note: 'not counted against `backoffLimit`' },
      { reason: Reason.SpecChanged },
    ],
    whenFalse: [{ reason: Reason.GangRecovered }],
  },
  { condition: 'Succeeded', whenTrue: [{ reason: Reason.JobSucceeded }], whenFalse: [] },
  {
    condition: 'Failed',
    whenTrue: [
      { reason: Reason.BackoffLimitExceeded },
      { reason: Reason.DeadlineExceeded },
      { reason: Reason.InvalidSpec, note: 'a field the operator refuses, named' },
      { reason: Reason.InvalidPodSpec, note: 'the API server refused a pod as invalid, 422, naming the field' },
      { reason: Reason.CreateRejected, note: 'the same for another child' },
      { reason: Reason.TrainerFailed, note: 'a permanent failure of a worker, as in `lastFailure`' },
      { reason: Reason.UsageError },
      { reason: Reason.OOMKilled },
      { reason: Reason.UnexpectedExitCode },
      { reason: Reason.InvalidImageName },
      { reason: Reason.ErrImageNeverPull },
    ],
    whenFalse: [],
  },
  { condition: 'Suspended', whenTrue: [{ reason: Reason.JobSuspended }], whenFalse: [{ reason: Reason.JobResumed }] },
];

function listReasons(docs: readonly ReasonDoc[]): string {
  return docs.map((d) => (d.note === undefined ? `\`${d.reason}\`` : `\`${d.reason}\` (${d.note})`)).join(', ');
}

/** The Markdown table of docs/api.md's reasons section. */
export function renderReasonTable(): string {
  const rows = CONDITION_REASONS.map(({ condition, whenTrue, whenFalse }) => {
    const parts = [listReasons(whenTrue), whenFalse.length > 0 ? `when False: ${listReasons(whenFalse)}` : ''].filter((p) => p !== '');
    return `| \`${condition}\` | ${parts.join('; ')} |`;
  });
  return ['| Condition | Reasons |', '| --- | --- |', ...rows].join('\n');
}
