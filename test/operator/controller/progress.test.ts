import t from 'tap';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { HttpProgressSource, parseProgress } from '../../../operator/controller/progress.js';
import { createJsonLogger } from '../../../operator/observability/logger.js';
import { waitFor } from '../../helpers/fake-cluster-api.js';

/** A stand-in for rank 0's /progress endpoint. */
async function rank0(t: { teardown(fn: () => unknown): void }, respond: () => { status: number; body: string; delayMs?: number }) {
  let hits = 0;
  const server = createServer((req, res) => {
    hits++;
    const r = respond();
    const send = () => res.writeHead(r.status, { 'content-type': 'application/json' }).end(r.body);
    if (req.url !== '/progress') res.writeHead(404).end();
    else if (r.delayMs === undefined) send();
    else setTimeout(send, r.delayMs);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => new Promise<void>((resolve) => {
    server.closeAllConnections();
    server.close(() => resolve());
  }));
  return { port: (server.address() as AddressInfo).port, hits: () => hits };
}

t.test('parseProgress keeps known fields of the right type', async (t) => {
  t.same(parseProgress({ epoch: 2, step: 1.5, validationAccuracy: 0.5, lastCheckpoint: 's3://b/c', extra: 1, trainLoss: 'x' }, 'u'), { epoch: 2, validationAccuracy: 0.5, lastCheckpoint: 's3://b/c' });
  t.throws(() => parseProgress([1], 'http://x/progress'), /http:\/\/x\/progress: expected a JSON object/);
  t.throws(() => parseProgress({}, 'u'), /no progress fields/);
});

t.test('polls rank 0 at most once per interval, caches the last good report, and announces changes', async (t) => {
  let body = JSON.stringify({ epoch: 1, totalEpochs: 5, imagesPerSecond: 120.5 });
  let status = 200;
  const server = await rank0(t, () => ({ status, body }));
  let now = 0;
  const updates: string[] = [];
  const source = new HttpProgressSource({ intervalMs: 10_000, logger: createJsonLogger({ level: 'error', write: () => undefined }), onUpdate: (k) => updates.push(k), now: () => now });
  const target = { key: 'ns/j', uid: 'u1', attempt: 0, podIP: '127.0.0.1', port: server.port };
  t.equal(source.current(target), undefined, 'nothing cached yet; never waits on the network');
  t.ok(await waitFor(() => updates.length === 1), 'a new report triggers a reconcile');
  t.same(source.current(target), { epoch: 1, totalEpochs: 5, imagesPerSecond: 120.5 });
  t.equal(server.hits(), 1, 'no second fetch within the interval');
  now = 10_000;
  status = 503;
  source.current(target);
  t.ok(await waitFor(() => server.hits() === 2));
  await new Promise((r) => setTimeout(r, 20));
  t.same(source.current(target), { epoch: 1, totalEpochs: 5, imagesPerSecond: 120.5 }, 'a failed fetch keeps the last good report');
  t.equal(updates.length, 1);
  now = 20_000;
  status = 200;
  body = JSON.stringify({ epoch: 2, totalEpochs: 5 });
  source.current(target);
  t.ok(await waitFor(() => updates.length === 2));
  t.same(source.current({ ...target }), { epoch: 2, totalEpochs: 5 });
  t.equal(source.current({ ...target, attempt: 1 }), undefined, 'a new attempt does not reuse the old report');
});

t.test('a slow rank 0 times out and is logged at debug level only', async (t) => {
  const server = await rank0(t, () => ({ status: 200, body: '{"epoch":1}', delayMs: 1000 }));
  const lines: string[] = [];
  const source = new HttpProgressSource({ intervalMs: 1, timeoutMs: 100, logger: createJsonLogger({ level: 'debug', write: (l) => lines.push(l) }), onUpdate: () => undefined });
  const started = Date.now();
  source.current({ key: 'ns/slow', uid: 'u', attempt: 0, podIP: '127.0.0.1', port: server.port });
  t.ok(await waitFor(() => lines.length > 0, 3000));
  t.ok(Date.now() - started < 900, 'gave up at the timeout');
  const entry = JSON.parse(lines[0] ?? '{}') as Record<string, unknown>;
  t.equal(entry.level, 'debug');
  t.equal(entry.job, 'ns/slow');
  t.match(String(entry.url), /^http:\/\/127\.0\.0\.1:\d+\/progress$/);
});

t.test('the final progress comes from the finished trainer termination message', async (t) => {
  const { progressFromTerminationMessage } = await import('../../../operator/controller/progress.js');
  t.same(progressFromTerminationMessage('{"progress":{"epoch":2,"totalEpochs":2,"validationAccuracy":0.41,"bogus":"x"}}', 'pod default/a-worker-0'), { epoch: 2, totalEpochs: 2, validationAccuracy: 0.41 });
  t.equal(progressFromTerminationMessage('cifar-trainer train: out of memory', 'pod x'), undefined, 'a plain failure message is not progress');
  t.equal(progressFromTerminationMessage('{"progress":', 'pod x'), undefined, 'truncated JSON is ignored');
  t.equal(progressFromTerminationMessage(undefined, 'pod x'), undefined);
});
