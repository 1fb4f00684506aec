import t from 'tap';
import { allReduceTensors, broadcastTensors } from '../../../trainer/dist/buckets.js';
import { GroupMismatchError, PeerLostError } from '../../../trainer/dist/errors.js';
import { joinGroup, type Group } from '../../../trainer/dist/group.js';
import { distConfigFromEnv } from '../../../trainer/dist/config.js';
import { inputFor, maxScaledError, sameBits, startGroups } from '../../helpers/dist-cluster.js';

const closeAll = (gs: Group[]): Promise<void[]> => Promise.all(gs.map((g) => g.close()));

for (const n of [2, 3, 4]) {
  t.test(`ring all-reduce over TCP, ${n} ranks: average, bit-identical on every rank`, async (t) => {
    // A small sub-chunk so the large case streams each segment in many pieces.
    const groups = await startGroups(n, { chunkBytes: 64 * 1024 });
    t.teardown(() => closeAll(groups));
    for (const length of [0, 1, 7, 1000003]) {
      const inputs = groups.map((g) => inputFor(g.rank, length, n));
      const data = inputs.map((a) => a.slice());
      await Promise.all(groups.map((g, i) => g.allReduce(data[i] as Float32Array)));
      const first = data[0] as Float32Array;
      t.ok(data.every((d) => sameBits(d, first)), `length ${length}: bit-identical on all ${n} ranks`);
      const err = maxScaledError(first, inputs);
      t.ok(err < 1e-6, `length ${length}: matches the float64 average (scaled error ${err.toExponential(2)})`);
      if (length > 0) t.not(first[0], inputs[0]?.[0], 'the data changed in place');
    }
  });
}

t.test('WORLD_SIZE=1: no networking, collectives are no-ops', async (t) => {
  const g = await joinGroup(distConfigFromEnv({}), { fingerprint: 'x' });
  const a = Float32Array.from([1, 2, 3]);
  await g.allReduce(a);
  await g.broadcast(a);
  await g.barrier();
  await allReduceTensors(g, [a]);
  t.same([...a], [1, 2, 3]);
  await t.rejects(g.broadcast(a, 1), /root 1 out of range/);
});

t.test('bucketed all-reduce and broadcast round-trip many tensors', async (t) => {
  const groups = await startGroups(3);
  t.teardown(() => closeAll(groups));
  const sizes = [3, 1000, 5, 50_000, 7, 0, 12];
  const inputsOf = (r: number): Float32Array[] => sizes.map((s, k) => inputFor(r, s, 100 + k));
  const tensors = groups.map((g) => inputsOf(g.rank));
  // 4 KiB buckets: some fused, the 50k tensor alone and in place.
  await Promise.all(groups.map((g, i) => allReduceTensors(g, tensors[i] as Float32Array[], { bucketBytes: 4096 })));
  sizes.forEach((_, k) => {
    const per = tensors.map((ts) => ts[k] as Float32Array);
    t.ok(per.every((a) => sameBits(a, per[0] as Float32Array)), `tensor ${k}: same bits everywhere`);
    const err = maxScaledError(per[0] as Float32Array, groups.map((g) => inputsOf(g.rank)[k] as Float32Array));
    t.ok(err < 1e-6, `tensor ${k}: its own average, not a neighbour's`);
  });

  const weights = groups.map((g) => sizes.map((s, k) => (g.rank === 1 ? inputFor(7, s, k) : new Float32Array(s))));
  await Promise.all(groups.map((g, i) => broadcastTensors(g, weights[i] as Float32Array[], 1, { bucketBytes: 4096 })));
  for (const w of weights) sizes.forEach((s, k) => t.ok(sameBits(w[k] as Float32Array, inputFor(7, s, k)), `root 1's tensor ${k} arrived`));

  const big = groups.map((g) => (g.rank === 2 ? inputFor(9, 300_000) : new Float32Array(300_000)));
  await Promise.all(groups.map((g, i) => g.broadcast(big[i] as Float32Array, 2)));
  t.ok(big.every((a) => sameBits(a, inputFor(9, 300_000))), 'plain broadcast from rank 2');
});

t.test('barrier waits for the slowest rank', async (t) => {
  const groups = await startGroups(3);
  t.teardown(() => closeAll(groups));
  const started = Date.now();
  const doneAt: number[] = [];
  await Promise.all(
    groups.map(async (g) => {
      if (g.rank === 2) await new Promise((r) => setTimeout(r, 300));
      await g.barrier();
      doneAt.push(Date.now() - started);
    }),
  );
  t.ok(Math.min(...doneAt) >= 290, `no rank left the barrier before the late one arrived (${doneAt.join(', ')} ms)`);
});

t.test('an idle group stays up on heartbeats past the peer timeout', async (t) => {
  const groups = await startGroups(2, { peerTimeoutS: 0.5 });
  t.teardown(() => closeAll(groups));
  await new Promise((r) => setTimeout(r, 1500));
  const data = groups.map((g) => Float32Array.from([g.rank + 1]));
  await Promise.all(groups.map((g, i) => g.allReduce(data[i] as Float32Array)));
  t.same(data.map((d) => d[0]), [1.5, 1.5]);
});

t.test('ranks calling different collectives fail loudly instead of mixing data', async (t) => {
  const groups = await startGroups(2);
  t.teardown(() => closeAll(groups));
  const results = await Promise.allSettled(groups.map((g) => g.allReduce(new Float32Array(10 + g.rank))));
  const errors = results.map((r) => (r.status === 'rejected' ? (r.reason as Error) : undefined));
  t.ok(errors.every((e) => e !== undefined), 'both ranks reject');
  t.ok(errors.some((e) => e instanceof GroupMismatchError && /all-reduce of 1[01] floats/.test(e.message)), 'the mismatch is named');
  t.ok(errors.every((e) => e instanceof GroupMismatchError || e instanceof PeerLostError));
  await t.rejects(groups[0]?.allReduce(new Float32Array(1)) ?? Promise.resolve(), 'the group stays failed');
});

t.test('after close, collectives reject and the neighbour sees an orderly leave', async (t) => {
  const groups = await startGroups(2);
  const [a, b] = groups as [Group, Group];
  await a.close();
  await t.rejects(a.allReduce(new Float32Array(1)), /rank 0 left the group/);
  await t.rejects(b.allReduce(new Float32Array(1)), { name: 'PeerLostError', message: /rank 0 .*left the group/ });
  await b.close();
});
