import t from 'tap';
import { connect, createServer, type Socket } from 'node:net';
import { GroupMismatchError, RendezvousTimeoutError } from '../../../trainer/dist/errors.js';
import { exitCodeFor, EXIT_RETRYABLE } from '../../../trainer/dist/exit-codes.js';
import { encodeFrame, FrameType } from '../../../trainer/dist/framing.js';
import { joinGroup, type Group } from '../../../trainer/dist/group.js';
import { FINGERPRINT, SECRET, freePort, podIp, rankConfig, waitFor, type ClusterOptions } from '../../helpers/dist-cluster.js';

interface Logged {
  lines: string[];
  log: (l: string) => void;
}
const logger = (): Logged => {
  const lines: string[] = [];
  return { lines, log: (l) => lines.push(l) };
};

function join(n: number, rank: number, port: number, o: ClusterOptions = {}, log?: Logged, fingerprint = FINGERPRINT): Promise<Group> {
  return joinGroup(rankConfig(n, rank, port, { rendezvousTimeoutS: 5, peerTimeoutS: 2, ...o }), { fingerprint, log: log?.log });
}

/** Opens a raw socket to the master, sends `bytes`, and resolves when the master closes it. */
function rawClient(port: number, bytes: Buffer): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = connect({ host: podIp(0), port }, () => {
      s.write(bytes);
    });
    s.on('error', () => undefined);
    s.resume(); // read the challenge, so the close is seen
    s.on('close', () => resolve(s));
    setTimeout(() => reject(new Error('master did not close the raw connection within 5 s')), 5000).unref();
  });
}

/** Resolves once `host:port` accepts connections (polling, bounded). */
async function listening(host: string, port: number, ms = 15_000): Promise<void> {
  const end = Date.now() + ms;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = connect({ host, port }, () => {
        s.destroy();
        resolve(true);
      });
      s.on('error', () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > end) throw new Error(`${host}:${port} did not start listening within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

async function settle(...gs: Promise<Group>[]): Promise<void> {
  const rs = await Promise.allSettled(gs);
  await Promise.all(rs.map((r) => (r.status === 'fulfilled' ? r.value.close() : undefined)));
}

t.test('a wrong secret or another job is refused and logged; the right rank still joins', async (t) => {
  const port = await freePort(podIp(0));
  const masterLog = logger();
  const master = join(2, 0, port, { rendezvousTimeoutS: 30 }, masterLog);
  // The refusing master has not proved it holds the secret, so the worker cannot tell it
  // from an impostor: it retries until its own deadline, then fails retryably.
  const wrongSecret = join(2, 1, port, { secret: 'not-the-job-secret-at-all', rendezvousTimeoutS: 1 });
  await t.rejects(wrongSecret, RendezvousTimeoutError);
  await t.rejects(wrongSecret, /refused our handshake before proving it holds the job secret/);
  const otherJob = join(2, 1, port, { jobId: 'another-job', rendezvousTimeoutS: 1 });
  await t.rejects(otherJob, RendezvousTimeoutError);
  const good = join(2, 1, port);
  const [g0, g1] = await Promise.all([master, good]);
  const data = [Float32Array.from([2]), Float32Array.from([4])];
  await Promise.all([g0.allReduce(data[0] as Float32Array), g1.allReduce(data[1] as Float32Array)]);
  t.same([data[0]?.[0], data[1]?.[0]], [3, 3], 'the group works after refusing strangers');
  const refusals = masterLog.lines.filter((l) => /refused connection from 127\.0\.0\.3:\d+: .*bad HMAC for rank 1/.test(l));
  t.ok(refusals.length >= 2, `both strangers logged (each retried):\n${masterLog.lines.join('\n')}`);
  t.ok(masterLog.lines.some((l) => l.includes('"another-job" is not ours')), 'the foreign job id is named');
  t.notOk(masterLog.lines.some((l) => l.includes(SECRET)), 'the secret is never logged');
  await Promise.all([g0.close(), g1.close()]);
});

t.test('garbage and unauthenticated DATA are refused without harming rendezvous', async (t) => {
  const port = await freePort(podIp(0));
  const masterLog = logger();
  const master = join(2, 0, port, {}, masterLog);
  await listening(podIp(0), port);
  await rawClient(port, Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n'));
  await rawClient(port, encodeFrame(FrameType.Data, new Uint8Array(64)));
  const huge = Buffer.alloc(5);
  huge.writeUInt32BE(0x7fffffff, 0);
  huge.writeUInt8(FrameType.Hello, 4);
  await rawClient(port, huge);
  const [g0, g1] = await Promise.all([master, join(2, 1, port)]);
  const lines = masterLog.lines.join('\n');
  t.match(lines, /refused connection from 127\.0\.0\.1:\d+: .*sent garbage: frame at stream byte 0: bad frame type 0x2f/);
  t.match(lines, /sent garbage: .*unexpected Data frame/);
  t.match(lines, /Hello frame of 2147483647 bytes exceeds the limit/);
  await Promise.all([g0.close(), g1.close()]);
});

t.test('a listener without the secret cannot pose as the master', async (t) => {
  const port = await freePort(podIp(0));
  const fake = createServer((s) => {
    s.on('error', () => undefined);
    s.write(encodeFrame(FrameType.Challenge, Buffer.alloc(32, 1)));
    s.once('data', () => s.write(encodeFrame(FrameType.Welcome, Buffer.alloc(32, 2))));
  });
  await new Promise<void>((r) => fake.listen(port, podIp(0), r));
  t.teardown(() => fake.close());
  const worker = join(2, 1, port, { rendezvousTimeoutS: 1 });
  await t.rejects(worker, RendezvousTimeoutError);
  await t.rejects(worker, /last error: master 127\.0\.0\.2:\d+: the server failed to prove it holds the job secret/);
  t.equal(exitCodeFor(await worker.catch((e: unknown) => e)), EXIT_RETRYABLE, 'retryable: the impostor may be gone next time');
});

t.test('ranks built with different models fail fast with both fingerprints named', async (t) => {
  const port = await freePort(podIp(0));
  const master = join(2, 0, port);
  const worker = join(2, 1, port, {}, undefined, 'sha256:other-model');
  const started = Date.now();
  await t.rejects(master, GroupMismatchError);
  await t.rejects(worker, GroupMismatchError);
  await t.rejects(worker, /model mismatch: rank 1 \(127\.0\.0\.3:\d+\) has model fingerprint sha256:other-model, rank 0 has sha256:test-model/);
  // The ranks set a 5 s rendezvous timeout; a mismatch must not wait for it.
  t.ok(Date.now() - started < 4500, `before the rendezvous timeout (${Date.now() - started} ms)`);
});

t.test('a second registration for the same rank is rejected', async (t) => {
  const port = await freePort(podIp(0));
  const masterLog = logger();
  const master = join(3, 0, port, {}, masterLog);
  const first = join(3, 1, port);
  await waitFor(() => masterLog.lines.some((l) => /rank 1 \(.*\) registered/.test(l)), 15_000, 'the first rank 1 to register');
  const dup = join(3, 1, port, {});
  await t.rejects(dup, GroupMismatchError);
  await t.rejects(dup, /rank 1 is already registered from/);
  const third = join(3, 2, port);
  const gs = await Promise.all([master, first, third]);
  t.same(gs.map((g) => g.rank), [0, 1, 2], 'the group forms with the first rank 1');
  await Promise.all(gs.map((g) => g.close()));
});

t.test('rendezvous timeout names the ranks that never arrived, on every rank', async (t) => {
  const port = await freePort(podIp(0));
  const opts = { rendezvousTimeoutS: 1 };
  const started = Date.now();
  const master = join(4, 0, port, opts);
  const one = join(4, 1, port, opts);
  const three = join(4, 3, port, opts);
  for (const p of [master, one, three]) {
    await t.rejects(p, RendezvousTimeoutError);
    await t.rejects(p, /rank 2 of 4 never arrived within 1\.0 s/);
    const err = await p.then(
      () => undefined,
      (e: unknown) => e,
    );
    t.same(err instanceof RendezvousTimeoutError ? err.missingRanks : undefined, [2], 'missingRanks');
  }
  const took = Date.now() - started;
  // 1 s timeout, plus at most the peer timeout (2 s) a worker waits for the master's answer.
  t.ok(took < 6000, `bounded by the timeout (${took} ms)`);
});

t.test('a worker whose master never comes up gives up at the deadline, naming rank 0', async (t) => {
  const port = await freePort(podIp(0));
  const worker = join(2, 1, port, { rendezvousTimeoutS: 0.8 });
  await t.rejects(worker, RendezvousTimeoutError);
  await t.rejects(worker, /could not join the group through master \(rank 0\) at 127\.0\.0\.2:\d+ within 0\.8 s; last error: .*ECONNREFUSED/);
});

t.test('pods may start in any order: workers retry until the master listens', async (t) => {
  const port = await freePort(podIp(0));
  const logs = [logger(), logger()];
  const workers = [join(3, 2, port, {}, logs[0]), join(3, 1, port, {}, logs[1])];
  // Both workers have tried and been refused before the master starts.
  await waitFor(() => logs.every((l) => l.lines.some((line) => /not ready .*ECONNREFUSED/.test(line))), 15_000, 'both workers to find no master');
  const all = [join(3, 0, port), ...workers];
  const gs = await Promise.all(all);
  const data = gs.map((g) => Float32Array.from([g.rank]));
  await Promise.all(gs.map((g, i) => g.allReduce(data[i] as Float32Array)));
  t.same(data.map((d) => d[0]), [1, 1, 1]);
  await settle(...all);
});
