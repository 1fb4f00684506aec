import t from 'tap';
import { encodeJpeg, encodePng } from '../../../../trainer/data/image/encode.js';
import { buildImageCache, cacheFromPixels, imagePixels, sharedCache, type EncodedItem } from '../../../../trainer/data/pipeline/image-cache.js';
import { DataFormatError } from '../../../../trainer/util/errors.js';

/** 2x2 PNG whose every byte is `i` mod 256 (lossless, so the cache content is checkable). */
function tinyItems(n: number): EncodedItem[] {
  return Array.from({ length: n }, (_, i) => ({
    label: i % 10,
    image: encodePng(new Uint8Array(12).fill(i & 255), 2, 2),
    where: `item-${i}`,
  }));
}

async function* slowly<T>(items: T[]): AsyncGenerator<T> {
  for (const item of items) {
    await Promise.resolve();
    yield item;
  }
}

/** How many bytes or labels are not what tinyItems put there. */
function misplaced(pixels: Uint8Array, labels: Int32Array, n: number): number {
  let bad = 0;
  for (let i = 0; i < n; i++) {
    if (labels[i] !== i % 10) bad++;
    for (let k = 0; k < 12; k++) if (pixels[i * 12 + k] !== (i & 255)) bad++;
  }
  return bad;
}

t.test('without a count, fills chunks and joins them into an exact-size cache', async (t) => {
  const progress: number[] = [];
  const cache = await buildImageCache(tinyItems(1500), { height: 2, width: 2, chunkImages: 200 }, (done) => progress.push(done));
  t.equal(cache.count, 1500);
  t.equal(cache.channels, 3);
  t.equal(cache.pixels.length, 1500 * 12);
  t.equal(cache.pixels.buffer.byteLength, 1500 * 12, 'no slack kept');
  t.equal(cache.labels.length, 1500);
  t.equal(misplaced(cache.pixels, cache.labels, 1500), 0, 'every image and label in its place');
  t.same(progress, [1024, 1500], 'progress every 1024 images and at the end');
  t.same(Array.from(imagePixels(cache, 7)), new Array(12).fill(7));
});

t.test('async sources, expectedCount and shared memory', async (t) => {
  const exact = await buildImageCache(slowly(tinyItems(30)), { height: 2, width: 2, expectedCount: 30, shared: true });
  t.equal(exact.count, 30);
  t.ok(exact.pixels.buffer instanceof SharedArrayBuffer, 'allocated shared');
  t.equal(sharedCache(exact), exact, 'already shared: no copy');
  t.equal(misplaced(exact.pixels, exact.labels, 30), 0, 'every image and label in its place');
  const fewer = await buildImageCache(tinyItems(5), { height: 2, width: 2, expectedCount: 30 });
  t.equal(fewer.count, 5);
  t.equal(fewer.pixels.length, 60);
  const more = await buildImageCache(tinyItems(40), { height: 2, width: 2, expectedCount: 30, chunkImages: 4 });
  t.equal(more.count, 40);
  t.equal(misplaced(more.pixels, more.labels, 40), 0, 'every image and label in its place');
  const copied = sharedCache(more);
  t.ok(copied.pixels.buffer instanceof SharedArrayBuffer);
  t.same(copied.pixels, more.pixels);
});

t.test('JPEG items decode into the cache', async (t) => {
  const rgb = new Uint8Array(8 * 8 * 3).fill(128);
  const cache = await buildImageCache([{ label: 3, image: encodeJpeg(rgb, 8, 8, 90), where: 'a.jpg' }], { height: 8, width: 8 });
  t.equal(cache.count, 1);
  t.equal(cache.labels[0], 3);
  t.ok(Math.abs(cache.pixels[100] - 128) <= 2);
});

t.test('wrong sizes, bad labels and corrupt images name the item', async (t) => {
  const items = tinyItems(3);
  items[2] = { label: 1, image: encodePng(new Uint8Array(27), 3, 3), where: 'train/cat/0002.png' };
  await t.rejects(buildImageCache(items, { height: 2, width: 2 }), /^train\/cat\/0002\.png: image is 3x3 \(width x height\), expected 2x2/);
  const negative = [{ label: -1, image: items[0].image, where: 'rec#9' }];
  await t.rejects(buildImageCache(negative, { height: 2, width: 2 }), /^rec#9: label must be a non-negative integer, got -1/);
  const corrupt = [{ label: 0, image: items[0].image.subarray(0, 30), where: 'shard.rec#4' }];
  await t.rejects(buildImageCache(corrupt, { height: 2, width: 2 }), DataFormatError);
  await t.rejects(buildImageCache([], { height: 0, width: 2 }), /positive integers/);
  await t.rejects(buildImageCache([], { height: 2, width: 2, expectedCount: -1 }), /expectedCount/);
  await t.rejects(buildImageCache([], { height: 2, width: 2, chunkImages: 0 }), /chunkImages/);
  t.equal((await buildImageCache([], { height: 2, width: 2 })).count, 0, 'empty source: empty cache');
});

t.test('cacheFromPixels checks lengths and labels', async (t) => {
  const cache = cacheFromPixels(new Uint8Array(2 * 12), Int32Array.from([4, 5]), 2, 2, 'data_batch_1');
  t.equal(cache.count, 2);
  t.throws(() => cacheFromPixels(new Uint8Array(23), Int32Array.from([4, 5]), 2, 2, 'data_batch_1'), /^data_batch_1: 2 labels need 24 bytes/);
  t.throws(() => cacheFromPixels(new Uint8Array(12), Int32Array.from([-3]), 2, 2, 'b.bin'), /^b\.bin: image 0 has negative label -3/);
});
