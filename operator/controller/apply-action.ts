/**
 * Carries out one planned action against the API server. Each kind is idempotent: creating
 * what exists or deleting what is gone is success, so a plan can be applied again safely.
 */
import type { Action } from '../core/reconcile-plan.js';
import { isAlreadyExists, isConflict, isNotFound } from '../runtime/api-errors.js';
import type { ClusterApi } from './cluster-api.js';

export async function applyAction(api: ClusterApi, namespace: string, action: Action): Promise<void> {
  try {
    switch (action.kind) {
      case 'CreatePod':
        return await api.create('Pod', action.pod);
      case 'CreateService':
        return await api.create('Service', action.service);
      case 'CreateSecret':
        return await api.create('Secret', action.secret);
      case 'CreatePodGroup':
        return await api.createPodGroup(action.podGroup);
      case 'DeletePod':
        return await api.delete('Pod', namespace, action.name, action.uid, action.force === true ? 0 : undefined);
      case 'DeleteService':
        return await api.delete('Service', namespace, action.name);
      case 'DeleteSecret':
        return await api.delete('Secret', namespace, action.name);
      case 'DeletePodGroup':
        return await api.deletePodGroup(action.apiVersion, namespace, action.name);
      case 'DeleteJob':
        return await api.delete('CifarTrainingJob', namespace, action.name);
    }
  } catch (err) {
    if (action.kind.startsWith('Create') && isAlreadyExists(err)) return;
    if (action.kind.startsWith('Delete') && isNotFound(err)) return;
    // A uid precondition that fails means the pod we meant is already gone.
    if (action.kind === 'DeletePod' && action.uid !== undefined && isConflict(err)) return;
    throw err;
  }
}

/** The kind and name of what a create action makes, for refusals reported on the job. */
export function createdObject(action: Action): { kind: string; name: string } | undefined {
  switch (action.kind) {
    case 'CreatePod':
      return { kind: 'Pod', name: action.pod.metadata.name };
    case 'CreateService':
      return { kind: 'Service', name: action.service.metadata.name };
    case 'CreateSecret':
      return { kind: 'Secret', name: action.secret.metadata.name };
    case 'CreatePodGroup':
      return { kind: 'PodGroup', name: action.podGroup.metadata.name };
    default:
      return undefined;
  }
}

export function describeAction(action: Action): string {
  const created = createdObject(action);
  if (created !== undefined) return `create ${created.kind.toLowerCase()} ${created.name}`;
  switch (action.kind) {
    case 'DeletePod':
      return `${action.force === true ? 'force-delete' : 'delete'} pod ${action.name} (${action.reason})`;
    case 'DeleteService':
      return `delete service ${action.name}`;
    case 'DeleteSecret':
      return `delete secret ${action.name}`;
    case 'DeletePodGroup':
      return `delete podgroup ${action.name} (${action.reason})`;
    case 'DeleteJob':
      return `delete job (${action.reason})`;
    default:
      return action.kind;
  }
}
