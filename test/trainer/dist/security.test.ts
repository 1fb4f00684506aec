/**
 * The rendezvous port against strangers (issue 14, findings 3, 8, 10): a flood after a
 * refused Hello, idle connections by the hundred, and a listener that refuses a worker
 * without ever proving it holds the secret.
 */
import t from 'tap';
import { connect, createServer, type Socket } from 'node:net';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { encodeFrame, FrameType } from '../../../trainer/dist/framing.js';
import { encodeMsg } from '../../../trainer/dist/messages.js';
import { joinGroup } from '../../../trainer/dist/group.js';
import { HANDSHAKE_TIMEOUT_MS, MAX_UNAUTHENTICATED } from '../../../trainer/dist/admission.js';
import { EXIT_RETRYABLE } from '../../../trainer/dist/exit-codes.js';
import { FINGERPRINT, RANK_FIXTURE, freePort, podIp, rankConfig, rankEnv, spawnTs, waitFor, watchChild } from '../../helpers/dist-cluster.js';
import { HOSTILE_RSS_LIMIT_BYTES, mb, runTrainerMeasured, underLimit, vmHwm } from '../../helpers/peak-rss.js';

/** A well-formed Hello whose MAC is wrong. */
function badHello(): Buffer {
  const hex = (b: number) => Buffer.alloc(32, b).toString('hex');
  return encodeFrame(FrameType.Hello, encodeMsg({ role: 'master', rank: 1, jobId: 'test-job', nonce: hex(1), mac: hex(2), endian: 'LE' }));
}

/**
 * Connects, sends a bad Hello, then keeps sending 16 KiB Hello frames until the master
 * closes the connection, `maxBytes` are out, or `ms` pass. Resolves with the bytes sent.
 */
function flood(host: string, port: number, maxBytes: number, ms: number): Promise<number> {
  return new Promise((resolve) => {
    // 4 MiB of 16 KiB Hello frames per write, so the sender is never the bottleneck.
    const frame = Buffer.concat(Array.from({ length: 256 }, () => encodeFrame(FrameType.Hello, Buffer.alloc(16 * 1024 - 16, 0x7b))));
    let sent = 0;
    let done = false;
    const finish = (): void => {
      if (done) return;
      done = true;
      s.destroy();
      resolve(sent);
    };
    // allowHalfOpen: the master's REJECT and FIN must not end our side; an attacker keeps sending.
    const s: Socket = connect({ host, port, allowHalfOpen: true }, () => {
      s.write(badHello());
      const pump = (): void => {
        while (!done && sent < maxBytes) {
          sent += frame.length;
          if (!s.write(frame)) return void s.once('drain', pump);
        }
        if (sent >= maxBytes) finish();
      };
      pump();
    });
    s.on('data', () => undefined);
    s.on('error', finish);
    s.on('close', finish);
    setTimeout(finish, ms).unref();
  });
}

t.test('after refusing a Hello, rank 0 reads nothing more: three 300 MB floods leave its memory flat', async (t) => {
  const port = await freePort(podIp(0));
  const master = spawnTs(RANK_FIXTURE, ['once', '1000'], rankEnv(2, 0, port, { rendezvousTimeoutS: 60 }));
  const w = watchChild(master);
  t.teardown(() => void (master.exitCode === null && master.kill('SIGKILL')));
  const pid = master.pid as number;
  let peak = 0;
  const sampler = setInterval(() => {
    peak = Math.max(peak, vmHwm(pid));
    // Past this the test has failed: spare the shared machine.
    if (peak > 1536 * 1024 * 1024) master.kill('SIGKILL');
  }, 20);
  t.teardown(() => clearInterval(sampler));
  await waitFor(() => /waiting for 1 ranks/.test(w.stderr()), 60_000, 'rank 0 to listen');
  const before = vmHwm(pid);
  const sent = await Promise.all([0, 1, 2].map(() => flood(podIp(0), port, 300 * 1024 * 1024, 8000)));
  const total = sent.reduce((a, b) => a + b, 0);
  // The master stopped reading at the refusal: what got out is what the two kernels buffer
  // for each connection (a few MB on loopback), not what the master could read in a second.
  t.ok(total < 3 * 12 * 1024 * 1024, `the strangers got ${mb(total)} out before the master stopped reading`);
  const g1 = await joinGroup(rankConfig(2, 1, port, { rendezvousTimeoutS: 60 }), { fingerprint: FINGERPRINT });
  await g1.allReduce(new Float32Array(1000));
  await g1.barrier();
  await g1.close();
  t.equal(await w.exited, 0, `rank 0 formed the group after the floods: ${w.stderr().slice(-300)}`);
  clearInterval(sampler);
  t.ok(peak < HOSTILE_RSS_LIMIT_BYTES, `rank 0 peak RSS ${mb(peak)} < 600 MB`);
  t.ok(peak - before < 24 * 1024 * 1024, `rank 0 grew by ${mb(peak - before)} during the floods`);
  t.match(w.stderr(), /bad HMAC/, 'the refusal is logged');
});

t.test('idle strangers cannot crowd out a rank: 100 connections, a cap, a handshake deadline, rate-limited logs', async (t) => {
  const port = await freePort(podIp(0));
  const lines: string[] = [];
  // A peer timeout of 30 s: idle strangers must be dropped long before it.
  const cfg = { rendezvousTimeoutS: 60, peerTimeoutS: 30 };
  const master = joinGroup(rankConfig(2, 0, port, cfg), { fingerprint: FINGERPRINT, log: (l) => lines.push(l) });
  await waitFor(() => lines.some((l) => /waiting for 1 ranks/.test(l)), 15_000, 'rank 0 to listen');
  const started = Date.now();
  const strangers = await Promise.all(
    Array.from({ length: 100 }, () => new Promise<{ closedAt: Promise<number> }>((resolve) => {
      const s = connect({ host: podIp(0), port }, () => resolve({ closedAt }));
      const closedAt = new Promise<number>((r) => s.on('close', () => r(Date.now() - started)));
      s.on('error', () => undefined);
      s.on('data', () => undefined);
    })),
  );
  const worker = joinGroup(rankConfig(2, 1, port, cfg), { fingerprint: FINGERPRINT });
  const [g0, g1] = await Promise.all([master, worker]);
  t.pass('rank 1 joined while 100 strangers held connections');
  const closed = await Promise.all(strangers.map((s) => Promise.race([s.closedAt, new Promise<number>((r) => setTimeout(() => r(Infinity), HANDSHAKE_TIMEOUT_MS + 10_000))])));
  const last = Math.max(...closed);
  t.ok(last <= HANDSHAKE_TIMEOUT_MS + 10_000, `every stranger was dropped, the last after ${last} ms (handshake deadline ${HANDSHAKE_TIMEOUT_MS} ms, peer timeout 30 s)`);
  const early = closed.filter((ms) => ms < HANDSHAKE_TIMEOUT_MS).length;
  t.ok(early >= 100 - MAX_UNAUTHENTICATED, `${early} strangers over the cap of ${MAX_UNAUTHENTICATED} were dropped before the deadline`);
  const refusals = lines.filter((l) => /refused connection/.test(l));
  t.ok(refusals.length <= 11, `${refusals.length} refusal lines logged for 100 strangers (rate-limited)`);
  await Promise.all([g0.close(), g1.close()]);
  const rss = process.resourceUsage().maxRSS * 1024;
  t.ok(rss < HOSTILE_RSS_LIMIT_BYTES, `peak RSS of this test process ${mb(rss)} < 600 MB`);
});

t.test('a worker refused by a listener that never proved the secret retries, exits 75, and never repeats its words', async (t) => {
  const dir = t.testdir();
  const port = await freePort(podIp(0));
  const attackerText = 'ATTACKER-TEXT: your job is cancelled, run rm -rf';
  let connections = 0;
  const fake = createServer((s) => {
    connections++;
    s.on('error', () => undefined);
    // Half refuse at once, half after the Hello: neither ever proves anything.
    if (connections % 2 === 1) s.end(encodeFrame(FrameType.Reject, encodeMsg({ reason: attackerText, code: 'auth', missing: [] })));
    else {
      s.write(encodeFrame(FrameType.Challenge, Buffer.alloc(32, 1)));
      s.once('data', () => s.end(encodeFrame(FrameType.Reject, encodeMsg({ reason: attackerText, code: 'mismatch', missing: [] }))));
    }
  });
  await new Promise<void>((r) => fake.listen(port, podIp(0), r));
  t.teardown(() => fake.close());
  const termination = join(dir, 'termination-log');
  const run = await runTrainerMeasured(['train', '--model', 'lenet', '--data-train', join(dir, 'none.rec'), '--backend', 'cpu'], {
    ...rankEnv(2, 1, port, { rendezvousTimeoutS: 3 }),
    CIFAR_TERMINATION_LOG: termination,
  });
  t.equal(run.code, EXIT_RETRYABLE, `retryable: ${run.stderr.slice(-300)}`);
  t.ok(connections >= 2, `the worker tried again (${connections} attempts)`);
  const message = await readFile(termination, 'utf8');
  t.match(message, /could not join the group through master \(rank 0\)/);
  t.match(message, /before proving it holds the job secret/);
  t.notOk(message.includes('ATTACKER'), 'the termination message carries none of the stranger\'s text');
  t.notOk(run.stderr.includes('ATTACKER'), 'nor does the log');
  underLimit(t, run, 'train');
});
