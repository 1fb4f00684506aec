import type { S3Config } from '../io/s3-config.js';
import { openSource, withSuffix } from '../io/uri.js';
import { readRecordBatches, type RecordEntry } from './recordio/reader.js';
import { partRange } from './recordio/shard.js';
import { readIndex } from './recordio/index-file.js';
import { unpackImageRecord } from './recordio/image-record.js';
import { buildImageCache, cacheFromPixels, type EncodedItem, type ImageCache } from './pipeline/image-cache.js';
import { decodeImage } from './image/decode.js';
import { openImageSource } from './cifar/open-image-source.js';
import type { Split } from './cifar/labeled-image.js';
import { UsageError } from '../util/errors.js';

export const DATA_FORMATS = ['auto', 'recordio', 'python', 'binary', 'image-folder'] as const;
export type DataFormat = (typeof DATA_FORMATS)[number];

export interface DatasetRequest {
  uri: string;
  format: DataFormat;
  /** For the official layouts: which split to read. */
  split: Split;
  /** Read only part `index` of `count` (MXNet part semantics for RecordIO; every count-th image otherwise). */
  part?: { index: number; count: number };
  /** Use at most this many images (after sharding). */
  limit?: number;
  s3?: S3Config;
  onProgress?: (done: number, expected: number | undefined) => void;
}

export interface LoadedDataset {
  cache: ImageCache;
  /** Class names when the source names them (the official layouts, image folders). */
  classNames?: string[];
}

/** RecordIO when the format says so, or when auto and the URI ends in .rec. */
export function resolveFormat(uri: string, format: DataFormat): DataFormat {
  if (format !== 'auto') return format;
  return /\.rec$/i.test(uri) ? 'recordio' : 'auto';
}

/**
 * Loads (a shard of) a data set into the decoded uint8 cache the input pipeline reads.
 * RecordIO may live on S3 or locally; the official layouts and image folders are local.
 */
export async function loadDataset(request: DatasetRequest): Promise<LoadedDataset> {
  const format = resolveFormat(request.uri, request.format);
  if (request.limit !== undefined && !(Number.isInteger(request.limit) && request.limit > 0)) {
    throw new UsageError(`number of examples must be a positive integer, got ${request.limit}`);
  }
  if (format === 'recordio') return { cache: await loadRecordIO(request) };
  if (request.uri.startsWith('s3://')) {
    throw new UsageError(`${request.uri}: only RecordIO (.rec) data can be read from S3; pack other layouts with 'cifar-trainer pack' first`);
  }
  return loadImageSource(request);
}

async function loadRecordIO(request: DatasetRequest): Promise<ImageCache> {
  const source = openSource(request.uri, request.s3);
  try {
    const total = await source.size();
    const range = request.part ? await partRange(source, request.part.index, request.part.count) : { start: 0, end: total };
    const known = await countFromIndex(request, range);
    const expected = known === undefined ? undefined : Math.min(known, request.limit ?? Infinity);
    const items = limitItems(recordItems(source.uri, readRecordBatches(source, range)), request.limit);
    const first = await peek(items);
    if (!first.value) throw new UsageError(`${request.uri}: no records${request.part ? ` in part ${request.part.index}/${request.part.count}` : ''}`);
    const { height, width } = decodeImage(first.value.image, first.value.where);
    return await buildImageCache(first.rest, { height, width, ...(expected !== undefined ? { expectedCount: expected } : {}) }, request.onProgress);
  } finally {
    await source.close();
  }
}

/** Counts records in the byte range from the .idx next to the .rec, when there is one. */
async function countFromIndex(request: DatasetRequest, range: { start: number; end: number }): Promise<number | undefined> {
  const idx = openSource(withSuffix(request.uri, '.idx'), request.s3);
  try {
    const entries = await readIndex(idx);
    return entries.filter((e) => e.offset >= range.start && e.offset < range.end).length;
  } catch {
    // No index (or an unreadable one): the cache grows as it reads instead.
    return undefined;
  } finally {
    await idx.close();
  }
}

// Batches of records keep the per-record cost to a function call instead of an await.
async function* recordItems(uri: string, batches: AsyncIterable<RecordEntry[]>): AsyncGenerator<EncodedItem[]> {
  for await (const batch of batches) {
    yield batch.map(({ offset, payload }) => {
      const record = unpackImageRecord(payload, uri, offset);
      return { label: record.labels[0], image: record.image, where: `${uri}#offset=${offset}` };
    });
  }
}

async function* limitItems<T>(batches: AsyncIterable<T[]>, limit: number | undefined): AsyncGenerator<T> {
  let n = 0;
  for await (const batch of batches) {
    for (const item of batch) {
      if (limit !== undefined && n >= limit) return;
      yield item;
      n++;
    }
  }
}

/** Reads the first item and returns it with an iterable that yields it again, then the rest. */
async function peek<T>(items: AsyncIterable<T>): Promise<{ value: T | undefined; rest: AsyncIterable<T> }> {
  const iterator = items[Symbol.asyncIterator]();
  const first = await iterator.next();
  async function* rest(): AsyncGenerator<T> {
    if (first.done) return;
    yield first.value;
    for (let r = await iterator.next(); !r.done; r = await iterator.next()) yield r.value;
  }
  return { value: first.done ? undefined : first.value, rest: rest() };
}

async function loadImageSource(request: DatasetRequest): Promise<LoadedDataset> {
  const source = await openImageSource(request.uri, { split: request.split });
  const part = request.part ?? { index: 0, count: 1 };
  const pixels: Uint8Array[] = [];
  const encoded: EncodedItem[] = [];
  const labels: number[] = [];
  let height = 0;
  let width = 0;
  for await (const image of source.images()) {
    if (image.index % part.count !== part.index) continue;
    if (request.limit !== undefined && labels.length >= request.limit) break;
    labels.push(image.label);
    if (image.pixels) {
      pixels.push(image.pixels.data);
      height = image.pixels.height;
      width = image.pixels.width;
    } else if (image.encoded) {
      encoded.push({ label: image.label, image: image.encoded.bytes, where: `${source.uri}:${image.name}` });
    }
    request.onProgress?.(labels.length, source.count);
  }
  if (labels.length === 0) throw new UsageError(`${request.uri}: no ${request.split} images${request.part ? ` in part ${part.index}/${part.count}` : ''}`);
  if (encoded.length > 0) {
    const { height: h, width: w } = decodeImage(encoded[0].image, encoded[0].where);
    return { cache: await buildImageCache(encoded, { height: h, width: w, expectedCount: encoded.length }), classNames: source.classNames };
  }
  const joined = new Uint8Array(pixels.length * height * width * 3);
  pixels.forEach((p, i) => joined.set(p, i * height * width * 3));
  return { cache: cacheFromPixels(joined, Int32Array.from(labels), height, width, source.uri), classNames: source.classNames };
}
