/**
 * The controllers of kube-controller-manager that deletion depends on, run in-process:
 *
 * - the garbage collector (pkg/controller/garbagecollector, documented in
 *   https://kubernetes.io/docs/concepts/architecture/garbage-collection/): a dependent
 *   whose owners are all gone is deleted (Background); an owner deleted with Foreground
 *   carries the `foregroundDeletion` finalizer until every dependent whose reference has
 *   `blockOwnerDeletion: true` is gone, its dependents being deleted first; an owner
 *   deleted with Orphan carries the `orphan` finalizer until its dependents no longer
 *   reference it. References to owners that still exist but are not going away are kept.
 * - the namespace controller (pkg/controller/namespace): a Terminating namespace's
 *   contents are deleted (pods gracefully), then the namespace itself.
 *
 * Sweeps run on a later tick after a relevant change, so a DELETE returns before its
 * dependents go, as with the real, asynchronous controllers.
 */
import { FINALIZER_FOREGROUND, FINALIZER_ORPHAN, type PropagationPolicy } from './deletion.js';
import { getArray, getObject, getString, isObject, type JsonObject } from './json.js';
import type { Operations } from './operations.js';
import { storageKey, type ResourceType } from './resource-registry.js';
import { ApiError } from './status.js';
import type { StoreEvent } from './store.js';

export interface Collector {
  /** Resolves once no sweep is pending: tests and shutdown wait on it. */
  idle(): Promise<void>;
  stop(): void;
}

const NAMESPACE_KEY = '/namespaces';

interface OwnerRef {
  apiVersion: string;
  kind: string;
  name: string;
  uid: string;
  blockOwnerDeletion: boolean;
}

interface Entry {
  key: string;
  object: JsonObject;
}

function metaOf(o: JsonObject): JsonObject {
  return getObject(o, 'metadata') ?? {};
}

function refsOf(o: JsonObject): OwnerRef[] {
  return (getArray(metaOf(o), 'ownerReferences') ?? []).filter(isObject).map((r) => ({
    apiVersion: getString(r, 'apiVersion') ?? '',
    kind: getString(r, 'kind') ?? '',
    name: getString(r, 'name') ?? '',
    uid: getString(r, 'uid') ?? '',
    blockOwnerDeletion: r.blockOwnerDeletion === true,
  }));
}

function finalizers(o: JsonObject): string[] {
  return (getArray(metaOf(o), 'finalizers') ?? []).filter((f): f is string => typeof f === 'string');
}

function deleting(o: JsonObject): boolean {
  return typeof metaOf(o).deletionTimestamp === 'string';
}

/**
 * Changes the garbage collector or the namespace controller has to look at: removals and
 * objects being deleted. (An object created with an owner that never existed is collected
 * at the next such change, not at once as the real collector's graph builder would.)
 */
function relevant(ev: StoreEvent): boolean {
  if (ev.type === 'DELETED') return true;
  return deleting(ev.object) || (ev.previous !== undefined && deleting(ev.previous));
}

export function startGarbageCollector(ops: Operations, typeForKey: (key: string) => ResourceType | undefined, log: (line: string) => void = () => undefined): Collector {
  const store = ops.store;
  let pending: Promise<void> | undefined;
  let stopped = false;

  const where = (e: Entry): string => {
    const ns = getString(metaOf(e.object), 'namespace');
    return `${e.key} ${ns ? `${ns}/` : ''}${getString(metaOf(e.object), 'name') ?? ''}`;
  };

  /** Deletes through the API semantics (graceful pods, finalizers), tolerating a race with others. */
  const remove = (e: Entry, policy: PropagationPolicy): void => {
    const t = typeForKey(e.key);
    if (!t) return;
    const meta = metaOf(e.object);
    try {
      ops.remove(t, getString(meta, 'namespace') ?? '', getString(meta, 'name') ?? '', { dryRun: false, propagationPolicy: policy, preconditions: { uid: getString(meta, 'uid') ?? '' } });
      log(`gc: deleted ${where(e)} (${policy})`);
    } catch (err) {
      if (!(err instanceof ApiError && (err.code === 404 || err.code === 409))) log(`gc: ${where(e)}: ${(err as Error).message}`);
    }
  };

  const mutate = (e: Entry, change: (meta: JsonObject) => void, what: string): void => {
    const t = typeForKey(e.key);
    if (!t) return;
    const meta = metaOf(e.object);
    try {
      ops.updateMetadata(t, getString(meta, 'namespace') ?? '', getString(meta, 'name') ?? '', getString(meta, 'uid') ?? '', change);
      log(`gc: ${what} on ${where(e)}`);
    } catch (err) {
      if (!(err instanceof ApiError && (err.code === 404 || err.code === 409))) log(`gc: ${where(e)}: ${(err as Error).message}`);
    }
  };

  const sweepNamespaces = (all: Entry[]): void => {
    const terminating = new Set(all.filter((e) => e.key === NAMESPACE_KEY && deleting(e.object)).map((e) => getString(metaOf(e.object), 'name') ?? ''));
    if (terminating.size === 0) return;
    const left = new Set<string>();
    for (const e of all) {
      const ns = getString(metaOf(e.object), 'namespace') ?? '';
      if (!terminating.has(ns)) continue;
      left.add(ns);
      if (!deleting(e.object)) remove(e, 'Background');
    }
    for (const e of all) {
      const name = getString(metaOf(e.object), 'name') ?? '';
      if (e.key === NAMESPACE_KEY && terminating.has(name) && !left.has(name) && finalizers(e.object).length === 0) {
        store.remove(NAMESPACE_KEY, '', name);
        log(`namespace controller: namespace ${name} is empty and removed`);
      }
    }
  };

  const sweep = (): void => {
    pending = undefined;
    if (stopped) return;
    const all: Entry[] = [...store.entries()].map(({ key, object }) => ({ key, object }));
    sweepNamespaces(all);
    const byUid = new Map<string, Entry>();
    const dependentsOf = new Map<string, Array<{ entry: Entry; ref: OwnerRef }>>();
    for (const e of all) {
      byUid.set(getString(metaOf(e.object), 'uid') ?? '', e);
      for (const ref of refsOf(e.object)) {
        const list = dependentsOf.get(ref.uid);
        if (list) list.push({ entry: e, ref });
        else dependentsOf.set(ref.uid, [{ entry: e, ref }]);
      }
    }

    /** The owner a reference points at, as the real collector finds it: kind, namespace, name, then uid. */
    const lookupOwner = (dependent: JsonObject, ref: OwnerRef): JsonObject | undefined | 'unresolvable' => {
      const t = ops.registry.byKind(ref.apiVersion, ref.kind);
      if (!t) return 'unresolvable';
      const ns = getString(metaOf(dependent), 'namespace') ?? '';
      // A cluster-scoped dependent cannot have a namespaced owner: such a reference is dangling.
      if (t.namespaced && ns === '') return undefined;
      const owner = byUid.get(ref.uid);
      if (!owner || owner.key !== storageKey(t) || getString(metaOf(owner.object), 'name') !== ref.name) return undefined;
      if (t.namespaced && getString(metaOf(owner.object), 'namespace') !== ns) return undefined;
      return owner.object;
    };
    const classify = (obj: JsonObject): { solid: OwnerRef[]; dangling: OwnerRef[]; waiting: OwnerRef[] } => {
      const c = { solid: [] as OwnerRef[], dangling: [] as OwnerRef[], waiting: [] as OwnerRef[] };
      for (const ref of refsOf(obj)) {
        const owner = lookupOwner(obj, ref);
        if (owner === 'unresolvable') c.solid.push(ref);
        else if (owner === undefined) c.dangling.push(ref);
        else if (deleting(owner) && finalizers(owner).includes(FINALIZER_FOREGROUND)) c.waiting.push(ref);
        else c.solid.push(ref);
      }
      return c;
    };

    // Owners being deleted with the collector's finalizers.
    for (const e of all) {
      if (!deleting(e.object)) continue;
      const uid = getString(metaOf(e.object), 'uid') ?? '';
      const deps = dependentsOf.get(uid) ?? [];
      const fins = finalizers(e.object);
      if (fins.includes(FINALIZER_ORPHAN)) {
        for (const d of deps) mutate(d.entry, (m) => dropRefs(m, new Set([uid])), `removed the owner reference to ${uid} (orphan)`);
        mutate(e, (m) => dropFinalizer(m, FINALIZER_ORPHAN), 'orphaned the dependents; removed the orphan finalizer');
      } else if (fins.includes(FINALIZER_FOREGROUND) && !deps.some((d) => d.ref.blockOwnerDeletion)) {
        mutate(e, (m) => dropFinalizer(m, FINALIZER_FOREGROUND), 'no blocking dependents left; removed the foregroundDeletion finalizer');
      }
    }

    // Dependents (attemptToDeleteItem): delete those whose owners are all gone or waiting on them.
    for (const snapshot of all) {
      if (refsOf(snapshot.object).length === 0 || deleting(snapshot.object)) continue;
      const first = classify(snapshot.object);
      if (first.dangling.length === 0 && first.waiting.length === 0) continue;
      // Read again before acting: the owner loop above may have just changed it (orphaning drops references).
      const m = metaOf(snapshot.object);
      const fresh = store.get(snapshot.key, getString(m, 'namespace') ?? '', getString(m, 'name') ?? '');
      if (!fresh || refsOf(fresh).length === 0 || deleting(fresh)) continue;
      const e: Entry = { key: snapshot.key, object: fresh };
      const { solid, dangling, waiting } = classify(fresh);
      if (dangling.length === 0 && waiting.length === 0) continue;
      if (solid.length > 0) {
        const drop = new Set([...dangling, ...waiting].map((r) => r.uid));
        mutate(e, (m) => dropRefs(m, drop), `removed references to owners that are gone (${[...drop].join(', ')})`);
        continue;
      }
      const uid = getString(metaOf(e.object), 'uid') ?? '';
      const hasDependents = (dependentsOf.get(uid) ?? []).length > 0;
      const fins = finalizers(e.object);
      const policy: PropagationPolicy = waiting.length > 0 && hasDependents ? 'Foreground' : fins.includes(FINALIZER_ORPHAN) ? 'Orphan' : fins.includes(FINALIZER_FOREGROUND) ? 'Foreground' : 'Background';
      remove(e, policy);
    }
  };

  const schedule = (): void => {
    pending ??= new Promise<void>((resolve) =>
      setImmediate(() => {
        sweep();
        resolve();
      }),
    );
  };

  const unsubscribe = store.subscribe((ev: StoreEvent) => {
    if (relevant(ev)) schedule();
  });

  return {
    async idle() {
      for (let i = 0; i < 1000 && pending; i++) await pending;
    },
    stop() {
      stopped = true;
      unsubscribe();
    },
  };
}

/** Removes the references to `uids` from current metadata (the list stays, possibly empty). */
function dropRefs(meta: JsonObject, uids: ReadonlySet<string>): void {
  meta.ownerReferences = (getArray(meta, 'ownerReferences') ?? []).filter((r) => !(isObject(r) && typeof r.uid === 'string' && uids.has(r.uid)));
}

function dropFinalizer(meta: JsonObject, finalizer: string): void {
  meta.finalizers = (getArray(meta, 'finalizers') ?? []).filter((f) => f !== finalizer);
}
