/**
 * ClusterApi: everything the operator asks of the API server, in one small interface.
 * The real implementation (kube-client.ts) uses @kubernetes/client-node; tests use an
 * in-memory fake. Objects cross this boundary in wire form (timestamps as RFC 3339
 * strings), the shape of operator/api/k8s-types.ts.
 */
import type { Pod, PodGroup, Secret, Service } from '../api/k8s-types.js';
import type { CifarTrainingJob } from '../api/types.js';
import type { EventApi, LeaseApi, ListOptions, ObjectList, WatchEvent, WatchOptions, WatchStream } from '../runtime/api-types.js';

export type { EventApi, EventRecord, LeaseApi, LeaseRecord, ListOptions, ObjectList, ObjectReference, WatchEvent, WatchOptions, WatchStream } from '../runtime/api-types.js';

export interface WatchedKinds {
  CifarTrainingJob: CifarTrainingJob;
  Pod: Pod;
  Service: Service;
  Secret: Secret;
}
export type WatchedKind = keyof WatchedKinds;
/** Kinds the controller creates and deletes. */
export type ChildKind = 'Pod' | 'Service' | 'Secret';

export interface ClusterApi extends EventApi, LeaseApi {
  list<K extends WatchedKind>(kind: K, opts: ListOptions): Promise<ObjectList<WatchedKinds[K]>>;
  watch<K extends WatchedKind>(kind: K, opts: WatchOptions, onEvent: (event: WatchEvent<WatchedKinds[K]>) => void): Promise<WatchStream>;
  create<K extends ChildKind>(kind: K, object: WatchedKinds[K]): Promise<void>;
  /**
   * With `uid`, deletes only that incarnation (a precondition): a newer object that took the
   * name survives (409). gracePeriodSeconds 0 force-deletes a pod whose kubelet does not answer.
   */
  delete(kind: ChildKind | 'CifarTrainingJob', namespace: string, name: string, uid?: string, gracePeriodSeconds?: number): Promise<void>;
  /** A gang scheduler's PodGroup (scheduler-plugins or Volcano, by apiVersion). */
  createPodGroup(podGroup: PodGroup): Promise<void>;
  deletePodGroup(apiVersion: PodGroup['apiVersion'], namespace: string, name: string): Promise<void>;
  /** PUT on the status subresource; metadata.resourceVersion makes a stale write fail with 409. */
  replaceJobStatus(job: CifarTrainingJob): Promise<CifarTrainingJob>;
}
