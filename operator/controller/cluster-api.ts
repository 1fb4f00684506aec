/**
 * ClusterApi: everything the operator asks of the API server, in one small interface.
 * The real implementation (kube-client.ts) uses @kubernetes/client-node; tests use an
 * in-memory fake. Objects cross this boundary in wire form (timestamps as RFC 3339
 * strings), the shape of operator/api/k8s-types.ts.
 */
import type { Pod, PodGroup, Secret, Service } from '../api/k8s-types.js';
import type { CifarTrainingJob } from '../api/types.js';

export interface WatchedKinds {
  CifarTrainingJob: CifarTrainingJob;
  Pod: Pod;
  Service: Service;
  Secret: Secret;
}
export type WatchedKind = keyof WatchedKinds;
/** Kinds the controller creates and deletes. */
export type ChildKind = 'Pod' | 'Service' | 'Secret';

export interface ListOptions {
  /** One namespace; all namespaces when absent. */
  namespace?: string;
  labelSelector?: string;
}

export interface ObjectList<T> {
  items: T[];
  resourceVersion: string;
}

export interface WatchOptions extends ListOptions {
  resourceVersion: string;
  /** The server ends the stream after this long; the reflector then resumes. */
  timeoutSeconds?: number;
}

export type WatchEvent<T> =
  | { type: 'ADDED' | 'MODIFIED' | 'DELETED'; object: T }
  | { type: 'BOOKMARK'; resourceVersion: string }
  /** A Status in the stream, e.g. 410 Expired when resourceVersion is too old. */
  | { type: 'ERROR'; code: number; reason: string; message: string };

export interface WatchStream {
  /** Resolves when the stream ends (server closed it, or stop()); rejects on a transport error. */
  readonly done: Promise<void>;
  stop(): void;
}

/** coordination.k8s.io/v1 Lease, reduced to the fields leader election uses. */
export interface LeaseRecord {
  namespace: string;
  name: string;
  resourceVersion?: string;
  holderIdentity?: string;
  leaseDurationSeconds?: number;
  acquireTime?: Date;
  renewTime?: Date;
  leaseTransitions?: number;
}

export interface ObjectReference {
  apiVersion: string;
  kind: string;
  namespace: string;
  name: string;
  uid?: string;
  resourceVersion?: string;
}

/** core/v1 Event, as `kubectl describe` shows it. */
export interface EventRecord {
  namespace: string;
  name: string;
  involvedObject: ObjectReference;
  type: 'Normal' | 'Warning';
  reason: string;
  message: string;
  count: number;
  firstTimestamp: Date;
  lastTimestamp: Date;
  /** source.component and reportingController. */
  component: string;
  /** source.host and reportingInstance. */
  instance: string;
}

export interface ClusterApi {
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
  createEvent(event: EventRecord): Promise<void>;
  /** Bumps count and lastTimestamp of an Event created earlier (404 when it has expired). */
  updateEventCount(namespace: string, name: string, count: number, lastTimestamp: Date): Promise<void>;
  getLease(namespace: string, name: string): Promise<LeaseRecord | undefined>;
  createLease(lease: LeaseRecord): Promise<LeaseRecord>;
  /** Replaces the lease; lease.resourceVersion makes a stale write fail with 409. */
  updateLease(lease: LeaseRecord): Promise<LeaseRecord>;
}

/** The subset leader election needs. */
export type LeaseApi = Pick<ClusterApi, 'getLease' | 'createLease' | 'updateLease'>;
