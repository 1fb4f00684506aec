import { getArray, getObject, getString, isObject, type JsonObject } from './json.js';
import type { Store, StoreEvent } from './store.js';

export interface Collector {
  /** Resolves once no sweep is pending: tests and shutdown wait on it. */
  idle(): Promise<void>;
  stop(): void;
}

const NAMESPACE_KEY = '/namespaces';

function ownerUids(obj: JsonObject): string[] {
  return (getArray(getObject(obj, 'metadata'), 'ownerReferences') ?? []).filter(isObject).map((r) => getString(r, 'uid') ?? '');
}

/**
 * Background garbage collection, as kube-controller-manager does it: after a deletion,
 * objects whose owners are all gone are deleted (which cascades), and a deleted
 * namespace takes its contents with it. Sweeps run on a later tick, so a delete returns
 * before its dependents go, like the real Background propagation.
 */
export function startGarbageCollector(store: Store, deleteObject: (key: string, namespace: string, name: string) => void): Collector {
  let pending: Promise<void> | undefined;
  let stopped = false;

  const sweep = () => {
    pending = undefined;
    if (stopped) return;
    const uids = new Set<string>();
    const live = new Set<string>();
    const all = [...store.entries()];
    for (const { key, object } of all) {
      const meta = getObject(object, 'metadata');
      uids.add(getString(meta, 'uid') ?? '');
      if (key === NAMESPACE_KEY) live.add(getString(meta, 'name') ?? '');
    }
    for (const { key, object } of all) {
      const meta = getObject(object, 'metadata');
      const namespace = getString(meta, 'namespace') ?? '';
      const owners = ownerUids(object);
      const orphanedByNamespace = namespace !== '' && !live.has(namespace);
      const ownersGone = owners.length > 0 && owners.every((u) => !uids.has(u));
      if (orphanedByNamespace || ownersGone) deleteObject(key, namespace, getString(meta, 'name') ?? '');
    }
  };

  const schedule = () => {
    pending ??= new Promise<void>((resolve) =>
      setImmediate(() => {
        sweep();
        resolve();
      }),
    );
  };

  const unsubscribe = store.subscribe((ev: StoreEvent) => {
    if (ev.type === 'DELETED') schedule();
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
