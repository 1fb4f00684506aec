import type { S3Config } from '../io/s3-config.js';
import { openSource, withSuffix } from '../io/uri.js';
import { readRecordBatches, type RecordEntry } from './recordio/reader.js';
import { partRange } from './recordio/shard.js';
import { readIndex } from './recordio/index-file.js';
import { unpackImageRecord } from './recordio/image-record.js';
import { buildImageCache, cacheFromPixels, type EncodedItem, type ImageCache } from './pipeline/image-cache.js';
import { checkImageHeader } from './image/decode.js';
import { openImageSource } from './cifar/open-image-source.js';
import type { LabeledImage, Split } from './cifar/labeled-image.js';
import { DataFormatError, UsageError } from '../util/errors.js';
import { DEFAULT_INPUT_LIMITS, LIMIT_FLAGS, type InputLimits } from './limits.js';
import { HEADER_BYTES } from './recordio/format.js';
import { IR_HEADER_BYTES } from './recordio/image-record.js';

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
  /** Bounds on image sizes, files and archives (default: DEFAULT_INPUT_LIMITS). */
  limits?: InputLimits;
  /** When set, every label must be a class index below it. */
  numClasses?: number;
}

/** Room for the IRHeader and a few extra labels on top of the image in one record. */
const RECORD_OVERHEAD_BYTES = 64 * 1024;
/** The smallest record an image can take: a part header, the IRHeader and a tiny image. */
const MIN_IMAGE_RECORD_BYTES = HEADER_BYTES + IR_HEADER_BYTES + 64;

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
  const limits = request.limits ?? DEFAULT_INPUT_LIMITS;
  const source = openSource(request.uri, request.s3);
  try {
    const total = await source.size();
    const range = request.part ? await partRange(source, request.part.index, request.part.count) : { start: 0, end: total };
    const indexed = await countFromIndex(request, total, range);
    // The index is a hint for sizing the cache, never more than the range could hold.
    const most = Math.floor((range.end - range.start) / MIN_IMAGE_RECORD_BYTES);
    const expected = indexed === undefined ? undefined : Math.min(indexed.count, request.limit ?? Infinity, most);
    let read = 0;
    const records = readRecordBatches(source, range, { maxRecordBytes: limits.maxImageBytes + RECORD_OVERHEAD_BYTES, maxRecordFlag: LIMIT_FLAGS.maxImageBytes });
    const counted = async function* (): AsyncGenerator<RecordEntry[]> {
      for await (const batch of records) {
        read += batch.length;
        yield batch;
      }
    };
    const items = limitItems(recordItems(source.uri, counted(), request.numClasses), request.limit);
    const first = await peek(items);
    if (!first.value) throw new UsageError(`${request.uri}: no records${request.part ? ` in part ${request.part.index}/${request.part.count}` : ''}`);
    const { height, width } = checkImageHeader(first.value.image, first.value.where, limits);
    const cache = await buildImageCache(first.rest, { height, width, limits, ...(expected !== undefined ? { expectedCount: expected } : {}) }, request.onProgress);
    if (indexed !== undefined && request.limit === undefined && read !== indexed.count) {
      throw new DataFormatError(indexed.uri, undefined, `lists ${indexed.count} records in bytes [${range.start}, ${range.end}) of ${request.uri}, which holds ${read}: the index does not match the file`);
    }
    return cache;
  } finally {
    await source.close();
  }
}

/**
 * Counts records in the byte range from the .idx next to the .rec, when there is one. The
 * index is checked against the .rec as it is read (see readIndex); a bad one is an error
 * naming it, a missing one means the cache grows as it reads.
 */
async function countFromIndex(request: DatasetRequest, recSize: number, range: { start: number; end: number }): Promise<{ uri: string; count: number } | undefined> {
  const idx = openSource(withSuffix(request.uri, '.idx'), request.s3);
  try {
    try {
      await idx.size();
    } catch {
      return undefined;
    }
    const entries = await readIndex(idx, { uri: request.uri, size: recSize });
    return { uri: idx.uri, count: entries.filter((e) => e.offset >= range.start && e.offset < range.end).length };
  } finally {
    await idx.close();
  }
}

/** A label that is not a class index below numClasses is an error naming the record. */
function checkLabel(label: number, numClasses: number | undefined, uri: string, offset: number | undefined): void {
  if (numClasses === undefined || (Number.isInteger(label) && label >= 0 && label < numClasses)) return;
  throw new DataFormatError(uri, offset, `label ${label} is not a class index in [0, ${numClasses - 1}] (--num-classes ${numClasses})`);
}

// Batches of records keep the per-record cost to a function call instead of an await.
async function* recordItems(uri: string, batches: AsyncIterable<RecordEntry[]>, numClasses: number | undefined): AsyncGenerator<EncodedItem[]> {
  for await (const batch of batches) {
    yield batch.map(({ offset, payload }) => {
      const record = unpackImageRecord(payload, uri, offset);
      checkLabel(record.labels[0], numClasses, uri, offset);
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

/** The images of one part, at most `limit` of them, labels checked. */
async function* selectImages(images: AsyncIterable<LabeledImage>, part: { index: number; count: number }, request: DatasetRequest, uri: string): AsyncGenerator<LabeledImage> {
  let n = 0;
  for await (const image of images) {
    if (image.index % part.count !== part.index) continue;
    if (request.limit !== undefined && n >= request.limit) return;
    checkLabel(image.label, request.numClasses, `${uri}:${image.name}`, undefined);
    n++;
    request.onProgress?.(n, undefined);
    yield image;
  }
}

/**
 * Official batches arrive decoded; encoded images (image folders) are decoded one by one
 * as they are read, so an archive never has all its members in memory at once.
 */
async function loadImageSource(request: DatasetRequest): Promise<LoadedDataset> {
  const limits = request.limits ?? DEFAULT_INPUT_LIMITS;
  const source = await openImageSource(request.uri, { split: request.split, limits });
  const part = request.part ?? { index: 0, count: 1 };
  const first = await peek(selectImages(source.images(), part, request, source.uri));
  if (!first.value) throw new UsageError(`${request.uri}: no ${request.split} images${request.part ? ` in part ${part.index}/${part.count}` : ''}`);
  const encoded = first.value.encoded;
  if (encoded) {
    const where = (image: LabeledImage): string => `${source.uri}:${image.name}`;
    const { height, width } = checkImageHeader(encoded.bytes, where(first.value), limits);
    const items = async function* (): AsyncGenerator<EncodedItem> {
      for await (const image of first.rest) {
        if (!image.encoded) throw new DataFormatError(where(image), undefined, 'raw pixels among encoded images');
        yield { label: image.label, image: image.encoded.bytes, where: where(image) };
      }
    };
    const count = source.count === undefined ? undefined : Math.min(Math.ceil((source.count - part.index) / part.count), request.limit ?? Infinity);
    const cache = await buildImageCache(items(), { height, width, limits, ...(count !== undefined && count > 0 ? { expectedCount: count } : {}) });
    return { cache, classNames: source.classNames };
  }
  const pixels: Uint8Array[] = [];
  const labels: number[] = [];
  let height = 0;
  let width = 0;
  for await (const image of first.rest) {
    if (!image.pixels) throw new DataFormatError(`${source.uri}:${image.name}`, undefined, 'encoded image among raw pixels');
    labels.push(image.label);
    pixels.push(image.pixels.data);
    height = image.pixels.height;
    width = image.pixels.width;
  }
  const joined = new Uint8Array(pixels.length * height * width * 3);
  pixels.forEach((p, i) => joined.set(p, i * height * width * 3));
  return { cache: cacheFromPixels(joined, Int32Array.from(labels), height, width, source.uri), classNames: source.classNames };
}
