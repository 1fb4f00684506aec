/**
 * The controller level's fake: the API server as the controller sees it, through the
 * ClusterApi interface (in memory, with watches, conflicts and injected errors), plus a
 * manual clock. Tests of operator/controller/ and operator/runtime/ use it; planner tests use
 * fake-plan-cluster.ts, and end-to-end tests the local cluster (hack/local-cluster), which
 * is a product part with its own fidelity tests, not a fake.
 */
import type { ObjectMeta, PodGroup } from '../../operator/api/k8s-types.js';
import { ApiStatusError } from '../../operator/runtime/api-errors.js';
import type {
  ChildKind,
  ClusterApi,
  EventRecord,
  LeaseRecord,
  ListOptions,
  ObjectList,
  WatchEvent,
  WatchOptions,
  WatchStream,
  WatchedKind,
  WatchedKinds,
} from '../../operator/controller/cluster-api.js';
import type { Clock, Timer } from '../../operator/runtime/clock.js';

/** A clock that moves only when told to. */
export class ManualClock implements Clock {
  private time = 0;
  private timers: Array<{ at: number; fn: () => void; cancelled: boolean }> = [];

  now(): number {
    return this.time;
  }

  schedule(fn: () => void, delayMs: number): Timer {
    const timer = { at: this.time + Math.max(0, delayMs), fn, cancelled: false };
    this.timers.push(timer);
    return { cancel: () => (timer.cancelled = true) };
  }

  advance(ms: number): void {
    const end = this.time + ms;
    for (;;) {
      const due = this.timers.filter((t) => !t.cancelled && t.at <= end).sort((a, b) => a.at - b.at)[0];
      if (due === undefined) break;
      this.time = due.at;
      due.cancelled = true;
      due.fn();
    }
    this.time = end;
    this.timers = this.timers.filter((t) => !t.cancelled);
  }

  get pending(): number {
    return this.timers.filter((t) => !t.cancelled).length;
  }
}

interface Stored {
  metadata: ObjectMeta;
}

type Watcher = { kind: WatchedKind; opts: WatchOptions; onEvent: (e: WatchEvent<Stored>) => void; stop: () => void };

function matches(meta: ObjectMeta, opts: ListOptions): boolean {
  if (opts.namespace !== undefined && meta.namespace !== opts.namespace) return false;
  if (opts.labelSelector === undefined) return true;
  return opts.labelSelector.split(',').every((term) => {
    const [k = '', v] = term.split('=');
    return meta.labels?.[k] === v;
  });
}

const clone = <T>(x: T): T => structuredClone(x);

/**
 * An in-memory API server for unit tests: resourceVersions, AlreadyExists, uid
 * preconditions, 409 on stale status writes, watches, Events and Leases. `calls` records
 * every write in order; `failNext` injects one error into the next call of a method.
 */
export class FakeClusterApi implements ClusterApi {
  rv = 1;
  readonly objects = new Map<string, Stored>();
  readonly events: EventRecord[] = [];
  readonly leases = new Map<string, LeaseRecord>();
  readonly calls: string[] = [];
  private readonly watchers = new Set<Watcher>();
  private readonly failures = new Map<string, Error>();

  failNext(method: string, err: Error): void {
    this.failures.set(method, err);
  }

  private check(method: string): void {
    const err = this.failures.get(method);
    if (err !== undefined) {
      this.failures.delete(method);
      throw err;
    }
  }

  private key(kind: string, namespace: string | undefined, name: string): string {
    return `${kind}:${namespace ?? ''}/${name}`;
  }

  get<K extends WatchedKind>(kind: K, namespace: string, name: string): WatchedKinds[K] | undefined {
    const obj = this.objects.get(this.key(kind, namespace, name));
    return obj === undefined ? undefined : (clone(obj) as WatchedKinds[K]);
  }

  all<K extends WatchedKind>(kind: K): Array<WatchedKinds[K]> {
    return [...this.objects.entries()].filter(([k]) => k.startsWith(`${kind}:`)).map(([, v]) => clone(v) as WatchedKinds[K]);
  }

  /** Stores an object as if someone else wrote it (a user, the kubelet). */
  put<K extends WatchedKind>(kind: K, object: WatchedKinds[K]): WatchedKinds[K] {
    const stored = clone(object) as Stored;
    const key = this.key(kind, stored.metadata.namespace, stored.metadata.name);
    const existed = this.objects.has(key);
    stored.metadata.uid ??= `uid-${this.rv}`;
    stored.metadata.creationTimestamp ??= new Date(0).toISOString();
    stored.metadata.resourceVersion = String(++this.rv);
    this.objects.set(key, stored);
    this.notify(kind, existed ? 'MODIFIED' : 'ADDED', stored);
    return clone(stored) as WatchedKinds[K];
  }

  private notify(kind: WatchedKind, type: 'ADDED' | 'MODIFIED' | 'DELETED', obj: Stored): void {
    for (const w of this.watchers) {
      if (w.kind !== kind || !matches(obj.metadata, w.opts)) continue;
      const copy = clone(obj);
      queueMicrotask(() => w.onEvent({ type, object: copy }));
    }
  }

  async list<K extends WatchedKind>(kind: K, opts: ListOptions): Promise<ObjectList<WatchedKinds[K]>> {
    this.check('list');
    const items = this.all(kind).filter((o) => matches(o.metadata, opts));
    return { items, resourceVersion: String(this.rv) };
  }

  async watch<K extends WatchedKind>(kind: K, opts: WatchOptions, onEvent: (event: WatchEvent<WatchedKinds[K]>) => void): Promise<WatchStream> {
    this.check('watch');
    let finish: () => void = () => undefined;
    const done = new Promise<void>((resolve) => (finish = resolve));
    const watcher: Watcher = {
      kind,
      opts,
      onEvent: onEvent as (e: WatchEvent<Stored>) => void,
      stop: () => {
        this.watchers.delete(watcher);
        finish();
      },
    };
    this.watchers.add(watcher);
    return { done, stop: watcher.stop };
  }

  /** Ends every open watch as a server timeout would. */
  endWatches(): void {
    for (const w of [...this.watchers]) w.stop();
  }

  /** Forgets every open watch without ending it, as a connection dropped without a FIN: its client hears nothing more. */
  dropWatches(): void {
    this.watchers.clear();
  }

  /** Sends an ERROR event (e.g. 410 Expired) to every open watch of `kind`. */
  expireWatches(kind: WatchedKind): void {
    for (const w of [...this.watchers]) if (w.kind === kind) w.onEvent({ type: 'ERROR', code: 410, reason: 'Expired', message: 'too old resource version' });
  }

  /** Creates of this kind fail with `err` until the entry is removed, as a quota or admission webhook would refuse them. */
  readonly refusals = new Map<string, Error>();

  async create<K extends ChildKind>(kind: K, object: WatchedKinds[K]): Promise<void> {
    this.calls.push(`create ${kind} ${object.metadata.name}`);
    this.check('create');
    const refusal = this.refusals.get(kind);
    if (refusal !== undefined) throw refusal;
    if (this.objects.has(this.key(kind, object.metadata.namespace, object.metadata.name))) {
      throw new ApiStatusError(409, 'AlreadyExists', `${kind} "${object.metadata.name}" already exists`);
    }
    this.put(kind, object);
  }

  async delete(kind: ChildKind | 'CifarTrainingJob', namespace: string, name: string, uid?: string, gracePeriodSeconds?: number): Promise<void> {
    this.calls.push(`delete ${kind} ${name}${gracePeriodSeconds === 0 ? ' (force)' : ''}`);
    this.check('delete');
    const key = this.key(kind, namespace, name);
    const obj = this.objects.get(key);
    if (obj === undefined) throw new ApiStatusError(404, 'NotFound', `${kind} "${name}" not found`);
    if (uid !== undefined && obj.metadata.uid !== uid) throw new ApiStatusError(409, 'Conflict', `Precondition failed: UID in precondition: ${uid}`);
    this.objects.delete(key);
    this.rv++;
    this.notify(kind, 'DELETED', obj);
  }

  /** PodGroups by `<apiVersion>:<namespace>/<name>`. */
  readonly podGroups = new Map<string, PodGroup>();

  async createPodGroup(podGroup: PodGroup): Promise<void> {
    this.calls.push(`create PodGroup ${podGroup.metadata.name}`);
    this.check('createPodGroup');
    const key = `${podGroup.apiVersion}:${podGroup.metadata.namespace ?? ''}/${podGroup.metadata.name}`;
    if (this.podGroups.has(key)) throw new ApiStatusError(409, 'AlreadyExists', `podgroups "${podGroup.metadata.name}" already exists`);
    this.podGroups.set(key, clone(podGroup));
  }

  async deletePodGroup(apiVersion: PodGroup['apiVersion'], namespace: string, name: string): Promise<void> {
    this.calls.push(`delete PodGroup ${name}`);
    this.check('deletePodGroup');
    if (!this.podGroups.delete(`${apiVersion}:${namespace}/${name}`)) throw new ApiStatusError(404, 'NotFound', `podgroups "${name}" not found`);
  }

  async replaceJobStatus(job: WatchedKinds['CifarTrainingJob']): Promise<WatchedKinds['CifarTrainingJob']> {
    this.calls.push(`status ${job.metadata.name} ${job.status?.phase ?? ''}`);
    this.check('replaceJobStatus');
    const current = this.get('CifarTrainingJob', job.metadata.namespace ?? '', job.metadata.name);
    if (current === undefined) throw new ApiStatusError(404, 'NotFound', `cifartrainingjobs "${job.metadata.name}" not found`);
    if (job.metadata.resourceVersion !== current.metadata.resourceVersion) throw new ApiStatusError(409, 'Conflict', 'the object has been modified');
    return this.put('CifarTrainingJob', { ...current, status: clone(job.status ?? {}) });
  }

  async createEvent(event: EventRecord): Promise<void> {
    this.calls.push(`event ${event.reason}`);
    this.check('createEvent');
    this.events.push({ ...event });
  }

  async updateEventCount(namespace: string, name: string, count: number, lastTimestamp: Date): Promise<void> {
    this.check('updateEventCount');
    const event = this.events.find((e) => e.namespace === namespace && e.name === name);
    if (event === undefined) throw new ApiStatusError(404, 'NotFound', `events "${name}" not found`);
    event.count = count;
    event.lastTimestamp = lastTimestamp;
  }

  async getLease(namespace: string, name: string): Promise<LeaseRecord | undefined> {
    this.check('getLease');
    const lease = this.leases.get(`${namespace}/${name}`);
    return lease === undefined ? undefined : { ...lease };
  }

  async createLease(lease: LeaseRecord): Promise<LeaseRecord> {
    this.check('createLease');
    const key = `${lease.namespace}/${lease.name}`;
    if (this.leases.has(key)) throw new ApiStatusError(409, 'AlreadyExists', `leases "${lease.name}" already exists`);
    const stored = { ...lease, resourceVersion: String(++this.rv) };
    this.leases.set(key, stored);
    return { ...stored };
  }

  async updateLease(lease: LeaseRecord): Promise<LeaseRecord> {
    this.check('updateLease');
    const key = `${lease.namespace}/${lease.name}`;
    const current = this.leases.get(key);
    if (current === undefined) throw new ApiStatusError(404, 'NotFound', `leases "${lease.name}" not found`);
    if (lease.resourceVersion !== current.resourceVersion) throw new ApiStatusError(409, 'Conflict', 'the object has been modified');
    const stored = { ...lease, resourceVersion: String(++this.rv) };
    this.leases.set(key, stored);
    return { ...stored };
  }
}

/** A minimal valid CifarTrainingJob. */
export function testJob(name: string, spec: Partial<WatchedKinds['CifarTrainingJob']['spec']> = {}, namespace = 'default'): WatchedKinds['CifarTrainingJob'] {
  return {
    apiVersion: 'training.cifar-operator.io/v1alpha1',
    kind: 'CifarTrainingJob',
    metadata: { name, namespace, generation: 1 },
    spec: {
      image: 'ghcr.io/example/cifar-trainer:test',
      replicas: 2,
      gpusPerReplica: 0,
      backend: 'cpu',
      model: { architecture: 'lenet' },
      data: { train: 's3://bucket/train.rec' },
      checkpoint: { uri: 's3://bucket/ckpt' },
      ...spec,
    },
  };
}

/** Polls `check` every 10 ms until true or `timeoutMs` passes. */
export async function waitFor(check: () => boolean | Promise<boolean>, timeoutMs = 5000): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return true;
    await new Promise((r) => setTimeout(r, 10));
  }
  return check();
}
