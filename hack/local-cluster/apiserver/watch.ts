import type { ServerResponse } from 'node:http';
import { getObject, getString, type JsonObject } from './json.js';
import type { Operations, Selectors } from './operations.js';
import { storageKey, type ResourceType } from './resource-registry.js';
import { labelsOf, matchesFields, matchesLabels } from './selectors.js';
import { failureStatus } from './status.js';
import type { EventType, StoreEvent } from './store.js';
import { toTable, type IncludeObject } from './table.js';

export interface WatchRequest {
  type: ResourceType;
  namespace?: string;
  selectors: Selectors;
  resourceVersion?: string;
  timeoutSeconds: number;
  /** Set when the client asked for Tables (kubectl get -w). */
  table?: IncludeObject;
}

function matches(req: WatchRequest, obj: JsonObject): boolean {
  if (req.namespace !== undefined && req.type.namespaced && getString(getObject(obj, 'metadata'), 'namespace') !== req.namespace) return false;
  return matchesLabels(req.selectors.labels, labelsOf(obj)) && matchesFields(req.selectors.fields, obj);
}

/**
 * What a watcher with a selector sees of a store event: an object that starts matching
 * is ADDED, one that stops matching is DELETED, as with the real server's filtered watch.
 */
export function visibleEvent(req: WatchRequest, ev: StoreEvent): { type: EventType; object: JsonObject } | undefined {
  if (ev.key !== storageKey(req.type)) return undefined;
  const now = matches(req, ev.object);
  if (ev.type !== 'MODIFIED' || !ev.previous) return now ? { type: ev.type, object: ev.object } : undefined;
  const before = matches(req, ev.previous);
  if (now && before) return { type: 'MODIFIED', object: ev.object };
  if (now) return { type: 'ADDED', object: ev.object };
  if (before) return { type: 'DELETED', object: ev.object };
  return undefined;
}

/**
 * Streams watch events as newline-delimited JSON. Headers are flushed at once (clients
 * wait for them before reading). A resourceVersion older than the kept history gets an
 * ERROR event carrying a 410 Expired Status and the stream ends, as from the real server.
 */
export function serveWatch(res: ServerResponse, ops: Operations, req: WatchRequest): void {
  res.writeHead(200, { 'Content-Type': 'application/json', 'Cache-Control': 'no-cache, private', 'Transfer-Encoding': 'chunked' });
  res.flushHeaders();
  let first = true;
  const send = (type: string, object: JsonObject) => {
    const rendered = type === 'ERROR' ? object : ops.render(req.type, object);
    const payload = req.table && type !== 'ERROR' ? toTable(req.type, [rendered], { resourceVersion: String(getObject(rendered, 'metadata')?.resourceVersion ?? '') }, req.table, first) : rendered;
    first = false;
    res.write(`${JSON.stringify({ type, object: payload })}\n`);
  };
  const rv = req.resourceVersion;
  const store = ops.store;
  let backlog: StoreEvent[];
  if (rv === undefined || rv === '' || rv === '0') {
    const key = storageKey(req.type);
    for (const o of store.list(key, req.type.namespaced ? req.namespace : undefined)) if (matches(req, o)) send('ADDED', o);
    backlog = [];
  } else {
    const n = Number(rv);
    const since = Number.isInteger(n) && n >= 0 ? store.since(storageKey(req.type), n) : undefined;
    if (!since) {
      const message = Number.isInteger(n) ? `too old resource version: ${rv} (${store.resourceVersion})` : `invalid resourceVersion ${JSON.stringify(rv)}`;
      send('ERROR', failureStatus(410, 'Expired', message));
      res.end();
      return;
    }
    backlog = since;
  }
  for (const ev of backlog) {
    const v = visibleEvent(req, ev);
    if (v) send(v.type, v.object);
  }
  const unsubscribe = store.subscribe((ev) => {
    const v = visibleEvent(req, ev);
    if (v && !res.writableEnded) send(v.type, v.object);
  });
  const timer = setTimeout(() => res.end(), req.timeoutSeconds * 1000);
  timer.unref();
  res.on('close', () => {
    clearTimeout(timer);
    unsubscribe();
  });
}
