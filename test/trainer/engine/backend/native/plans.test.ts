import t from 'tap';
import { broadcastPlan } from '../../../../../trainer/engine/backend/native/kernels/broadcast-plan.js';
import { reductionView } from '../../../../../trainer/engine/backend/native/kernels/reduce.js';

// The pure planning behind the native elementwise and reduction kernels (runs without the addon).

t.test('broadcasting merges dimensions that broadcast alike', async (t) => {
  t.same(broadcastPlan([128, 32, 32, 16], [16]), { outShape: [128, 32, 32, 16], dims: [131072, 16], aStrides: [16, 1], bStrides: [0, 1] }, 'NHWC + per-channel vector');
  t.same(broadcastPlan([2, 3, 4], [2, 3, 4]), { outShape: [2, 3, 4], dims: [24], aStrides: [1], bStrides: [1] }, 'same shapes: one run');
  t.same(broadcastPlan([], [3, 4]), { outShape: [3, 4], dims: [12], aStrides: [0], bStrides: [1] }, 'a scalar');
  t.same(broadcastPlan([2, 1, 4, 1], [1, 3, 1, 5]), {
    outShape: [2, 3, 4, 5], dims: [2, 3, 4, 5], aStrides: [4, 0, 1, 0], bStrides: [0, 5, 0, 1],
  }, 'both sides broadcast, alternately');
  t.same(broadcastPlan([8, 1, 1, 6], [8, 5, 5, 6])?.dims, [8, 25, 6], 'a global-pool gradient: middle axes merge');
  t.same(broadcastPlan([1], [1]), { outShape: [1], dims: [1], aStrides: [1], bStrides: [1] }, 'size 1');
  t.equal(broadcastPlan([2, 3], [4, 3]), null, 'incompatible shapes');
});

t.test('a reduction is one run of axes, size-1 axes ignored', async (t) => {
  t.same(reductionView([128, 32, 32, 16], [0, 1, 2]), { outer: 1, r: 131072, inner: 16 }, 'batch-norm statistics');
  t.same(reductionView([128, 8, 8, 64], [1, 2]), { outer: 128, r: 64, inner: 64 }, 'global average pool');
  t.same(reductionView([5, 7], [1]), { outer: 5, r: 7, inner: 1 });
  t.same(reductionView([5, 1, 7], [0, 2]), { outer: 1, r: 35, inner: 1 }, 'a size-1 axis between reduced axes');
  t.equal(reductionView([4, 5, 6], [0, 2]), null, 'not one run');
  t.equal(reductionView([4, 1, 6], [1]), null, 'nothing to reduce');
});
