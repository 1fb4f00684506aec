/** Ownership: every child names the job as its controller, so deleting the job deletes them. */
import type { ObjectMeta, OwnerReference } from '../api/k8s-types.js';
import { API_VERSION, KIND, type CifarTrainingJob } from '../api/types.js';

/** Name, namespace and uid of a job as read from the API server; the children need all three. */
export interface JobIdentity {
  name: string;
  namespace: string;
  uid: string;
}

export function jobIdentity(job: CifarTrainingJob): JobIdentity {
  const { name, namespace, uid } = job.metadata;
  const missing = [namespace === undefined ? 'metadata.namespace' : '', uid === undefined ? 'metadata.uid' : ''].filter(Boolean);
  if (namespace === undefined || uid === undefined) {
    throw new Error(`CifarTrainingJob ${name}: ${missing.join(' and ')} missing; pass the object as read from the API server`);
  }
  return { name, namespace, uid };
}

export function controllerRef(job: JobIdentity): OwnerReference {
  return { apiVersion: API_VERSION, kind: KIND, name: job.name, uid: job.uid, controller: true, blockOwnerDeletion: true };
}

/** Whether `meta` names this job (by uid) as its controller; a same-named older job's leftovers do not count. */
export function isControlledBy(meta: ObjectMeta, job: JobIdentity): boolean {
  return (meta.ownerReferences ?? []).some((ref) => ref.controller === true && ref.uid === job.uid && ref.kind === KIND);
}
