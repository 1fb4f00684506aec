/**
 * Which pods to delete once a job has finished (runPolicy.cleanPodPolicy, as in Kubeflow's
 * training operator): None keeps every pod for debugging, Running deletes the pods still
 * pending or running (they hold GPUs and have nothing left to do), All deletes every pod.
 * A job that failed its deadline always has its running pods stopped, whatever the policy:
 * that is what the deadline is for.
 */
import type { Pod } from '../api/k8s-types.js';
import type { CleanPodPolicy } from '../api/types.js';

function isStillActive(pod: Pod): boolean {
  const phase = pod.status?.phase;
  return phase !== 'Succeeded' && phase !== 'Failed';
}

export function podsToClean(policy: CleanPodPolicy, livePods: readonly Pod[], stopActive: boolean): Pod[] {
  switch (policy) {
    case 'All':
      return [...livePods];
    case 'Running':
      return livePods.filter(isStillActive);
    case 'None':
      return stopActive ? livePods.filter(isStillActive) : [];
  }
}
