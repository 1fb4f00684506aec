/**
 * What the generic controller machinery (reflector, event recorder, leader election) needs
 * of an API server, independent of any kind the operator manages. Objects cross in wire
 * form (timestamps as RFC 3339 strings).
 */

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

/** Lists and watches one kind: what a reflector needs. */
export interface ListWatch<T> {
  list(opts: ListOptions): Promise<ObjectList<T>>;
  watch(opts: WatchOptions, onEvent: (event: WatchEvent<T>) => void): Promise<WatchStream>;
}

/** Events, for the event recorder. */
export interface EventApi {
  createEvent(event: EventRecord): Promise<void>;
  /** Bumps count and lastTimestamp of an Event created earlier (404 when it has expired). */
  updateEventCount(namespace: string, name: string, count: number, lastTimestamp: Date): Promise<void>;
}

/** Leases, for leader election. */
export interface LeaseApi {
  getLease(namespace: string, name: string): Promise<LeaseRecord | undefined>;
  createLease(lease: LeaseRecord): Promise<LeaseRecord>;
  /** Replaces the lease; lease.resourceVersion makes a stale write fail with 409. */
  updateLease(lease: LeaseRecord): Promise<LeaseRecord>;
}
