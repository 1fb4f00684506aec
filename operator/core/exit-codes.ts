/**
 * How a worker pod ended, as the operator decides whether to restart the gang.
 *
 * The trainer's exit codes are part of the contract (contract/exit-codes.ts): 0 finished;
 * 1 and 2 not retryable (training failed, usage error); 75 retryable (the group lost a member
 * or rendezvous timed out). Killed by a signal (143 SIGTERM, 137 SIGKILL without OOMKilled) means something outside
 * the trainer stopped it: a drained or lost node, a preemption. Like evictions, retryable.
 * OOMKilled is permanent: the same spec on the same limits runs out of memory again, and
 * restarting would only spend the backoff budget on a certain failure.
 */
import { EXIT_FAILURE, EXIT_RETRYABLE, EXIT_SIGKILL, EXIT_SIGTERM, EXIT_USAGE } from '../../contract/exit-codes.js';
import type { ContainerStateTerminated, Pod } from '../api/k8s-types.js';
import { Reason } from './reasons.js';

export { EXIT_FAILURE, EXIT_OK, EXIT_RETRYABLE, EXIT_SIGKILL, EXIT_SIGTERM, EXIT_USAGE } from '../../contract/exit-codes.js';

/** Pod-level reasons meaning the node or the scheduler, not the trainer, ended the pod. */
const INFRASTRUCTURE_REASONS = new Set(['Evicted', 'NodeLost', 'Shutdown', 'NodeShutdown', 'Terminated', 'UnexpectedAdmissionError', 'Preempted']);

/** Waiting reasons that never resolve without changing the spec. */
const PERMANENT_WAITING_REASONS: ReadonlySet<string> = new Set([Reason.InvalidImageName, Reason.ErrImageNeverPull]);

const MAX_MESSAGE = 600;

export type FailureKind = 'retryable' | 'permanent';

export type PodFailure =
  | { kind: 'none' }
  | {
      kind: FailureKind;
      /** CamelCase, for conditions and lastFailure.reason. */
      reason: string;
      /** What happened, without the pod name: "exited with code 75 (peer lost ...)". */
      detail: string;
      /** The trainer's termination message or the kubelet's pod message, trimmed. */
      message?: string;
      exitCode?: number;
    };

/** The end of a long message: the trainer writes the fatal error last. */
function trimMessage(text: string | undefined): string | undefined {
  const trimmed = text?.trim();
  if (trimmed === undefined || trimmed === '') return undefined;
  return trimmed.length <= MAX_MESSAGE ? trimmed : `...${trimmed.slice(-MAX_MESSAGE)}`;
}

function terminatedState(pod: Pod, container: string): ContainerStateTerminated | undefined {
  const status = pod.status?.containerStatuses?.find((c) => c.name === container);
  return status?.state?.terminated ?? status?.lastState?.terminated;
}

function byExitCode(t: ContainerStateTerminated): PodFailure {
  const message = trimMessage(t.message);
  const code = t.exitCode;
  const base = { exitCode: code, ...(message === undefined ? {} : { message }) };
  if (t.reason === Reason.OOMKilled) {
    return { kind: 'permanent', reason: Reason.OOMKilled, detail: `was OOM-killed (exit code ${code}); raise resources.limits.memory or lower hyperparameters.batchSize`, ...base };
  }
  switch (code) {
    case EXIT_RETRYABLE:
      return { kind: 'retryable', reason: Reason.PeerLost, detail: `exited with code ${code} (peer lost or rendezvous timed out)`, ...base };
    case EXIT_SIGTERM:
    case EXIT_SIGKILL:
      return { kind: 'retryable', reason: Reason.Killed, detail: `exited with code ${code} (killed by ${code === EXIT_SIGTERM ? 'SIGTERM' : 'SIGKILL'})`, ...base };
    case EXIT_USAGE:
      return { kind: 'permanent', reason: Reason.UsageError, detail: `exited with code ${code} (usage error)`, ...base };
    case EXIT_FAILURE:
      return { kind: 'permanent', reason: Reason.TrainerFailed, detail: `exited with code ${code} (training failed)`, ...base };
    default:
      return { kind: 'permanent', reason: Reason.UnexpectedExitCode, detail: `exited with unexpected code ${code}`, ...base };
  }
}

/** Whether and how a worker pod failed; `none` while it is pending, running or succeeded. */
export function classifyPodFailure(pod: Pod, container = 'trainer'): PodFailure {
  const status = pod.status;
  if (status?.phase !== 'Failed') {
    const waiting = status?.containerStatuses?.find((c) => c.name === container)?.state?.waiting;
    if (waiting?.reason !== undefined && PERMANENT_WAITING_REASONS.has(waiting.reason)) {
      const message = trimMessage(waiting.message);
      return { kind: 'permanent', reason: waiting.reason, detail: `cannot start its container (${waiting.reason})`, ...(message === undefined ? {} : { message }) };
    }
    return { kind: 'none' };
  }
  const podMessage = trimMessage(status.message);
  if (status.reason !== undefined && INFRASTRUCTURE_REASONS.has(status.reason)) {
    return { kind: 'retryable', reason: status.reason, detail: `was stopped by the cluster (${status.reason})`, ...(podMessage === undefined ? {} : { message: podMessage }) };
  }
  const terminated = terminatedState(pod, container);
  if (terminated !== undefined) return byExitCode(terminated);
  // Failed before the trainer ran (e.g. the node vanished): nothing says the spec is at fault.
  return { kind: 'retryable', reason: status.reason ?? Reason.PodFailed, detail: 'failed before the trainer exited', ...(podMessage === undefined ? {} : { message: podMessage }) };
}
