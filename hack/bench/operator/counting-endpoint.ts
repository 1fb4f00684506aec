/**
 * A second listener onto the local API server's store, for the operator alone, that counts
 * every request it serves. The benchmark and the node agent use the server's own listener,
 * so "requests the operator made" is exactly this endpoint's count: no user-agent
 * guessing, and the API server itself is not changed.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createHandler } from '../../local-cluster/apiserver/handlers.js';
import { parseRoute } from '../../local-cluster/apiserver/router.js';
import type { ApiServer } from '../../local-cluster/apiserver/server.js';

export interface RequestCounts {
  total: number;
  /**
   * By kind of request, e.g. `create pods`, `update cifartrainingjobs/status`, `watch services`;
   * a request answered with an error moves to `<kind> → HTTP <code>` once answered.
   */
  byKind: Map<string, number>;
}

export interface CountingEndpoint {
  url: string;
  /** A copy of the counts so far. */
  snapshot(): RequestCounts;
  close(): Promise<void>;
}

/** `verb resource[/subresource]` for a resource request, else `GET /path` (discovery and the like). */
export function requestKind(method: string, url: URL, isNamespaced: (g: string, v: string, p: string) => boolean): string {
  const route = parseRoute(url.pathname, isNamespaced);
  if (route.kind !== 'resource') return `${method} ${url.pathname}`;
  const what = route.subresource === undefined ? route.plural : `${route.plural}/${route.subresource}`;
  const watch = url.searchParams.get('watch');
  const verb =
    method === 'GET' ? (watch === 'true' || watch === '1' ? 'watch' : route.name === undefined ? 'list' : 'get')
    : method === 'POST' ? 'create'
    : method === 'PUT' ? 'update'
    : method === 'PATCH' ? 'patch'
    : method === 'DELETE' ? (route.name === undefined ? 'deletecollection' : 'delete')
    : method;
  return `${verb} ${what}`;
}

export function diffCounts(after: RequestCounts, before: RequestCounts): RequestCounts {
  const byKind = new Map<string, number>();
  for (const [k, v] of after.byKind) {
    const d = v - (before.byKind.get(k) ?? 0);
    if (d > 0) byKind.set(k, d);
  }
  return { total: after.total - before.total, byKind };
}

export async function startCountingEndpoint(api: ApiServer): Promise<CountingEndpoint> {
  let address = '';
  const handler = createHandler({ ops: api.ops, registry: api.registry, serverAddress: () => address, log: () => undefined });
  const isNamespaced = (g: string, v: string, p: string): boolean => api.registry.lookup(g, v, p)?.namespaced === true;
  const counts: RequestCounts = { total: 0, byKind: new Map() };
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    counts.total++;
    const kind = requestKind(req.method ?? 'GET', new URL(req.url ?? '/', 'http://local'), isNamespaced);
    const add = (k: string, d: number): void => void counts.byKind.set(k, (counts.byKind.get(k) ?? 0) + d);
    add(kind, 1);
    res.once('finish', () => {
      if (res.statusCode < 400) return;
      add(kind, -1);
      add(`${kind} → HTTP ${res.statusCode}`, 1);
    });
    handler(req, res);
  });
  server.keepAliveTimeout = 5_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  address = `127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url: `http://${address}`,
    snapshot: () => ({ total: counts.total, byKind: new Map(counts.byKind) }),
    async close() {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      await closed;
    },
  };
}
