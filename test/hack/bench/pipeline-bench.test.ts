import t from 'tap';
import { benchColdDecode, benchWarmPipeline, measureCacheMemory } from '../../../hack/bench/pipeline-bench.js';
import { encodeJpeg } from '../../../trainer/data/image/encode.js';

// A few synthetic CIFAR-sized JPEGs: the point is that the functions run and report, not the figures.
const jpegs = Array.from({ length: 12 }, (_, n) =>
  encodeJpeg(Uint8Array.from({ length: 32 * 32 * 3 }, (_, i) => (i * (n + 3)) & 255), 32, 32, 75),
);

t.test('bench functions report their figures and a reference', async (t) => {
  const cold = await benchColdDecode(jpegs);
  t.equal(cold.images, 12);
  t.equal(cold.cache.count, 12);
  t.ok(cold.imagesPerSecond > 0 && cold.referenceImagesPerSecond > 0);
  const warm = await benchWarmPipeline(cold.cache, { batchSize: 5, crop: 28, maxImages: 10 });
  t.equal(warm.images, 10, 'stops at maxImages, on a batch boundary');
  t.ok(warm.imagesPerSecond > 0 && warm.referenceImagesPerSecond > 0);
  const mem = await measureCacheMemory(jpegs, { height: 32, width: 32, knownCount: false });
  t.equal(mem.images, 12);
  t.equal(mem.cacheBytes, 12 * 3072 + 12 * 4);
  t.ok(mem.peakRssBytes >= mem.rssBeforeBytes && mem.maxRssBytes > 0);
});
