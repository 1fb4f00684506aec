import type { S3Config } from '../../io/s3-config.js';
import { openSink } from '../../io/uri.js';
import { IndexedRecordIOWriter } from '../recordio/indexed-writer.js';
import { packImageRecord } from '../recordio/image-record.js';
import type { Split } from '../cifar/labeled-image.js';
import { openPackSource, type PackItem } from './sources.js';
import { checkImageHeader, decodeImage } from '../image/decode.js';
import { DEFAULT_INPUT_LIMITS, type InputLimits } from '../limits.js';
import { encodeJpeg, encodePng } from '../image/encode.js';
import { Rng } from '../../util/rng.js';
import { UsageError } from '../../util/errors.js';

export const ENCODINGS = ['jpg', 'png', 'passthrough'] as const;
export type Encoding = (typeof ENCODINGS)[number];

export interface PackOptions {
  from: string;
  /** Output prefix: writes PREFIX.rec and PREFIX.idx (local or s3://). */
  out: string;
  split: Split;
  /** For an im2rec .lst source: the directory its image paths are relative to. */
  root?: string;
  encoding: Encoding;
  /** JPEG quality 1..100 (im2rec's default is 95). */
  quality: number;
  shuffle: boolean;
  seed: number;
  /** Pack only the first N images of the source (before shuffling). */
  limit?: number;
  s3?: S3Config;
  onProgress?: (done: number, total: number | undefined) => void;
  /** Bounds on images, files and archives (default: DEFAULT_INPUT_LIMITS). */
  limits?: InputLimits;
  /** Aborting it (SIGINT, SIGTERM) stops the pack and removes its temporary files. */
  signal?: AbortSignal;
}

export interface PackResult {
  records: number;
  recUri: string;
  idxUri: string;
  /** Class names in label order; empty for an im2rec list, whose labels are numbers. */
  classNames: string[];
  sourceKind: string;
}

/**
 * The project's im2rec: packs a CIFAR-10 source, a folder of class folders or an im2rec
 * list into MXNet image RecordIO. As im2rec does, the key and IRHeader id of each record
 * are the image's index in the source listing (class folders in sorted order) or the
 * list's index column, and shuffling changes only the order in which records are stored.
 */
export async function packDataset(options: PackOptions): Promise<PackResult> {
  if (!(Number.isInteger(options.quality) && options.quality >= 1 && options.quality <= 100)) {
    throw new UsageError(`--quality must be an integer from 1 to 100, got ${options.quality}`);
  }
  const limits = options.limits ?? DEFAULT_INPUT_LIMITS;
  const source = await openPackSource({ from: options.from, split: options.split, limits, ...(options.root !== undefined ? { root: options.root } : {}) });
  const recUri = `${options.out}.rec`;
  const idxUri = `${options.out}.idx`;
  const writer = new IndexedRecordIOWriter(openSink(recUri, options.s3), openSink(idxUri, options.s3));
  // Each image is checked and encoded as it is read, so at most one source image is held
  // at a time; only --shuffle keeps the (encoded) records until the order is known.
  const held: { key: number; payload: Buffer }[] = [];
  let records = 0;
  try {
    for await (const item of source.items()) {
      options.signal?.throwIfAborted();
      if (options.limit !== undefined && records >= options.limit) break;
      if (options.encoding === 'passthrough' && !item.encoded) {
        throw new UsageError(`--encoding passthrough needs encoded image files, but ${source.uri} (${source.kind}) holds raw pixels; use --encoding png (lossless) or jpg`);
      }
      const payload = packImageRecord({ labels: item.labels, id: item.key }, encodeImage(item, options, source.uri, limits));
      records++;
      if (options.shuffle) {
        held.push({ key: item.key, payload });
        continue;
      }
      await writer.write(item.key, payload);
      options.onProgress?.(records, undefined);
    }
    if (records === 0) throw new UsageError(`${options.from}: no ${options.split} images to pack`);
    if (options.shuffle) {
      new Rng(options.seed).shuffle(held);
      for (const [i, { key, payload }] of held.entries()) {
        options.signal?.throwIfAborted();
        await writer.write(key, payload);
        options.onProgress?.(i + 1, held.length);
      }
    }
    options.signal?.throwIfAborted();
    await writer.commit();
  } catch (err) {
    await writer.abort().catch(() => undefined);
    throw err;
  }
  return { records, recUri, idxUri, classNames: source.classNames, sourceKind: source.kind };
}

function encodeImage(item: PackItem, options: PackOptions, sourceUri: string, limits: InputLimits): Uint8Array {
  const where = `${sourceUri}:${item.name}`;
  if (options.encoding === 'passthrough') {
    // Stored unchanged, so checked here: the trainer must be able to decode what pack wrote.
    checkImageHeader(item.encoded!.bytes, where, limits);
    return item.encoded!.bytes;
  }
  const { data, width, height } = item.pixels ?? decodeImage(item.encoded!.bytes, where, limits);
  return options.encoding === 'png' ? encodePng(data, width, height) : encodeJpeg(data, width, height, options.quality);
}
