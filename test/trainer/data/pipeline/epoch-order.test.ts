import t from 'tap';
import { epochOrder } from '../../../../trainer/data/pipeline/epoch-order.js';

function isPermutation(order: Uint32Array): boolean {
  const seen = new Uint8Array(order.length);
  for (const i of order) {
    if (i >= order.length || seen[i]) return false;
    seen[i] = 1;
  }
  return true;
}

t.test('a permutation that changes by epoch and repeats by seed', async (t) => {
  const e0 = epochOrder(1000, 42, 0);
  const e1 = epochOrder(1000, 42, 1);
  t.ok(isPermutation(e0), 'epoch 0 is a permutation');
  t.ok(isPermutation(e1), 'epoch 1 is a permutation');
  t.notSame(e0, e1, 'epochs differ');
  t.same(epochOrder(1000, 42, 1), e1, 'same seed and epoch: same order');
  t.notSame(epochOrder(1000, 43, 1), e1, 'another seed: another order');
  const identity = Uint32Array.from({ length: 1000 }, (_, i) => i);
  t.notSame(e0, identity, 'actually shuffled');
});

t.test('shuffle off is the identity; edge sizes and bad arguments', async (t) => {
  t.same(epochOrder(5, 42, 3, false), Uint32Array.from([0, 1, 2, 3, 4]));
  t.same(epochOrder(0, 1, 0), new Uint32Array(0));
  t.same(epochOrder(1, 1, 0), Uint32Array.from([0]));
  t.throws(() => epochOrder(10, 1, -1), /epoch must be a non-negative integer/);
  t.throws(() => epochOrder(1.5, 1, 0), /example count/);
});
