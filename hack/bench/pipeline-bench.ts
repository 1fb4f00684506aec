/**
 * Input-pipeline benchmarks, called by `npm run bench:data`. Each returns its figure
 * with a reference measured in the same call, so a slow machine shows as both
 * numbers dropping rather than as a regression.
 */
import jpeg from 'jpeg-js';
import { batchesForEpoch } from '../../trainer/data/pipeline/batches.js';
import { buildImageCache, type EncodedItem, type ImageCache } from '../../trainer/data/pipeline/image-cache.js';
import { CIFAR10_MEAN, CIFAR10_STD } from '../../trainer/data/pipeline/normalize.js';

export interface Throughput {
  images: number;
  seconds: number;
  imagesPerSecond: number;
  /** The same work done the obvious way, same run. */
  referenceImagesPerSecond: number;
  reference: string;
}

export interface ColdDecodeResult extends Throughput {
  cache: ImageCache;
}

function items(jpegs: Uint8Array[]): EncodedItem[] {
  return jpegs.map((image, i) => ({ label: i % 10, image, where: `bench image ${i}` }));
}

/**
 * Decodes every JPEG into a new cache from a cold start (no warm-up), as the trainer
 * does once at startup. Reference: jpeg-js with its default options (RGBA output).
 */
export async function benchColdDecode(jpegs: Uint8Array[], size = { height: 32, width: 32 }): Promise<ColdDecodeResult> {
  const t0 = performance.now();
  const cache = await buildImageCache(items(jpegs), { ...size, expectedCount: jpegs.length });
  const seconds = (performance.now() - t0) / 1000;
  const sample = jpegs.slice(0, Math.min(jpegs.length, 5000));
  const r0 = performance.now();
  for (const bytes of sample) jpeg.decode(bytes, { useTArray: true });
  const refSeconds = (performance.now() - r0) / 1000;
  return {
    images: jpegs.length,
    seconds,
    imagesPerSecond: jpegs.length / seconds,
    referenceImagesPerSecond: sample.length / refSeconds,
    reference: `jpeg-js decode with default options (RGBA), ${sample.length} images, warm`,
    cache,
  };
}

export interface WarmPipelineOptions {
  batchSize: number;
  crop: number;
  pad?: number;
  /** Stop after this many images (default: one epoch). */
  maxImages?: number;
}

/**
 * Training batches (random crop, flip, normalise into float32 NHWC) from the uint8
 * cache on the calling thread. Reference: converting the same images to normalised
 * floats with a plain per-value loop, no augmentation.
 */
export async function benchWarmPipeline(cache: ImageCache, opts: WarmPipelineOptions): Promise<Throughput> {
  const epochOpts = {
    batchSize: opts.batchSize,
    seed: 1,
    train: true,
    dropLast: false,
    crop: opts.crop,
    pad: opts.pad ?? 4,
    flip: true,
    mean: CIFAR10_MEAN,
    std: CIFAR10_STD,
  };
  const limit = Math.min(cache.count, opts.maxImages ?? cache.count);
  // Warm-up: one batch from another epoch, so the timed run measures compiled code.
  batchesForEpoch(cache, { ...epochOpts, epoch: 1 }).next();
  let images = 0;
  let checksum = 0;
  const t0 = performance.now();
  for (const batch of batchesForEpoch(cache, { ...epochOpts, epoch: 0 })) {
    images += batch.size;
    checksum += batch.x[0];
    if (images >= limit) break;
  }
  const seconds = (performance.now() - t0) / 1000;
  const referenceImagesPerSecond = plainNormalise(cache, limit);
  if (Number.isNaN(checksum)) throw new Error('pipeline produced NaN');
  return {
    images,
    seconds,
    imagesPerSecond: images / seconds,
    referenceImagesPerSecond,
    reference: 'plain (v - mean) / std loop over the same images, no crop or flip',
  };
}

function plainNormalise(cache: ImageCache, images: number): number {
  const per = cache.height * cache.width * 3;
  const out = new Float32Array(per);
  const mean = CIFAR10_MEAN;
  const std = CIFAR10_STD;
  const t0 = performance.now();
  for (let i = 0; i < images; i++) {
    const base = i * per;
    for (let k = 0; k < per; k++) out[k] = (cache.pixels[base + k] - mean[k % 3]) / std[k % 3];
  }
  return images / ((performance.now() - t0) / 1000);
}

export interface CacheMemory {
  images: number;
  /** Bytes of pixels and labels the cache holds. */
  cacheBytes: number;
  rssBeforeBytes: number;
  rssAfterBytes: number;
  /** Highest RSS seen while building (sampled every 1,024 images and at the end). */
  peakRssBytes: number;
  /** The process's lifetime peak RSS (getrusage), which includes everything before. */
  maxRssBytes: number;
}

/**
 * Builds a cache from the JPEGs and reports resident memory. Run it in a fresh
 * process for a clean figure: RSS counts the input JPEGs and anything loaded before.
 * `knownCount: false` measures the grow-and-trim path.
 */
export async function measureCacheMemory(jpegs: Uint8Array[], opts = { height: 32, width: 32, knownCount: true }): Promise<CacheMemory> {
  const gc = (globalThis as { gc?: () => void }).gc;
  gc?.();
  const rssBeforeBytes = process.memoryUsage.rss();
  let peak = rssBeforeBytes;
  const sample = (): void => {
    peak = Math.max(peak, process.memoryUsage.rss());
  };
  const cache = await buildImageCache(
    items(jpegs),
    { height: opts.height, width: opts.width, expectedCount: opts.knownCount ? jpegs.length : undefined },
    sample,
  );
  sample();
  gc?.();
  // Freed array buffers are released by a background sweeper shortly after the GC.
  await new Promise((resolve) => setTimeout(resolve, 500));
  const rssAfterBytes = process.memoryUsage.rss();
  return {
    images: cache.count,
    cacheBytes: cache.pixels.byteLength + cache.labels.byteLength,
    rssBeforeBytes,
    rssAfterBytes,
    peakRssBytes: Math.max(peak, rssAfterBytes),
    maxRssBytes: process.resourceUsage().maxRSS * 1024,
  };
}
