/**
 * /metrics (Prometheus text), /healthz (the process is alive and serving) and /readyz
 * (the informer caches have synced). A standby replica that is not the leader is ready
 * too: its caches are warm, and keeping both replicas behind the Service means the metrics
 * endpoint of each stays scrapeable and failover needs no readiness flip.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';
import type { Logger } from './logger.js';

export interface ObservabilityServerOptions {
  host: string;
  port: number;
  registry: Registry;
  isReady: () => boolean;
  logger: Logger;
}

export interface ObservabilityServer {
  readonly host: string;
  readonly port: number;
  close(): Promise<void>;
}

/** Parses `--metrics-addr`: `:8080` (all interfaces), `127.0.0.1:0`, `[::1]:8080`. */
export function parseListenAddress(text: string): { host: string; port: number } {
  const match = /^(?:\[([^\]]+)\]|([^:]*)):(\d{1,5})$/.exec(text);
  const port = match === null ? NaN : Number(match[3]);
  if (match === null || port > 65535) throw new Error(`--metrics-addr ${text}: expected [host]:port, e.g. :8080 or 127.0.0.1:8080`);
  const host = match[1] ?? match[2] ?? '';
  return { host: host === '' ? '0.0.0.0' : host, port };
}

export async function startObservabilityServer(opts: ObservabilityServerOptions): Promise<ObservabilityServer> {
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD' }).end();
      return;
    }
    if (path === '/healthz') {
      res.writeHead(200, { 'content-type': 'text/plain' }).end('ok\n');
    } else if (path === '/readyz') {
      const ready = opts.isReady();
      res.writeHead(ready ? 200 : 503, { 'content-type': 'text/plain' }).end(ready ? 'ok\n' : 'informer caches not synced\n');
    } else if (path === '/metrics') {
      opts.registry.metrics().then(
        (text) => res.writeHead(200, { 'content-type': opts.registry.contentType }).end(text),
        (err: unknown) => {
          opts.logger.error('metrics collection failed', { err: err instanceof Error ? err.message : String(err) });
          res.writeHead(500, { 'content-type': 'text/plain' }).end('metrics collection failed\n');
        },
      );
    } else {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err) => reject(new Error(`metrics server: cannot listen on ${opts.host}:${opts.port}: ${err.message}`)));
    server.listen(opts.port, opts.host, resolve);
  });
  const address = server.address() as AddressInfo;
  return {
    host: address.address,
    port: address.port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
