/**
 * Pod status as the kubelet reports it, built from what the agent knows about one pod.
 * Pure: the phase follows from the container's state, and each write sends the whole
 * status so a merge patch replaces conditions and containerStatuses outright.
 */

export type ContainerState =
  | { kind: 'waiting'; reason: string; message?: string }
  | { kind: 'running'; startedAt: string }
  | { kind: 'terminated'; exitCode: number; signal?: number; reason: string; message: string; startedAt: string; finishedAt: string };

export interface PodView {
  containerName: string;
  image: string;
  scheduledAt: string;
  hostIP: string;
  podIP?: string;
  state: ContainerState;
}

export interface PodConditionJson {
  type: string;
  status: 'True' | 'False';
  reason?: string;
  message?: string;
  lastTransitionTime: string;
}

export interface ContainerStatusJson {
  name: string;
  image: string;
  imageID: string;
  ready: boolean;
  started: boolean;
  restartCount: number;
  state: Record<string, Record<string, unknown>>;
}

export interface PodStatusJson {
  phase: 'Pending' | 'Running' | 'Succeeded' | 'Failed';
  reason: string | null;
  message: string | null;
  hostIP: string;
  hostIPs: Array<{ ip: string }>;
  podIP: string | null;
  podIPs: Array<{ ip: string }> | null;
  startTime: string;
  conditions: PodConditionJson[];
  containerStatuses: ContainerStatusJson[];
}

export function phaseOf(state: ContainerState): PodStatusJson['phase'] {
  switch (state.kind) {
    case 'waiting':
      return 'Pending';
    case 'running':
      return 'Running';
    case 'terminated':
      return state.exitCode === 0 ? 'Succeeded' : 'Failed';
  }
}

function stateJson(state: ContainerState): Record<string, Record<string, unknown>> {
  switch (state.kind) {
    case 'waiting':
      return { waiting: { reason: state.reason, ...(state.message ? { message: state.message } : {}) } };
    case 'running':
      return { running: { startedAt: state.startedAt } };
    case 'terminated': {
      const { kind: _kind, ...terminated } = state;
      return { terminated: { ...terminated } };
    }
  }
}

function conditions(view: PodView): PodConditionJson[] {
  const s = view.state;
  const ready: PodConditionJson =
    s.kind === 'running'
      ? { type: 'Ready', status: 'True', lastTransitionTime: s.startedAt }
      : s.kind === 'terminated'
        ? { type: 'Ready', status: 'False', reason: 'PodCompleted', lastTransitionTime: s.finishedAt }
        : { type: 'Ready', status: 'False', reason: 'ContainersNotReady', message: `containers with unready status: [${view.containerName}]`, lastTransitionTime: view.scheduledAt };
  return [
    { type: 'PodScheduled', status: 'True', lastTransitionTime: view.scheduledAt },
    { type: 'Initialized', status: 'True', lastTransitionTime: view.scheduledAt },
    { ...ready, type: 'ContainersReady' },
    ready,
  ];
}

export function podStatus(view: PodView): PodStatusJson {
  const running = view.state.kind === 'running';
  return {
    phase: phaseOf(view.state),
    reason: null,
    message: null,
    hostIP: view.hostIP,
    hostIPs: [{ ip: view.hostIP }],
    podIP: view.podIP ?? null,
    podIPs: view.podIP ? [{ ip: view.podIP }] : null,
    startTime: view.scheduledAt,
    conditions: conditions(view),
    containerStatuses: [
      {
        name: view.containerName,
        image: view.image,
        imageID: '',
        ready: running,
        started: running,
        restartCount: 0,
        state: stateJson(view.state),
      },
    ],
  };
}

/** How a process ended, as Kubernetes reports a container: signals become 128+n. */
export function terminatedState(exit: { code: number | null; signal: NodeJS.Signals | null }, signals: Readonly<Record<string, number>>, times: { startedAt: string; finishedAt: string }, message: string): ContainerState {
  const signal = exit.signal ? signals[exit.signal] : undefined;
  const exitCode = exit.code ?? (signal === undefined ? 1 : 128 + signal);
  return {
    kind: 'terminated',
    exitCode,
    ...(signal === undefined ? {} : { signal }),
    reason: exitCode === 0 ? 'Completed' : 'Error',
    message,
    startedAt: times.startedAt,
    finishedAt: times.finishedAt,
  };
}

/**
 * A pod a previous agent started: its process is not ours to adopt, so it is reported
 * lost, which the operator treats as an infrastructure failure and restarts the gang.
 */
export function nodeLostStatus(containerName: string, now: string): Record<string, unknown> {
  const message = 'local cluster: the node agent restarted and does not adopt processes it did not start';
  return {
    phase: 'Failed',
    reason: 'NodeLost',
    message,
    conditions: [{ type: 'Ready', status: 'False', reason: 'NodeLost', message, lastTransitionTime: now }],
    containerStatuses: [
      {
        name: containerName,
        image: '',
        imageID: '',
        ready: false,
        started: false,
        restartCount: 0,
        state: { terminated: { exitCode: 137, reason: 'ContainerStatusUnknown', message: 'The container could not be located when the pod was terminated', finishedAt: now } },
      },
    ],
  };
}
