/**
 * Ranks as real child processes (`node --import tsx test/fixtures/dist-rank.ts`) next to
 * ranks in this process: correctness across processes, and what the survivors see when
 * a rank is killed or hangs.
 */
import t from 'tap';
import type { ChildProcess } from 'node:child_process';
import { EXIT_RETRYABLE } from '../../../trainer/dist/exit-codes.js';
import { PeerLostError } from '../../../trainer/dist/errors.js';
import { joinGroup, type Group } from '../../../trainer/dist/group.js';
import {
  FINGERPRINT,
  RANK_FIXTURE,
  freePort,
  inputFor,
  maxScaledError,
  podIp,
  rankConfig,
  rankEnv,
  spawnTs,
  waitFor,
  watchChild,
} from '../../helpers/dist-cluster.js';
import { createHash } from 'node:crypto';

const PEER_TIMEOUT_S = 2;
const opts = { peerTimeoutS: PEER_TIMEOUT_S, rendezvousTimeoutS: 60 };
/** Child ranks start through tsx: on a loaded 2-core machine that can take many seconds. */
const START_MS = 60_000;
/** How late a failure may be seen on a busy machine, beyond the window the code promises. */
const LOAD_SLACK_MS = 5000;

function kill(t: { teardown: (fn: () => void) => void }, child: ChildProcess): void {
  t.teardown(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
}

/** All-reduces in a loop until the group fails; resolves with the error and when it came. */
async function loopUntilFailure(g: Group, length: number): Promise<{ err: unknown; at: number }> {
  const data = new Float32Array(length);
  const deadline = Date.now() + 20_000;
  try {
    while (Date.now() < deadline) {
      data.fill(g.rank + 1);
      await g.allReduce(data);
    }
    return { err: new Error('no failure within 20 s'), at: Date.now() };
  } catch (err) {
    return { err, at: Date.now() };
  }
}

t.test('three processes all-reduce 1000003 floats to the same bits', async (t) => {
  const port = await freePort(podIp(0));
  const length = 1000003;
  // No failure is injected here: a generous peer timeout keeps a busy CI machine from
  // reading slow process start-up as a hung peer.
  const relaxed = { ...opts, peerTimeoutS: 30 };
  const children = [1, 2].map((r) => watchChild(spawnTs(RANK_FIXTURE, ['once', String(length)], rankEnv(3, r, port, relaxed))));
  const g = await joinGroup(rankConfig(3, 0, port, relaxed), { fingerprint: FINGERPRINT });
  const data = inputFor(0, length);
  await g.allReduce(data);
  await g.barrier();
  await g.close();
  const codes = await Promise.all(children.map((c) => c.exited));
  t.same(codes, [0, 0], `children exit 0 ${children.map((c) => c.stderr()).join('')}`);
  const sha = createHash('sha256').update(new Uint8Array(data.buffer)).digest('hex');
  const results = children.map((c) => c.lines.find((l) => 'sha' in l));
  t.same(results.map((r) => r?.sha), [sha, sha], 'child results are bit-identical to ours');
  t.ok(maxScaledError(data, [0, 1, 2].map((r) => inputFor(r, length))) < 1e-6, 'the average is right');
  for (const r of results) t.ok(typeof r?.maxScaledError === 'number' && r.maxScaledError < 1e-6);
});

t.test('a rank killed mid-all-reduce fails the others with PeerLostError and exit code 75', async (t) => {
  const port = await freePort(podIp(0));
  const length = 200_000;
  const [c1, c2] = [1, 2].map((r) => {
    const child = spawnTs(RANK_FIXTURE, ['loop', String(length)], rankEnv(3, r, port, opts));
    kill(t, child);
    return { child, w: watchChild(child) };
  }) as [{ child: ChildProcess; w: ReturnType<typeof watchChild> }, { child: ChildProcess; w: ReturnType<typeof watchChild> }];
  const g = await joinGroup(rankConfig(3, 0, port, opts), { fingerprint: FINGERPRINT });
  const looping = loopUntilFailure(g, length);
  await waitFor(() => c2.w.lines.some((l) => 'ready' in l), START_MS, 'rank 2 to finish an all-reduce');
  const killedAt = Date.now();
  c2.child.kill('SIGKILL');
  const { err, at } = await looping;
  t.ok(err instanceof PeerLostError, `rank 0 got ${String(err)}`);
  t.match(String(err), /lost peer rank 2 \(127\.0\.0\.4:\d+\)/, 'names the killed rank and its address');
  // A killed process's sockets close at once: the loss is seen from the connection, not by
  // waiting out the peer timeout (which would say "silent for").
  t.notMatch(String(err), /silent for/, 'detected from the closed connection, not the timeout');
  t.ok(at - killedAt < PEER_TIMEOUT_S * 1000 + LOAD_SLACK_MS, `detected in ${at - killedAt} ms`);
  const code = await c1.w.exited;
  t.equal(code, EXIT_RETRYABLE, 'the surviving child exits with the retryable code');
  const line = c1.w.lines.find((l) => 'error' in l);
  t.equal(line?.error, 'PeerLostError');
  t.match(String(line?.message), /lost peer rank 2 \(127\.0\.0\.4:\d+\)/, 'the survivor names the same rank');
  await g.close();
});

t.test('a hung rank (SIGSTOP) is declared lost within the peer timeout', async (t) => {
  const port = await freePort(podIp(0));
  const length = 50_000;
  const child = spawnTs(RANK_FIXTURE, ['loop', String(length)], rankEnv(3, 2, port, opts));
  kill(t, child);
  const w = watchChild(child);
  const groups = await Promise.all([0, 1].map((r) => joinGroup(rankConfig(3, r, port, opts), { fingerprint: FINGERPRINT })));
  const loops = groups.map((g) => loopUntilFailure(g, length));
  await waitFor(() => w.lines.some((l) => 'ready' in l), START_MS, 'rank 2 to finish an all-reduce');
  const stoppedAt = Date.now();
  child.kill('SIGSTOP');
  const results = await Promise.all(loops);
  for (const [i, { err, at }] of results.entries()) {
    t.ok(err instanceof PeerLostError, `rank ${i}: ${String(err)}`);
    t.match(String(err), /lost peer rank 2 \(127\.0\.0\.4:\d+\): silent for/, `rank ${i} names the hung rank`);
    const took = at - stoppedAt;
    // Silence counts from the last byte rank 2 sent, which may be a little before the stop
    // (at most one heartbeat interval, a fifth of the timeout); never sooner than that.
    const earliest = PEER_TIMEOUT_S * 1000 - (PEER_TIMEOUT_S * 1000) / 5 - 100;
    t.ok(took >= earliest && took < PEER_TIMEOUT_S * 1000 + LOAD_SLACK_MS, `rank ${i} detected it in ${took} ms`);
  }
  child.kill('SIGKILL');
  await Promise.all(groups.map((g) => g.close()));
});
