/**
 * Why the gang is not running yet, read from its pods the way `kubectl describe pod` shows
 * it: the scheduler's PodScheduled=False condition (Unschedulable with its "0/3 nodes are
 * available: ..." message, or SchedulingGated while a queue such as Kueue holds the pod) and
 * the kubelet's container waiting reasons (ErrImagePull, ImagePullBackOff,
 * CreateContainerConfigError, ...). The job's PodsReady condition carries the answer.
 */
import type { Pod } from '../api/k8s-types.js';
import type { GangObservation } from './gang-observation.js';
import { hasStarted } from './gang-observation.js';
import { workerPodName } from './names.js';
import { Reason } from './reasons.js';

export interface Blocker {
  /** CamelCase, the PodsReady condition's reason. */
  reason: string;
  /** What the scheduler or kubelet said. */
  detail: string;
}

/** Waiting reasons the kubelet sets that need a person (a bad image, a missing Secret or ConfigMap). */
const CONTAINER_PROBLEMS: readonly string[] = [Reason.CreateContainerConfigError, Reason.CreateContainerError, Reason.InvalidImageName, Reason.ErrImageNeverPull, Reason.ErrImagePull, Reason.ImagePullBackOff];

/** Reasons ordered by how much they tell: the first found among the ranks is reported. */
const PRIORITY = [...CONTAINER_PROBLEMS, Reason.Unschedulable, Reason.SchedulingGated, Reason.PodsCreating, Reason.PodsPending];

/** Reasons worth a Warning Event: someone has to act. */
export const PROBLEM_REASONS: ReadonlySet<string> = new Set([...CONTAINER_PROBLEMS, Reason.Unschedulable, Reason.FailedCreate]);

/** ErrImagePull and ImagePullBackOff alternate while the kubelet retries; they are one problem. */
export function reasonFamily(reason: string): string {
  return reason === Reason.ErrImagePull || reason === Reason.ImagePullBackOff ? 'ImagePull' : reason;
}

function trim(text: string | undefined, fallback: string): string {
  const t = text?.trim();
  if (t === undefined || t === '') return fallback;
  return t.length <= 400 ? t : `${t.slice(0, 400)}...`;
}

/** Why one pod has not started its trainer, or undefined when it has. */
export function podBlocker(pod: Pod, container = 'trainer'): Blocker | undefined {
  if (hasStarted(pod) || pod.status?.phase === 'Failed') return undefined;
  const waiting = pod.status?.containerStatuses?.find((c) => c.name === container)?.state?.waiting;
  if (waiting?.reason !== undefined && CONTAINER_PROBLEMS.includes(waiting.reason)) {
    return { reason: waiting.reason, detail: trim(waiting.message, waiting.reason) };
  }
  const scheduled = pod.status?.conditions?.find((c) => c.type === 'PodScheduled');
  if (scheduled?.status === 'False' && scheduled.reason === Reason.Unschedulable) return { reason: Reason.Unschedulable, detail: trim(scheduled.message, 'no node fits the pod') };
  const gates = pod.spec.schedulingGates?.map((g) => g.name) ?? [];
  if ((scheduled?.status === 'False' && scheduled.reason === Reason.SchedulingGated) || gates.length > 0) {
    return { reason: Reason.SchedulingGated, detail: gates.length > 0 ? `held by scheduling gates ${gates.join(', ')} (a queue such as Kueue has not admitted it)` : trim(scheduled?.message, 'held by scheduling gates') };
  }
  return { reason: Reason.PodsPending, detail: waiting?.reason !== undefined ? `container ${waiting.reason}` : 'waiting to be scheduled and started' };
}

export interface NotRunning {
  reason: string;
  message: string;
  /** Replicas blocked for that reason. */
  replicas: number[];
}

/** The most telling reason the current attempt's pods are not all running, or undefined when they are. */
export function whyNotRunning(jobName: string, replicas: number, attempt: number, gang: GangObservation): NotRunning | undefined {
  const found = new Map<string, Array<{ replica: number; detail: string; pod: string }>>();
  const note = (reason: string, replica: number, detail: string, pod: string): void => {
    const list = found.get(reason) ?? [];
    list.push({ replica, detail, pod });
    found.set(reason, list);
  };
  for (let replica = 0; replica < replicas; replica++) {
    const pod = gang.current.get(replica);
    const name = workerPodName(jobName, replica, attempt);
    if (pod === undefined) {
      note(Reason.PodsCreating, replica, 'not created yet', name);
      continue;
    }
    const blocker = podBlocker(pod);
    if (blocker !== undefined) note(blocker.reason, replica, blocker.detail, pod.metadata.name);
  }
  const reason = PRIORITY.find((r) => found.has(r));
  if (reason === undefined) return undefined;
  const list = found.get(reason) ?? [];
  const [first] = list;
  if (first === undefined) return undefined;
  const others = list.slice(1).map((b) => `worker-${b.replica}`);
  const also = others.length === 0 ? '' : ` (also ${others.join(', ')})`;
  return { reason, message: `worker-${first.replica} (pod ${first.pod})${also}: ${first.detail}`, replicas: list.map((b) => b.replica) };
}
