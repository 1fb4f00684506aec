import t from 'tap';
import { batchCount, batchesForEpoch, makeBatch, planEpoch, type EpochOptions } from '../../../../trainer/data/pipeline/batches.js';
import { cacheFromPixels } from '../../../../trainer/data/pipeline/image-cache.js';
import { normalizationTable } from '../../../../trainer/data/pipeline/normalize.js';

// 23 images of 6x6 with varied bytes; labels 100+i so each label names its image.
const N = 23;
const S = 6;
const pixels = Uint8Array.from({ length: N * S * S * 3 }, (_, i) => (i * 31 + (i >> 7)) & 255);
const cache = cacheFromPixels(pixels, Int32Array.from({ length: N }, (_, i) => 100 + i), S, S);

const train: EpochOptions = {
  batchSize: 5,
  seed: 11,
  epoch: 3,
  train: true,
  dropLast: false,
  crop: 4,
  pad: 2,
  flip: true,
  mean: [120, 110, 100],
  std: [60, 50, 70],
};

t.test('batch layout: NHWC floats, labels, partial last batch', async (t) => {
  t.equal(batchCount(23, 5, false), 5);
  t.equal(batchCount(23, 5, true), 4);
  const all = [...batchesForEpoch(cache, train)];
  t.same(all.map((b) => b.size), [5, 5, 5, 5, 3]);
  t.same(all.map((b) => b.index), [0, 1, 2, 3, 4]);
  t.equal(all[0].x.length, 5 * 4 * 4 * 3);
  t.equal(all[4].x.length, 3 * 4 * 4 * 3);
  const labels = all.flatMap((b) => Array.from(b.y)).sort((a, b) => a - b);
  t.same(labels, Array.from({ length: N }, (_, i) => 100 + i), 'every example exactly once');
  t.same([...batchesForEpoch(cache, { ...train, dropLast: true })].map((b) => b.size), [5, 5, 5, 5]);
});

t.test('validation batches are the centre crop in order, identical every epoch', async (t) => {
  const val = { ...train, train: false };
  const [first] = batchesForEpoch(cache, val);
  t.same(Array.from(first.y), [100, 101, 102, 103, 104], 'unshuffled');
  const table = normalizationTable(val.mean, val.std);
  // Image 1, output (row 2, col 3, channel G) is source (1 + 2, 1 + 3) since the centre crop starts at (1, 1).
  const src = 1 * S * S * 3 + ((1 + 2) * S + (1 + 3)) * 3 + 1;
  t.equal(first.x[1 * 48 + (2 * 4 + 3) * 3 + 1], table[256 + pixels[src]]);
  const [other] = batchesForEpoch(cache, { ...val, epoch: 9, seed: 5 });
  t.same(other.x, first.x, 'no randomness in validation');
});

t.test('training batches are reproducible and vary with seed and epoch', async (t) => {
  const a = [...batchesForEpoch(cache, train)];
  const b = [...batchesForEpoch(cache, train)];
  t.same(a, b, 'same seed and epoch: identical batches');
  const nextEpoch = [...batchesForEpoch(cache, { ...train, epoch: 4 })];
  t.notSame(nextEpoch[0].x, a[0].x);
  const noShuffle = [...batchesForEpoch(cache, { ...train, shuffle: false })];
  t.same(Array.from(noShuffle[0].y), [100, 101, 102, 103, 104], 'shuffle can be turned off while augmenting');
});

t.test('resuming at startBatch reproduces the uninterrupted epoch', async (t) => {
  const full = [...batchesForEpoch(cache, train)];
  for (const start of [1, 3, 4]) {
    t.same([...batchesForEpoch(cache, { ...train, startBatch: start })], full.slice(start), `from batch ${start}`);
  }
  t.same([...batchesForEpoch(cache, { ...train, startBatch: 5 })], [], 'past the end: nothing');
  const plan = planEpoch(cache, train);
  t.same(plan.batch(2), full[2], 'random access matches');
  t.throws(() => plan.batch(5), /batch index 5 is outside epoch 3's 5 batches/);
});

t.test('makeBatch: augmentation depends on epoch position, fills a given buffer', async (t) => {
  const plan = planEpoch(cache, train);
  const order = plan.order;
  const indices = order.subarray(5, 10);
  const made = makeBatch(cache, indices, { ...train, firstPosition: 5 });
  t.same(made.x, plan.batch(1).x, 'same as batch 1 when given its position');
  const elsewhere = makeBatch(cache, indices, { ...train, firstPosition: 0 });
  t.notSame(elsewhere.x, made.x, 'another position: other crops');
  const out = { x: new Float32Array(5 * 48), y: new Int32Array(5), size: 0 };
  const filled = makeBatch(cache, indices, { ...train, firstPosition: 5 }, out);
  t.equal(filled.x, out.x, 'wrote into the given buffer');
  t.same(filled.x, made.x);
  t.throws(() => makeBatch(cache, [N], { ...train, firstPosition: 0 }), /example index 23 is outside the cache of 23/);
});

t.test('Cutout erases a square of each training image and leaves validation alone', async (t) => {
  const plain = [...batchesForEpoch(cache, train)];
  const cut = [...batchesForEpoch(cache, { ...train, cutout: 2 })];
  t.same(cut.map((b) => Array.from(b.y)), plain.map((b) => Array.from(b.y)), 'same order');
  const pixelsPerImage = 4 * 4;
  for (const [b, batch] of cut.entries()) {
    for (let i = 0; i < batch.size; i++) {
      let erased = 0;
      for (let p = 0; p < pixelsPerImage; p++) {
        const at = (i * pixelsPerImage + p) * 3;
        const px = Array.from(batch.x.subarray(at, at + 3));
        const before = Array.from(plain[b].x.subarray(at, at + 3));
        if (px.every((v) => v === 0) && !before.every((v) => v === 0)) erased++;
        else if (px.join() !== before.join()) t.fail(`batch ${b} image ${i} pixel ${p} changed but is not erased`);
      }
      // A side-2 square keeps at least one cell after clipping and at most four.
      if (erased < 1 || erased > 4) t.fail(`batch ${b} image ${i}: ${erased} pixels erased, expected 1 to 4`);
    }
  }
  t.notSame(cut[0].x, plain[0].x, 'training batches differ');
  const val = { ...train, train: false };
  t.same([...batchesForEpoch(cache, { ...val, cutout: 2 })], [...batchesForEpoch(cache, val)], 'validation: no Cutout');
  t.throws(() => [...batchesForEpoch(cache, { ...train, cutout: 5 })], /cutout must be an integer from 0 to the crop size 4, got 5/);
});

t.test('bad options are rejected naming the field', async (t) => {
  t.throws(() => [...batchesForEpoch(cache, { ...train, batchSize: 0 })], /batchSize must be a positive integer/);
  t.throws(() => [...batchesForEpoch(cache, { ...train, startBatch: -1 })], /startBatch/);
  t.throws(() => [...batchesForEpoch(cache, { ...train, crop: 11 })], /crop 11 is larger/);
  t.throws(() => [...batchesForEpoch(cache, { ...train, std: [1, 1, 0] })], /std\[2\] must be positive/);
});
