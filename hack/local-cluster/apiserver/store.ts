import { EventEmitter } from 'node:events';
import { clone, isObject, type JsonObject } from './json.js';

export type EventType = 'ADDED' | 'MODIFIED' | 'DELETED';

/** A change to one stored object, in resourceVersion order. */
export interface StoreEvent {
  type: EventType;
  key: string;
  rv: number;
  object: JsonObject;
  /** The object before a MODIFIED change, so watches can tell objects entering or leaving a selector. */
  previous?: JsonObject;
}

export interface StoreOptions {
  /** How many past events a watch can resume from before it gets 410 Expired. */
  historySize?: number;
}

function nameOf(obj: JsonObject): { namespace: string; name: string } {
  const m = isObject(obj.metadata) ? obj.metadata : {};
  return { namespace: typeof m.namespace === 'string' ? m.namespace : '', name: typeof m.name === 'string' ? m.name : '' };
}

function itemKey(namespace: string, name: string): string {
  return `${namespace}/${name}`;
}

/**
 * In-memory storage of every object under one global, monotonically increasing
 * resourceVersion (like etcd's revision), with a bounded event history for watches.
 * It stores what it is given: API semantics live in the handlers.
 */
export class Store {
  private revision = 0;
  private readonly data = new Map<string, Map<string, JsonObject>>();
  private readonly history: StoreEvent[] = [];
  private readonly historySize: number;
  private readonly events = new EventEmitter();

  constructor(opts: StoreOptions = {}) {
    this.historySize = opts.historySize ?? 10_000;
    this.events.setMaxListeners(0);
  }

  get resourceVersion(): number {
    return this.revision;
  }

  get(key: string, namespace: string, name: string): JsonObject | undefined {
    const o = this.data.get(key)?.get(itemKey(namespace, name));
    return o && clone(o);
  }

  /** Objects of one resource, optionally in one namespace, ordered by namespace and name. */
  list(key: string, namespace?: string): JsonObject[] {
    const items = [...(this.data.get(key)?.entries() ?? [])].filter(([k]) => namespace === undefined || k.startsWith(`${namespace}/`));
    return items.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, o]) => clone(o));
  }

  /** Every stored object with its storage key; the garbage collector scans these. */
  *entries(): Generator<{ key: string; object: JsonObject }> {
    for (const [key, items] of this.data) for (const o of items.values()) yield { key, object: o };
  }

  /** Writes an object (create or replace), stamping the next resourceVersion on it. */
  put(key: string, obj: JsonObject): JsonObject {
    const { namespace, name } = nameOf(obj);
    const items = this.data.get(key) ?? new Map<string, JsonObject>();
    this.data.set(key, items);
    const previous = items.get(itemKey(namespace, name));
    const rv = ++this.revision;
    const stored = clone(obj);
    (stored.metadata as JsonObject).resourceVersion = String(rv);
    items.set(itemKey(namespace, name), stored);
    this.record(previous ? { type: 'MODIFIED', key, rv, object: stored, previous } : { type: 'ADDED', key, rv, object: stored });
    return clone(stored);
  }

  /** Removes an object; the DELETED event carries a new resourceVersion, as in etcd. */
  remove(key: string, namespace: string, name: string): JsonObject | undefined {
    const items = this.data.get(key);
    const existing = items?.get(itemKey(namespace, name));
    if (!items || !existing) return undefined;
    items.delete(itemKey(namespace, name));
    const rv = ++this.revision;
    const gone = clone(existing);
    (gone.metadata as JsonObject).resourceVersion = String(rv);
    this.record({ type: 'DELETED', key, rv, object: gone });
    return clone(gone);
  }

  private record(ev: StoreEvent): void {
    this.history.push(ev);
    if (this.history.length > this.historySize) this.history.splice(0, this.history.length - this.historySize);
    this.events.emit('event', ev);
  }

  /**
   * Events after `rv` for one storage key, or undefined when the history no longer reaches
   * back that far (the caller answers 410 Expired).
   */
  since(key: string, rv: number): StoreEvent[] | undefined {
    if (rv >= this.revision) return [];
    const oldest = this.history[0];
    if (!oldest || oldest.rv > rv + 1) return undefined;
    return this.history.filter((e) => e.rv > rv && e.key === key);
  }

  subscribe(fn: (ev: StoreEvent) => void): () => void {
    this.events.on('event', fn);
    return () => this.events.off('event', fn);
  }
}
