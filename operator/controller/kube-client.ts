/**
 * The one place that talks to the API server: ClusterApi over @kubernetes/client-node 1.x.
 *
 * client-node deserialises typed responses into model classes (timestamps become Date);
 * the controller works on wire-form JSON (operator/api/k8s-types.ts), as watch events
 * arrive. `toWire` converts; the casts below are the trust boundary with the API server.
 */
import {
  ApiException,
  CoordinationV1Api,
  CoreV1Api,
  CustomObjectsApi,
  KubeConfig,
  PatchStrategy,
  V1MicroTime,
  Watch,
  setHeaderOptions,
  type CoreV1Event,
  type V1Lease,
  type V1Pod,
  type V1Secret,
  type V1Service,
} from '@kubernetes/client-node';
import type { PodGroup } from '../api/k8s-types.js';
import type { CifarTrainingJob } from '../api/types.js';
import { API_GROUP, API_VERSION_NAME, PLURAL } from '../api/types.js';
import { ApiStatusError, type StatusCause } from '../runtime/api-errors.js';
import type { ChildKind, ClusterApi, EventRecord, LeaseRecord, ListOptions, ObjectList, WatchEvent, WatchOptions, WatchStream, WatchedKind, WatchedKinds } from './cluster-api.js';

export const JOB_PLURAL = PLURAL;

/** A KubeConfig from --kubeconfig, else in-cluster service-account credentials, else the usual defaults. */
export function loadKubeConfig(path?: string): KubeConfig {
  const kc = new KubeConfig();
  if (path !== undefined) kc.loadFromFile(path);
  else if (process.env.KUBERNETES_SERVICE_HOST !== undefined) kc.loadFromCluster();
  else kc.loadFromDefault();
  return kc;
}

/** Model class instance → JSON as the API server sends it (Date → RFC 3339 string). */
function toWire<T>(value: unknown): T {
  return JSON.parse(JSON.stringify(value)) as T;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function stringField(record: Record<string, unknown>, key: string): string | undefined {
  const value = record[key];
  return typeof value === 'string' ? value : undefined;
}

function statusCauses(details: unknown): StatusCause[] {
  if (!isRecord(details) || !Array.isArray(details.causes)) return [];
  return details.causes.filter(isRecord).map((c) => {
    const cause: StatusCause = {};
    const field = stringField(c, 'field');
    const reason = stringField(c, 'reason');
    const message = stringField(c, 'message');
    if (field !== undefined) cause.field = field;
    if (reason !== undefined) cause.reason = reason;
    if (message !== undefined) cause.message = message;
    return cause;
  });
}

function statusFields(body: unknown): { reason: string; message: string; causes: StatusCause[] } {
  let parsed: unknown = body;
  if (typeof body === 'string') {
    try {
      parsed = JSON.parse(body);
    } catch {
      return { reason: '', message: body, causes: [] };
    }
  }
  if (!isRecord(parsed)) return { reason: '', message: '', causes: [] };
  return { reason: stringField(parsed, 'reason') ?? '', message: stringField(parsed, 'message') ?? '', causes: statusCauses(parsed.details) };
}

/** Runs one API call and turns client-node's errors into ApiStatusError naming what was attempted. */
async function call<T>(what: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (err instanceof ApiException) {
      const { reason, message, causes } = statusFields(err.body);
      throw new ApiStatusError(err.code, reason, `${what}: ${message || `HTTP ${err.code}`}`, causes);
    }
    throw new Error(`${what}: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
  }
}

function toDate(value: unknown): Date | undefined {
  if (value instanceof Date) return value;
  if (typeof value === 'string' && value !== '') return new Date(value);
  return undefined;
}

function leaseRecord(lease: V1Lease, namespace: string, name: string): LeaseRecord {
  const spec = lease.spec ?? {};
  const record: LeaseRecord = { namespace, name };
  if (lease.metadata?.resourceVersion !== undefined) record.resourceVersion = lease.metadata.resourceVersion;
  if (spec.holderIdentity !== undefined) record.holderIdentity = spec.holderIdentity;
  if (spec.leaseDurationSeconds !== undefined) record.leaseDurationSeconds = spec.leaseDurationSeconds;
  if (spec.leaseTransitions !== undefined) record.leaseTransitions = spec.leaseTransitions;
  const acquired = toDate(spec.acquireTime);
  const renewed = toDate(spec.renewTime);
  if (acquired !== undefined) record.acquireTime = acquired;
  if (renewed !== undefined) record.renewTime = renewed;
  return record;
}

/** MicroTime: the API server parses these with six fractional digits. */
function microTime(date: Date | undefined): V1MicroTime | undefined {
  return date === undefined ? undefined : new V1MicroTime(date.getTime());
}

function v1Lease(lease: LeaseRecord): V1Lease {
  return {
    apiVersion: 'coordination.k8s.io/v1',
    kind: 'Lease',
    metadata: { name: lease.name, namespace: lease.namespace, ...(lease.resourceVersion === undefined ? {} : { resourceVersion: lease.resourceVersion }) },
    spec: {
      holderIdentity: lease.holderIdentity ?? '',
      ...(lease.leaseDurationSeconds === undefined ? {} : { leaseDurationSeconds: lease.leaseDurationSeconds }),
      ...(lease.leaseTransitions === undefined ? {} : { leaseTransitions: lease.leaseTransitions }),
      ...(lease.acquireTime === undefined ? {} : { acquireTime: microTime(lease.acquireTime) }),
      ...(lease.renewTime === undefined ? {} : { renewTime: microTime(lease.renewTime) }),
    },
  };
}

function plainCollectionPath(kind: WatchedKind, namespace: string | undefined): string {
  const ns = namespace === undefined ? '' : `/namespaces/${encodeURIComponent(namespace)}`;
  switch (kind) {
    case 'CifarTrainingJob':
      return `/apis/${API_GROUP}/${API_VERSION_NAME}${ns}/${JOB_PLURAL}`;
    case 'Pod':
      return `/api/v1${ns}/pods`;
    case 'Service':
      return `/api/v1${ns}/services`;
    case 'Secret':
      return `/api/v1${ns}/secrets`;
  }
}

function parseWatchEvent<K extends WatchedKind>(type: string, object: unknown): WatchEvent<WatchedKinds[K]> | undefined {
  switch (type) {
    case 'ADDED':
    case 'MODIFIED':
    case 'DELETED':
      return { type, object: object as WatchedKinds[K] };
    case 'BOOKMARK': {
      const rv = isRecord(object) && isRecord(object.metadata) ? object.metadata.resourceVersion : undefined;
      return typeof rv === 'string' ? { type: 'BOOKMARK', resourceVersion: rv } : undefined;
    }
    case 'ERROR': {
      const code = isRecord(object) && typeof object.code === 'number' ? object.code : 500;
      const { reason, message } = statusFields(object);
      return { type: 'ERROR', code, reason, message };
    }
    default:
      return undefined;
  }
}

const MERGE_PATCH = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);

export class KubeClusterApi implements ClusterApi {
  private readonly core: CoreV1Api;
  private readonly custom: CustomObjectsApi;
  private readonly coordination: CoordinationV1Api;
  private readonly watcher: Watch;

  constructor(kc: KubeConfig) {
    this.core = kc.makeApiClient(CoreV1Api);
    this.custom = kc.makeApiClient(CustomObjectsApi);
    this.coordination = kc.makeApiClient(CoordinationV1Api);
    this.watcher = new Watch(kc);
  }

  async list<K extends WatchedKind>(kind: K, opts: ListOptions): Promise<ObjectList<WatchedKinds[K]>> {
    const where = opts.namespace === undefined ? 'all namespaces' : `namespace ${opts.namespace}`;
    const raw = await call(`list ${kind}s in ${where}`, () => this.listRaw(kind, opts));
    const list = toWire<{ items?: WatchedKinds[K][]; metadata?: { resourceVersion?: string } }>(raw);
    return { items: list.items ?? [], resourceVersion: list.metadata?.resourceVersion ?? '' };
  }

  private listRaw(kind: WatchedKind, opts: ListOptions): Promise<unknown> {
    const { namespace, labelSelector } = opts;
    const sel = labelSelector === undefined ? {} : { labelSelector };
    switch (kind) {
      case 'CifarTrainingJob': {
        const gvp = { group: API_GROUP, version: API_VERSION_NAME, plural: JOB_PLURAL, ...sel };
        return namespace === undefined ? this.custom.listClusterCustomObject(gvp) : this.custom.listNamespacedCustomObject({ ...gvp, namespace });
      }
      case 'Pod':
        return namespace === undefined ? this.core.listPodForAllNamespaces(sel) : this.core.listNamespacedPod({ namespace, ...sel });
      case 'Service':
        return namespace === undefined ? this.core.listServiceForAllNamespaces(sel) : this.core.listNamespacedService({ namespace, ...sel });
      case 'Secret':
        return namespace === undefined ? this.core.listSecretForAllNamespaces(sel) : this.core.listNamespacedSecret({ namespace, ...sel });
    }
  }

  async watch<K extends WatchedKind>(kind: K, opts: WatchOptions, onEvent: (event: WatchEvent<WatchedKinds[K]>) => void): Promise<WatchStream> {
    const path = plainCollectionPath(kind, opts.namespace);
    let settle: { resolve: () => void; reject: (err: Error) => void } | undefined;
    const done = new Promise<void>((resolve, reject) => {
      settle = { resolve, reject };
    });
    let stopped = false;
    const query = {
      resourceVersion: opts.resourceVersion,
      allowWatchBookmarks: true,
      ...(opts.labelSelector === undefined ? {} : { labelSelector: opts.labelSelector }),
      ...(opts.timeoutSeconds === undefined ? {} : { timeoutSeconds: opts.timeoutSeconds }),
    };
    const controller = await this.watcher.watch(
      path,
      query,
      (type: string, object: unknown) => {
        const event = parseWatchEvent<K>(type, object);
        if (event !== undefined && !stopped) onEvent(event);
      },
      (err: unknown) => {
        // Our own abort surfaces as an error; it is a normal end.
        if (err === null || err === undefined || stopped) settle?.resolve();
        else settle?.reject(new Error(`watch ${path}: ${err instanceof Error ? err.message : String(err)}`, { cause: err }));
      },
    );
    return {
      done,
      stop: () => {
        stopped = true;
        controller.abort();
        settle?.resolve();
      },
    };
  }

  async create<K extends ChildKind>(kind: K, object: WatchedKinds[K]): Promise<void> {
    const namespace = object.metadata.namespace ?? '';
    const what = `create ${kind} ${namespace}/${object.metadata.name}`;
    // Wire JSON in, client-node's serialiser passes strings through unchanged.
    switch (kind) {
      case 'Pod':
        await call(what, () => this.core.createNamespacedPod({ namespace, body: object as unknown as V1Pod }));
        return;
      case 'Service':
        await call(what, () => this.core.createNamespacedService({ namespace, body: object as unknown as V1Service }));
        return;
      case 'Secret':
        await call(what, () => this.core.createNamespacedSecret({ namespace, body: object as unknown as V1Secret }));
        return;
    }
  }

  async delete(kind: ChildKind | 'CifarTrainingJob', namespace: string, name: string, uid?: string, gracePeriodSeconds?: number): Promise<void> {
    const what = `${gracePeriodSeconds === 0 ? 'force-delete' : 'delete'} ${kind} ${namespace}/${name}`;
    // Background: children of a deleted job go through the garbage collector, like kubectl.
    const body = {
      propagationPolicy: 'Background',
      ...(uid === undefined ? {} : { preconditions: { uid } }),
      ...(gracePeriodSeconds === undefined ? {} : { gracePeriodSeconds }),
    };
    switch (kind) {
      case 'Pod':
        await call(what, () => this.core.deleteNamespacedPod({ namespace, name, body }));
        return;
      case 'Service':
        await call(what, () => this.core.deleteNamespacedService({ namespace, name, body }));
        return;
      case 'Secret':
        await call(what, () => this.core.deleteNamespacedSecret({ namespace, name, body }));
        return;
      case 'CifarTrainingJob':
        await call(what, () => this.custom.deleteNamespacedCustomObject({ group: API_GROUP, version: API_VERSION_NAME, plural: JOB_PLURAL, namespace, name, body }));
        return;
    }
  }

  async createPodGroup(podGroup: PodGroup): Promise<void> {
    const namespace = podGroup.metadata.namespace ?? '';
    const [group = '', version = ''] = podGroup.apiVersion.split('/');
    await call(`create PodGroup ${namespace}/${podGroup.metadata.name} (${podGroup.apiVersion})`, () =>
      this.custom.createNamespacedCustomObject({ group, version, namespace, plural: 'podgroups', body: podGroup }),
    );
  }

  async deletePodGroup(apiVersion: PodGroup['apiVersion'], namespace: string, name: string): Promise<void> {
    const [group = '', version = ''] = apiVersion.split('/');
    await call(`delete PodGroup ${namespace}/${name} (${apiVersion})`, () =>
      this.custom.deleteNamespacedCustomObject({ group, version, namespace, plural: 'podgroups', name, body: { propagationPolicy: 'Background' } }),
    );
  }

  async replaceJobStatus(job: CifarTrainingJob): Promise<CifarTrainingJob> {
    const namespace = job.metadata.namespace ?? '';
    const name = job.metadata.name;
    const raw: unknown = await call(`update status of CifarTrainingJob ${namespace}/${name}`, () =>
      this.custom.replaceNamespacedCustomObjectStatus({ group: API_GROUP, version: API_VERSION_NAME, plural: JOB_PLURAL, namespace, name, body: job }),
    );
    return raw as CifarTrainingJob;
  }

  async createEvent(event: EventRecord): Promise<void> {
    const body: CoreV1Event = {
      metadata: { name: event.name, namespace: event.namespace },
      involvedObject: { ...event.involvedObject },
      type: event.type,
      reason: event.reason,
      message: event.message,
      count: event.count,
      firstTimestamp: event.firstTimestamp,
      lastTimestamp: event.lastTimestamp,
      source: { component: event.component, host: event.instance },
      reportingComponent: event.component,
      reportingInstance: event.instance,
    };
    await call(`create Event ${event.namespace}/${event.name} (${event.reason})`, () => this.core.createNamespacedEvent({ namespace: event.namespace, body }));
  }

  async updateEventCount(namespace: string, name: string, count: number, lastTimestamp: Date): Promise<void> {
    await call(`update Event ${namespace}/${name}`, () =>
      this.core.patchNamespacedEvent({ namespace, name, body: { count, lastTimestamp: lastTimestamp.toISOString() } }, MERGE_PATCH),
    );
  }

  async getLease(namespace: string, name: string): Promise<LeaseRecord | undefined> {
    try {
      const lease = await call(`get Lease ${namespace}/${name}`, () => this.coordination.readNamespacedLease({ namespace, name }));
      return leaseRecord(lease, namespace, name);
    } catch (err) {
      if (err instanceof ApiStatusError && err.code === 404) return undefined;
      throw err;
    }
  }

  async createLease(lease: LeaseRecord): Promise<LeaseRecord> {
    const created = await call(`create Lease ${lease.namespace}/${lease.name}`, () => this.coordination.createNamespacedLease({ namespace: lease.namespace, body: v1Lease(lease) }));
    return leaseRecord(created, lease.namespace, lease.name);
  }

  async updateLease(lease: LeaseRecord): Promise<LeaseRecord> {
    const updated = await call(`update Lease ${lease.namespace}/${lease.name}`, () =>
      this.coordination.replaceNamespacedLease({ namespace: lease.namespace, name: lease.name, body: v1Lease(lease) }),
    );
    return leaseRecord(updated, lease.namespace, lease.name);
  }
}
