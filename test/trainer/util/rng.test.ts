import t from 'tap';
import { Rng } from '../../../trainer/util/rng.js';

t.test('same seed gives the same sequence; state round-trips', async (t) => {
  const a = new Rng(42);
  const b = new Rng(42);
  const seqA = Array.from({ length: 8 }, () => a.nextUint32());
  const seqB = Array.from({ length: 8 }, () => b.nextUint32());
  t.same(seqA, seqB);
  const saved = a.state();
  const next = a.nextUint32();
  t.equal(new Rng(saved).nextUint32(), next, 'restored state continues the sequence');
  t.not(new Rng(43).nextUint32(), new Rng(42).nextUint32(), 'different seeds differ');
});

t.test('int is uniform enough and in range; shuffle is a permutation', async (t) => {
  const rng = new Rng(7);
  const counts = new Array(10).fill(0);
  for (let i = 0; i < 10000; i++) counts[rng.int(10)]++;
  for (const c of counts) t.ok(c > 850 && c < 1150, `bucket count ${c} near 1000`);
  const items = Array.from({ length: 100 }, (_, i) => i);
  rng.shuffle(items);
  t.same([...items].sort((x, y) => x - y), Array.from({ length: 100 }, (_, i) => i));
  t.notSame(items, Array.from({ length: 100 }, (_, i) => i), 'order changed');
  t.throws(() => rng.int(0), /positive integer/);
});

t.test('derived streams are independent and reproducible', async (t) => {
  t.equal(Rng.derive(1, 2).nextUint32(), Rng.derive(1, 2).nextUint32());
  t.not(Rng.derive(1, 2).nextUint32(), Rng.derive(1, 3).nextUint32());
});
