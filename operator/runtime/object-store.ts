/**
 * The informer cache of one kind: objects by namespace/name plus secondary indexes.
 * Reconcile reads only from these stores, never from the API server.
 */
import type { ObjectMeta } from '../api/k8s-types.js';

export interface KubeObject {
  metadata: ObjectMeta;
}

export function objectKey(meta: Pick<ObjectMeta, 'name' | 'namespace'>): string {
  return meta.namespace === undefined || meta.namespace === '' ? meta.name : `${meta.namespace}/${meta.name}`;
}

export function splitKey(key: string): { namespace: string; name: string } {
  const slash = key.indexOf('/');
  return slash < 0 ? { namespace: '', name: key } : { namespace: key.slice(0, slash), name: key.slice(slash + 1) };
}

/** Index function: the index values an object is filed under. */
export type IndexFn<T> = (obj: T) => string[];

export interface StoreDelta<T> {
  added: T[];
  updated: Array<{ old: T; obj: T }>;
  removed: T[];
}

export class ObjectStore<T extends KubeObject> {
  private readonly items = new Map<string, T>();
  private readonly indexes = new Map<string, { fn: IndexFn<T>; entries: Map<string, Set<string>> }>();

  constructor(indexers: Record<string, IndexFn<T>> = {}) {
    for (const [name, fn] of Object.entries(indexers)) this.indexes.set(name, { fn, entries: new Map() });
  }

  get(key: string): T | undefined {
    return this.items.get(key);
  }

  list(): T[] {
    return [...this.items.values()];
  }

  keys(): string[] {
    return [...this.items.keys()];
  }

  get size(): number {
    return this.items.size;
  }

  byIndex(index: string, value: string): T[] {
    const entry = this.indexes.get(index);
    if (entry === undefined) throw new Error(`object store: no index named ${index}`);
    const keys = entry.entries.get(value);
    if (keys === undefined) return [];
    return [...keys].flatMap((k) => {
      const obj = this.items.get(k);
      return obj === undefined ? [] : [obj];
    });
  }

  /** Adds or replaces; returns the previous object. */
  upsert(obj: T): T | undefined {
    const key = objectKey(obj.metadata);
    const old = this.items.get(key);
    if (old !== undefined) this.unindex(key, old);
    this.items.set(key, obj);
    this.index(key, obj);
    return old;
  }

  remove(key: string): T | undefined {
    const old = this.items.get(key);
    if (old === undefined) return undefined;
    this.unindex(key, old);
    this.items.delete(key);
    return old;
  }

  /** Makes the store hold exactly `objs` (a relist) and reports what changed. */
  replace(objs: readonly T[]): StoreDelta<T> {
    const delta: StoreDelta<T> = { added: [], updated: [], removed: [] };
    const seen = new Set<string>();
    for (const obj of objs) {
      seen.add(objectKey(obj.metadata));
      const old = this.upsert(obj);
      if (old === undefined) delta.added.push(obj);
      else delta.updated.push({ old, obj });
    }
    for (const key of this.keys()) {
      if (seen.has(key)) continue;
      const old = this.remove(key);
      if (old !== undefined) delta.removed.push(old);
    }
    return delta;
  }

  private index(key: string, obj: T): void {
    for (const { fn, entries } of this.indexes.values()) {
      for (const value of fn(obj)) {
        let set = entries.get(value);
        if (set === undefined) entries.set(value, (set = new Set()));
        set.add(key);
      }
    }
  }

  private unindex(key: string, obj: T): void {
    for (const { fn, entries } of this.indexes.values()) {
      for (const value of fn(obj)) {
        const set = entries.get(value);
        set?.delete(key);
        if (set?.size === 0) entries.delete(value);
      }
    }
  }
}
