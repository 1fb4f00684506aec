import t from 'tap';
import { createServer as createHttpServer, request, type IncomingMessage, type ServerResponse } from 'node:http';
import { createServer as createTcpServer, type AddressInfo, type Socket } from 'node:net';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { connectS3 } from '../../../trainer/io/s3-client.js';
import { resolveS3Config, type S3Config } from '../../../trainer/io/s3-config.js';
import { S3Error } from '../../../trainer/io/s3-errors.js';
import { S3ObjectSink } from '../../../trainer/io/s3-sink.js';
import { S3ObjectSource } from '../../../trainer/io/s3-source.js';
import { Rng } from '../../../trainer/util/rng.js';
import { startS3rver, type TeardownHost } from '../../helpers/s3rver.js';

type Fault = 'pass' | 'slowdown' | 'error500' | 'cut-body';

interface Proxy {
  endpoint: string;
  /** Method and Range header of every request that reached the proxy. */
  seen: { method: string; range: string | undefined }[];
}

/**
 * A tiny HTTP proxy in front of s3rver that injects faults: `plan(n)` decides what
 * happens to the n-th request (0-based). SigV4 signs the Host header, so headers are
 * forwarded untouched and s3rver still accepts the signature.
 */
async function startProxy(t: TeardownHost, upstream: string, plan: (n: number) => Fault): Promise<Proxy> {
  const target = new URL(upstream);
  const seen: Proxy['seen'] = [];
  const server = createHttpServer((req: IncomingMessage, res: ServerResponse) => {
    const fault = plan(seen.length);
    seen.push({ method: req.method ?? '?', range: req.headers.range });
    if (fault === 'slowdown' || fault === 'error500') {
      req.resume();
      const [status, code] = fault === 'slowdown' ? [503, 'SlowDown'] : [500, 'InternalError'];
      res.writeHead(status, { 'content-type': 'application/xml' });
      res.end(`<?xml version="1.0" encoding="UTF-8"?><Error><Code>${code}</Code><Message>injected</Message></Error>`);
      return;
    }
    const up = request(
      { host: target.hostname, port: target.port, method: req.method, path: req.url, headers: req.headers },
      (upRes) => {
        res.writeHead(upRes.statusCode ?? 502, upRes.headers);
        if (fault !== 'cut-body') {
          upRes.pipe(res);
          return;
        }
        // Send about half the body, then drop the connection mid-transfer.
        const half = Number(upRes.headers['content-length'] ?? 0) >> 1;
        let sent = 0;
        upRes.on('data', (chunk: Buffer) => {
          if (sent >= half) return;
          const piece = chunk.subarray(0, half - sent);
          sent += piece.length;
          res.write(piece);
          if (sent >= half) {
            upRes.destroy();
            res.socket?.destroy();
          }
        });
      },
    );
    up.on('error', () => res.socket?.destroy());
    req.pipe(up);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => {
    server.closeAllConnections();
    return new Promise<void>((resolve) => server.close(() => resolve()));
  });
  return { endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, seen };
}

function configFor(endpoint: string): S3Config {
  return resolveS3Config({ endpoint, forcePathStyle: true }, { AWS_ACCESS_KEY_ID: 'S3RVER', AWS_SECRET_ACCESS_KEY: 'S3RVER' });
}

function bytes(n: number): Buffer {
  const rng = new Rng(9);
  return Buffer.from(Array.from({ length: n }, () => rng.int(256)));
}

/** A port on 127.0.0.1 that nothing listens on: bind one, note it, release it. */
async function closedPort(): Promise<number> {
  const server = createTcpServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

t.test('failures against s3rver', async (t) => {
  const server = await startS3rver(t, { buckets: ['data'] });
  const direct = connectS3(server.config);
  t.teardown(() => direct.close());
  const payload = bytes(50_000);
  await direct.client.send(new PutObjectCommand({ Bucket: 'data', Key: 'obj', Body: payload }));

  t.test('a missing bucket or key fails at once with a clear message', async (t) => {
    const proxy = await startProxy(t, server.endpoint, () => 'pass');
    const conn = connectS3(configFor(proxy.endpoint));
    t.teardown(() => conn.close());
    const ep = proxy.endpoint.replace(/\./g, '\\.');

    const noBucket = new S3ObjectSource(conn, 'nope', 'k');
    await t.rejects(noBucket.size(), new RegExp(`^s3://nope/k: bucket does not exist at endpoint ${ep}$`));
    proxy.seen.length = 0;
    const err = await noBucket.read(0, 10).catch((e: unknown) => e);
    t.ok(err instanceof S3Error && err.kind === 'no-such-bucket' && err.attempts === 1, 'classified, one attempt');
    t.same(proxy.seen.map((s) => s.method), ['HEAD', 'HEAD'], 'HeadObject then HeadBucket, no retries');

    proxy.seen.length = 0;
    const noKey = new S3ObjectSource(conn, 'data', 'missing/key');
    await t.rejects(noKey.size(), new RegExp(`^s3://data/missing/key: object does not exist at endpoint ${ep}$`));
    t.equal(proxy.seen.length, 2, 'no retries for a missing key');
  });

  t.test('ranged GETs never ask past the end of the object', async (t) => {
    const proxy = await startProxy(t, server.endpoint, () => 'pass');
    const conn = connectS3(configFor(proxy.endpoint));
    t.teardown(() => conn.close());
    const src = new S3ObjectSource(conn, 'data', 'obj', { chunkBytes: 7_000 });
    for await (const _chunk of src.stream(123, 10_000_000)) void _chunk;
    await src.read(49_990, 1_000);
    await src.read(60_000, 10);
    const ranges = proxy.seen.filter((s) => s.method === 'GET').map((s) => s.range ?? '');
    t.ok(ranges.length > 7, `${ranges.length} ranged GETs`);
    for (const r of ranges) {
      const m = /^bytes=(\d+)-(\d+)$/.exec(r);
      t.ok(m && Number(m[2]) < payload.length && Number(m[1]) <= Number(m[2]), `${r} lies inside the object`);
    }
    t.equal(ranges.at(-1), 'bytes=49990-49999', 'the read at the end is clamped; the read beyond it sends nothing');
  });

  t.test('transient failures are retried until they pass', async (t) => {
    // HEAD: two SlowDowns then pass; first GET: a 500; second GET: body cut mid-way.
    const faults: Fault[] = ['slowdown', 'slowdown', 'pass', 'error500', 'cut-body'];
    const proxy = await startProxy(t, server.endpoint, (n) => faults[n] ?? 'pass');
    const conn = connectS3(configFor(proxy.endpoint), { retry: { baseDelayMs: 20 } });
    t.teardown(() => conn.close());
    const src = new S3ObjectSource(conn, 'data', 'obj');
    t.equal(await src.size(), payload.length);
    const got = await src.read(100, 40_000);
    t.ok(got.equals(payload.subarray(100, 40_100)), 'exact bytes after a 500 and a truncated body');
    t.same(proxy.seen.map((s) => s.method), ['HEAD', 'HEAD', 'HEAD', 'GET', 'GET', 'GET']);
  });

  t.test('retries are bounded: persistent 503 gives up with a clear message', async (t) => {
    const proxy = await startProxy(t, server.endpoint, () => 'slowdown');
    const conn = connectS3(configFor(proxy.endpoint), { retry: { maxAttempts: 3, baseDelayMs: 10 } });
    t.teardown(() => conn.close());
    const err = await new S3ObjectSource(conn, 'data', 'obj').size().catch((e: unknown) => e);
    t.ok(err instanceof S3Error, 'an S3Error');
    t.match((err as Error).message, /^s3:\/\/data\/obj: HeadObject: endpoint http:\/\/127\.0\.0\.1:\d+ is throttling or unavailable \(HTTP 503.*\) \(after 3 attempts\)$/);
    t.equal(proxy.seen.length, 3);
  });

  t.test('a sink commit is retried after a 503', async (t) => {
    const proxy = await startProxy(t, server.endpoint, (n) => (n === 0 ? 'slowdown' : 'pass'));
    const conn = connectS3(configFor(proxy.endpoint), { retry: { baseDelayMs: 10 } });
    t.teardown(() => conn.close());
    const sink = new S3ObjectSink(conn, 'data', 'written', { tmpDir: t.testdir() });
    await sink.write(payload);
    await sink.commit();
    const back = await new S3ObjectSource(direct, 'data', 'written').read(0, payload.length);
    t.ok(back.equals(payload));
    t.same(proxy.seen.map((s) => s.method), ['PUT', 'PUT']);
  });
});

t.test('an unreachable endpoint fails in bounded time with a clear message', async (t) => {
  const port = await closedPort();
  const conn = connectS3(configFor(`http://127.0.0.1:${port}`)); // default retry policy
  t.teardown(() => conn.close());
  const started = Date.now();
  const err = await new S3ObjectSource(conn, 'data', 'obj').size().catch((e: unknown) => e);
  const elapsed = Date.now() - started;
  t.ok(elapsed < 10_000, `failed after ${elapsed} ms`);
  t.ok(err instanceof S3Error && err.kind === 'unreachable', 'classified as unreachable');
  t.match(
    (err as Error).message,
    new RegExp(`^s3://data/obj: cannot connect to endpoint http://127\\.0\\.0\\.1:${port}: connection refused \\(ECONNREFUSED\\) \\(after 5 attempts\\)$`),
  );
});

t.test('an endpoint that accepts but never answers times out', async (t) => {
  const sockets = new Set<Socket>();
  const silent = createTcpServer((s) => {
    sockets.add(s);
    s.on('error', () => undefined);
  });
  await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
  t.teardown(() => {
    for (const s of sockets) s.destroy();
    return new Promise<void>((resolve) => silent.close(() => resolve()));
  });
  const endpoint = `http://127.0.0.1:${(silent.address() as AddressInfo).port}`;
  const conn = connectS3(configFor(endpoint), { requestTimeoutMs: 300, retry: { maxAttempts: 2, baseDelayMs: 10 } });
  t.teardown(() => conn.close());
  const started = Date.now();
  const err = await new S3ObjectSource(conn, 'data', 'obj').read(0, 10).catch((e: unknown) => e);
  const elapsed = Date.now() - started;
  t.ok(elapsed < 5_000, `gave up after ${elapsed} ms`);
  t.ok(err instanceof S3Error && err.kind === 'timeout' && err.attempts === 2, 'timeout, retried once');
  t.match((err as Error).message, /^s3:\/\/data\/obj: HeadObject: endpoint http:\/\/127\.0\.0\.1:\d+ did not answer in time: .*\(after 2 attempts\)$/);
});
