/**
 * The kubelet's log endpoint, GET /containerLogs/{namespace}/{pod}/{container}
 * (pkg/kubelet/server/server.go getContainerLogs and kuberuntime's ReadLogs), on a
 * loopback port the Node advertises as status.daemonEndpoints.kubeletEndpoint. The API
 * server proxies pods/log here. Refusals follow kubelet's wording
 * (validateContainerLogStatus): a container not started yet "is waiting to start", and
 * there is no previous instance because containers here are never restarted.
 */
import { open, stat } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { parseLog, renderRecords, type ReadOptions } from './cri-log.js';

/** What the agent knows about one container's log. */
export interface ContainerLogSource {
  logFile: string;
  containerName: string;
  /** waiting (with its reason), running, or terminated. */
  state(): { kind: 'waiting'; reason: string } | { kind: 'running' } | { kind: 'terminated' };
  /** Resolves when the process has exited and its log is complete. */
  finished: Promise<void>;
}

export interface LogServer {
  port: number;
  stop(): Promise<void>;
}

const FOLLOW_POLL_MS = 100;

function fail(res: ServerResponse, code: number, message: string): void {
  const body = JSON.stringify({ code, message });
  res.writeHead(code, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) });
  res.end(body);
}

function readOptions(q: URLSearchParams): ReadOptions & { limitBytes?: number } {
  const num = (k: string) => (q.has(k) ? Number(q.get(k)) : undefined);
  const since = num('sinceSeconds');
  const sinceTime = q.get('sinceTime');
  const sinceMs = since !== undefined ? Date.now() - since * 1000 : sinceTime ? Date.parse(sinceTime) : undefined;
  const tail = num('tailLines');
  const limit = num('limitBytes');
  return {
    ...(tail !== undefined ? { tailLines: tail } : {}),
    ...(sinceMs !== undefined && Number.isFinite(sinceMs) ? { sinceMs } : {}),
    timestamps: q.get('timestamps') === 'true',
    ...(limit !== undefined ? { limitBytes: limit } : {}),
  };
}

/** Reads from `offset` to the end; returns the complete lines and where the next read starts. */
async function readFrom(file: string, offset: number): Promise<{ text: string; next: number }> {
  const size = await stat(file).then((s) => s.size, () => 0);
  if (size <= offset) return { text: '', next: offset };
  const fh = await open(file, 'r');
  try {
    const buf = Buffer.alloc(size - offset);
    await fh.read(buf, 0, buf.length, offset);
    const lastNl = buf.lastIndexOf(0x0a);
    if (lastNl < 0) return { text: '', next: offset };
    return { text: buf.subarray(0, lastNl + 1).toString('utf8'), next: offset + lastNl + 1 };
  } finally {
    await fh.close();
  }
}

async function serveLog(req: IncomingMessage, res: ServerResponse, src: ContainerLogSource, q: URLSearchParams, ref: string): Promise<void> {
  if (q.get('previous') === 'true') return fail(res, 400, `previous terminated container "${src.containerName}" in pod "${ref}" not found`);
  const state = src.state();
  if (state.kind === 'waiting') return fail(res, 400, `container "${src.containerName}" in pod "${ref}" is waiting to start: ${state.reason}`);
  const opts = readOptions(q);
  let budget = opts.limitBytes ?? Infinity;
  res.writeHead(200, { 'Content-Type': 'text/plain; charset=utf-8', 'Transfer-Encoding': 'chunked' });
  res.flushHeaders();
  let closed = false;
  res.on('close', () => (closed = true));
  const send = (text: string): boolean => {
    if (text === '' || closed) return !closed && budget > 0;
    const bytes = Buffer.from(text, 'utf8');
    const part = bytes.length > budget ? bytes.subarray(0, budget) : bytes;
    budget -= part.length;
    res.write(part);
    return budget > 0;
  };
  let { text, next } = await readFrom(src.logFile, 0);
  let more = send(renderRecords(parseLog(text), opts));
  if (q.get('follow') === 'true') {
    let done = false;
    void src.finished.then(() => (done = true));
    const live = { ...opts, tailLines: undefined };
    while (more && !closed) {
      const finishedBefore = done;
      ({ text, next } = await readFrom(src.logFile, next));
      more = send(renderRecords(parseLog(text), live));
      // One more read after the process ended picks up its last lines.
      if (finishedBefore) break;
      await new Promise((r) => setTimeout(r, FOLLOW_POLL_MS));
    }
  }
  res.end();
  void req;
}

/** Starts the endpoint; `lookup(namespace, pod)` gives the containers the agent runs. */
export async function startLogServer(lookup: (namespace: string, pod: string) => ContainerLogSource | undefined, log: (line: string) => void): Promise<LogServer> {
  const server: Server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://kubelet');
    const m = /^\/containerLogs\/([^/]+)\/([^/]+)\/([^/]+)$/.exec(url.pathname);
    if (req.method !== 'GET' || !m) return fail(res, 404, `not found: ${url.pathname}`);
    const [ns, pod, container] = m.slice(1).map(decodeURIComponent);
    const src = lookup(ns, pod);
    if (!src) return fail(res, 404, `pod "${ns}/${pod}" does not exist on this node`);
    if (src.containerName !== container) return fail(res, 404, `container "${container}" not found in pod "${ns}/${pod}"`);
    serveLog(req, res, src, url.searchParams, pod).catch((err: unknown) => {
      log(`log server: ${ns}/${pod}: ${String(err)}`);
      if (!res.headersSent) fail(res, 500, String(err));
      else res.end();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  return {
    port: (server.address() as AddressInfo).port,
    async stop() {
      const closed = new Promise<void>((r) => server.close(() => r()));
      server.closeAllConnections();
      await closed;
    },
  };
}
