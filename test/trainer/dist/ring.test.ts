import t from 'tap';
import { planBuckets } from '../../../trainer/dist/buckets.js';
import { EXIT_RETRYABLE, EXIT_USAGE, exitCodeFor, isRetryableExit } from '../../../trainer/dist/exit-codes.js';
import { GroupMismatchError, PeerLostError, RendezvousTimeoutError } from '../../../trainer/dist/errors.js';
import { heartbeatIntervalMs, livenessVerdict } from '../../../trainer/dist/liveness.js';
import { addAverageInto, addInto } from '../../../trainer/dist/reduce.js';
import { allReducePlan, allReduceSteps, broadcastPlan, segmentLayout, sendOrder, type Region, type RingPlan } from '../../../trainer/dist/ring.js';
import { UsageError } from '../../../trainer/util/errors.js';
import { inputFor, maxScaledError, sameBits } from '../../helpers/dist-cluster.js';

/**
 * Executes every rank's plan in memory with FIFO channels r -> r+1, the way the sockets
 * would: each rank processes its next receive once its predecessor has sent that region.
 */
function simulate(plans: RingPlan[], arrays: Float32Array[]): void {
  const n = plans.length;
  const channels: Float32Array[][] = Array.from({ length: n }, () => []);
  const send = (r: number, reg: Region): void => {
    (channels[(r + 1) % n] as Float32Array[]).push((arrays[r] as Float32Array).slice(reg.offset, reg.offset + reg.length));
  };
  plans.forEach((p, r) => p.initialSends.forEach((reg) => send(r, reg)));
  const next = new Array<number>(n).fill(0);
  for (let progress = true; progress; ) {
    progress = false;
    for (let r = 0; r < n; r++) {
      const plan = plans[r] as RingPlan;
      const recv = plan.receives[next[r] as number];
      const msg = (channels[r] as Float32Array[])[0];
      if (!recv || !msg) continue;
      (channels[r] as Float32Array[]).shift();
      if (msg.length !== recv.length) throw new Error(`rank ${r}: got ${msg.length} floats, plan expects ${recv.length}`);
      const a = arrays[r] as Float32Array;
      if (recv.action === 'copy') a.set(msg, recv.offset);
      else if (recv.action === 'reduce') addInto(a, recv.offset, msg, recv.length);
      else addAverageInto(a, recv.offset, msg, recv.length, n);
      if (recv.forward) send(r, recv);
      next[r] = (next[r] as number) + 1;
      progress = true;
    }
  }
  plans.forEach((p, r) => {
    if (next[r] !== p.receives.length) throw new Error(`rank ${r} stalled at receive ${next[r]} of ${p.receives.length}`);
    if ((channels[r] as Float32Array[]).length !== 0) throw new Error(`rank ${r} has unread messages`);
  });
}

t.test('segments cover the array once with sizes differing by at most one', async (t) => {
  t.same(segmentLayout(7, 3), [
    { offset: 0, length: 3 },
    { offset: 3, length: 2 },
    { offset: 5, length: 2 },
  ]);
  t.same(segmentLayout(1, 4).map((s) => s.length), [1, 0, 0, 0]);
  t.same(allReduceSteps(0, 3), { send: [0, 2, 1, 0], recv: [2, 1, 0, 2] });
});

t.test('the plans average exactly once and leave every rank with the same bits', async (t) => {
  for (const n of [1, 2, 3, 4, 5]) {
    for (const length of [0, 1, 7, 13, 100]) {
      for (const chunk of [1, 3, 64]) {
        const inputs = Array.from({ length: n }, (_, r) => inputFor(r, length));
        const arrays = inputs.map((a) => a.slice());
        simulate(
          arrays.map((_, r) => allReducePlan(length, n, r, chunk)),
          arrays,
        );
        const tag = `n=${n} length=${length} chunk=${chunk}`;
        t.ok(arrays.every((a) => sameBits(a, arrays[0] as Float32Array)), `${tag}: bit-identical`);
        t.ok(maxScaledError(arrays[0] as Float32Array, inputs) < 1e-6, `${tag}: equals the float64 average`);
      }
    }
  }
});

t.test('each rank sends exactly what its successor expects', async (t) => {
  const n = 4;
  for (let r = 0; r < n; r++) {
    const mine = sendOrder(allReducePlan(10, n, r, 2)).map(({ offset, length }) => [offset, length]);
    const theirs = allReducePlan(10, n, (r + 1) % n, 2).receives.map(({ offset, length }) => [offset, length]);
    t.same(mine, theirs, `rank ${r} -> ${(r + 1) % n}`);
  }
  const p = allReducePlan(1000, 4, 1, 100);
  t.equal(p.receives.filter((x) => x.action === 'reduce-average').length, 3, 'one segment (3 chunks) is averaged here');
  t.equal(p.receives.filter((x) => !x.forward).length, 3, 'the last segment received is not forwarded');
});

t.test('broadcast plan delivers root data everywhere from any root', async (t) => {
  for (const n of [2, 3, 5]) {
    for (let root = 0; root < n; root++) {
      const arrays = Array.from({ length: n }, (_, r) => inputFor(r, 11));
      simulate(
        arrays.map((_, r) => broadcastPlan(11, n, r, root, 4)),
        arrays,
      );
      t.ok(arrays.every((a) => sameBits(a, inputFor(root, 11))), `n=${n} root=${root}`);
    }
  }
  t.throws(() => broadcastPlan(1, 2, 0, 2, 4), /root 2 out of range/);
  t.throws(() => allReducePlan(1, 2, 2, 4), /rank 2 out of range/);
});

t.test('bucket plans keep order, respect the byte cap, and isolate big tensors', async (t) => {
  const b = planBuckets([10, 20, 30, 100, 5, 5], 200);
  t.same(
    b.map((x) => x.entries.map((e) => [e.tensor, e.offset, e.length])),
    [[[0, 0, 10], [1, 10, 20]], [[2, 0, 30]], [[3, 0, 100]], [[4, 0, 5], [5, 5, 5]]],
  );
  t.same(b.map((x) => x.length), [30, 30, 100, 10]);
  t.same(planBuckets([]), []);
  t.equal(planBuckets([1000, 1000]).length, 1, '4 MiB default holds both');
  t.throws(() => planBuckets([1.5]), /tensor 0: size/);
});

t.test('liveness: heartbeat when idle, silent after the peer timeout', async (t) => {
  t.equal(heartbeatIntervalMs(30_000), 5000);
  t.equal(heartbeatIntervalMs(2000), 400);
  t.equal(livenessVerdict(1000, 900, 900, 2000), 'ok');
  t.equal(livenessVerdict(1400, 900, 900, 2000), 'heartbeat');
  t.equal(livenessVerdict(3000, 900, 2900, 2000), 'silent');
});

t.test('exit codes: retryable only for a lost peer or a rendezvous timeout', async (t) => {
  t.equal(exitCodeFor(new PeerLostError(2, '127.0.0.4:1', 'closed')), EXIT_RETRYABLE);
  t.equal(exitCodeFor(new RendezvousTimeoutError([3], 'late')), 75);
  t.equal(exitCodeFor(new GroupMismatchError('model')), 1);
  t.equal(exitCodeFor(new UsageError('flag')), EXIT_USAGE);
  t.equal(exitCodeFor(new Error('bug')), 1);
  t.ok(isRetryableExit(75));
  t.notOk(isRetryableExit(1));
});
