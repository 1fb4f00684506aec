import { createServer, type Server } from 'node:http';
import type { Registry } from 'prom-client';
import type { ProgressSnapshot } from './progress-tracker.js';
import { PROGRESS_PATH } from '../../contract/progress.js';

/** Pollers are the operator and Prometheus: a handful of connections, each a few requests a minute. */
export const MAX_STATUS_CONNECTIONS = 32;
/** An idle keep-alive connection is closed after this long; a request must arrive whole within the request timeout. */
export const STATUS_IDLE_TIMEOUT_MS = 15_000;
export const STATUS_REQUEST_TIMEOUT_MS = 10_000;

export interface StatusServer {
  url: string;
  close(): Promise<void>;
}

/**
 * The trainer's small HTTP endpoint: /metrics for Prometheus, /progress for the operator
 * (rank 0's snapshot goes into the job's status), /healthz for probes. Read-only: nothing
 * here changes training.
 */
export async function startStatusServer(options: {
  host: string;
  port: number;
  registry: Registry;
  progress: () => ProgressSnapshot | undefined;
  maxConnections?: number;
  idleTimeoutMs?: number;
}): Promise<StatusServer> {
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD' }).end();
      return;
    }
    if (path === '/metrics') {
      options.registry
        .metrics()
        .then((text) => res.writeHead(200, { 'content-type': options.registry.contentType }).end(text))
        .catch((err: unknown) => res.writeHead(500).end(String(err)));
      return;
    }
    if (path === PROGRESS_PATH) {
      const snapshot = options.progress();
      if (!snapshot) res.writeHead(204).end();
      else res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(snapshot));
      return;
    }
    if (path === '/healthz') {
      res.writeHead(200, { 'content-type': 'text/plain' }).end('ok\n');
      return;
    }
    res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
  });
  // Bounded for anyone who can reach the port: connections beyond the cap are refused, idle
  // ones closed, and slow senders cut off (headers and the whole request).
  server.maxConnections = options.maxConnections ?? MAX_STATUS_CONNECTIONS;
  server.keepAliveTimeout = options.idleTimeoutMs ?? STATUS_IDLE_TIMEOUT_MS;
  server.headersTimeout = STATUS_REQUEST_TIMEOUT_MS;
  server.requestTimeout = STATUS_REQUEST_TIMEOUT_MS;
  // A connection that never sends a request, or stops mid-way, is idle too.
  server.timeout = options.idleTimeoutMs ?? STATUS_IDLE_TIMEOUT_MS;
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) => reject(new Error(`metrics server: cannot listen on ${options.host}:${options.port}: ${err.code ?? err.message}`)));
    server.listen(options.port, options.host, resolve);
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : options.port;
  const host = options.host.includes(':') ? `[${options.host}]` : options.host;
  return {
    url: `http://${host}:${port}`,
    // Pollers (the operator, Prometheus) hold keep-alive connections; close() alone would wait
    // for them to go away, which can hold a finished trainer's exit indefinitely.
    close: () =>
      new Promise((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
