// npm run bench:data: throughput and memory of the trainer's data path on CIFAR-10,
// each figure printed beside a reference measured in the same run.
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { LocalFileSource } from '../../trainer/io/local-source.js';
import { readRecordBatches, readRecords } from '../../trainer/data/recordio/reader.js';
import { unpackImageRecord } from '../../trainer/data/recordio/image-record.js';
import { packDataset } from '../../trainer/data/pack/pack.js';
import { benchColdDecode, benchWarmPipeline } from './pipeline-bench.js';
import { cifarDatasetDir, datasetSkip } from '../../test/helpers/datasets.js';

const run = promisify(execFile);
const skip = datasetSkip('cifar10-jpeg.tar.gz');
if (skip) {
  console.log(`bench:data skipped: ${skip}`);
  process.exit(0);
}

const MB = 1024 * 1024;
const fmt = (n: number, digits = 0) => n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });

async function best<T extends { seconds: number }>(rounds: number, fn: () => Promise<T>): Promise<T> {
  let winner: T | undefined;
  for (let i = 0; i < rounds; i++) {
    const r = await fn();
    if (!winner || r.seconds < winner.seconds) winner = r;
  }
  return winner!;
}

const dir = await mkdtemp(join(tmpdir(), 'bench-data-'));
try {
  const packStart = performance.now();
  const packed = await packDataset({
    from: join(cifarDatasetDir, 'cifar10-jpeg.tar.gz'),
    out: join(dir, 'train'),
    split: 'train',
    encoding: 'passthrough',
    quality: 95,
    shuffle: true,
    seed: 1,
  });
  const recPath = packed.recUri;
  console.log(`packed ${packed.records} training images (passthrough) in ${fmt((performance.now() - packStart) / 1000, 1)} s`);

  // 1. RecordIO read + parse against a plain sequential read of the same file.
  const plain = await best(5, async () => {
    const source = new LocalFileSource(recPath);
    const t0 = performance.now();
    let bytes = 0;
    for await (const chunk of source.stream(0, Infinity)) bytes += chunk.length;
    await source.close();
    return { bytes, seconds: (performance.now() - t0) / 1000 };
  });
  const parsed = await best(5, async () => {
    const source = new LocalFileSource(recPath);
    const t0 = performance.now();
    let bytes = 0;
    let records = 0;
    for await (const { payload } of readRecords(source)) {
      bytes += payload.length;
      records++;
    }
    await source.close();
    return { bytes, records, seconds: (performance.now() - t0) / 1000 };
  });
  // The batched reader is what the trainer's data loading uses: one await per chunk, not per record.
  const batched = await best(5, async () => {
    const source = new LocalFileSource(recPath);
    const t0 = performance.now();
    let bytes = 0;
    let records = 0;
    for await (const batch of readRecordBatches(source)) {
      for (const { payload } of batch) bytes += payload.length;
      records += batch.length;
    }
    await source.close();
    return { bytes, records, seconds: (performance.now() - t0) / 1000 };
  });
  const plainRate = plain.bytes / MB / plain.seconds;
  const parsedRate = plain.bytes / MB / parsed.seconds;
  const batchedRate = plain.bytes / MB / batched.seconds;
  const recordioRatio = batchedRate / plainRate;
  console.log(`plain sequential read (page cache): ${fmt(plainRate)} MB/s`);
  console.log(`RecordIO read+parse, record at a time (readRecords): ${fmt(parsedRate)} MB/s, ${fmt(parsed.records / parsed.seconds)} records/s: ratio ${fmt(parsedRate / plainRate, 2)}`);
  console.log(`RecordIO read+parse, batched (readRecordBatches, used by the trainer): ${fmt(batchedRate)} MB/s, ${fmt(batched.records / batched.seconds)} records/s: ratio ${fmt(recordioRatio, 2)} (target >= 0.5)`);

  // 2. Cold pipeline: JPEG decode into the uint8 cache, one core.
  const jpegs: Uint8Array[] = [];
  const source = new LocalFileSource(recPath);
  for await (const { offset, payload } of readRecords(source)) jpegs.push(unpackImageRecord(payload, recPath, offset).image);
  await source.close();
  const cold = await benchColdDecode(jpegs);
  console.log(`cold pipeline (JPEG decode into cache): ${fmt(cold.imagesPerSecond)} images/s per core vs ${cold.reference} ${fmt(cold.referenceImagesPerSecond)} images/s: ratio ${fmt(cold.imagesPerSecond / cold.referenceImagesPerSecond, 2)} (target >= 5,000/s)`);

  // 3. Warm pipeline: augment + normalise + batch from the cache, one core.
  const warm = await benchWarmPipeline(cold.cache, { batchSize: 128, crop: 32 });
  console.log(`warm pipeline (pad 4, crop 32, flip, normalise, batch 128): ${fmt(warm.imagesPerSecond)} images/s per core vs ${warm.reference} ${fmt(warm.referenceImagesPerSecond)} images/s: ratio ${fmt(warm.imagesPerSecond / warm.referenceImagesPerSecond, 2)} (target >= 20,000/s)`);
  const warm28 = await benchWarmPipeline(cold.cache, { batchSize: 128, crop: 28 });
  console.log(`warm pipeline at the tutorial's 28x28 crop: ${fmt(warm28.imagesPerSecond)} images/s per core`);

  // 4. Peak RSS of a process that loads the whole training set into the cache.
  const { stdout } = await run(process.execPath, ['--import', 'tsx', join('hack', 'bench', 'cache-memory.ts'), recPath], { maxBuffer: 1 << 20 });
  const mem = JSON.parse(stdout.trim().split('\n').pop()!) as { images: number; cacheBytes: number; baselineRssBytes: number; maxRssBytes: number; seconds: number };
  console.log(`memory: ${mem.images} images cached, peak RSS ${fmt(mem.maxRssBytes / MB)} MB (process baseline ${fmt(mem.baselineRssBytes / MB)} MB, cache ${fmt(mem.cacheBytes / MB)} MB): ratio peak/cache ${fmt(mem.maxRssBytes / mem.cacheBytes, 2)} (target < 400 MB); loaded in ${fmt(mem.seconds, 1)} s`);

  const ok = recordioRatio >= 0.5 && cold.imagesPerSecond >= 5000 && warm.imagesPerSecond >= 20000 && mem.maxRssBytes < 400 * MB;
  console.log(
    `bench:data summary: recordio/plain ${fmt(recordioRatio, 2)}, cold ${fmt(cold.imagesPerSecond)}/s, warm ${fmt(warm.imagesPerSecond)}/s, peak RSS ${fmt(mem.maxRssBytes / MB)} MB: ${ok ? 'all targets met' : 'some targets missed'}`,
  );
} finally {
  await rm(dir, { recursive: true, force: true });
}
