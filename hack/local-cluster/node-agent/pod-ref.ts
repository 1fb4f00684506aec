import type { V1Pod } from '@kubernetes/client-node';

/** `namespace/name`, the way every error and log line names a pod. */
export function podRef(pod: V1Pod): string {
  return `${pod.metadata?.namespace ?? 'default'}/${pod.metadata?.name ?? '<unnamed>'}`;
}

/** A pod the agent cannot run as specified; the message names the pod and the field. */
export class PodConfigError extends Error {
  /**
   * @param reason the container's waiting reason, as a kubelet reports it
   * @param permanent true when only a new pod spec can fix it (no retry)
   */
  constructor(
    readonly reason: string,
    message: string,
    readonly permanent = false,
  ) {
    super(message);
    this.name = 'PodConfigError';
  }
}
