import type { S3Config } from '../../io/s3-config.js';
import { openSink } from '../../io/uri.js';
import { IndexedRecordIOWriter } from '../recordio/indexed-writer.js';
import { packImageRecord } from '../recordio/image-record.js';
import type { Split } from '../cifar/labeled-image.js';
import { openPackSource, type PackItem } from './sources.js';
import { decodeImage } from '../image/decode.js';
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
  onProgress?: (done: number, total: number) => void;
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
  const source = await openPackSource({ from: options.from, split: options.split, ...(options.root !== undefined ? { root: options.root } : {}) });
  const items: PackItem[] = [];
  for await (const item of source.items()) {
    if (options.limit !== undefined && items.length >= options.limit) break;
    if (options.encoding === 'passthrough' && !item.encoded) {
      throw new UsageError(`--encoding passthrough needs encoded image files, but ${source.uri} (${source.kind}) holds raw pixels; use --encoding png (lossless) or jpg`);
    }
    items.push(item);
  }
  if (items.length === 0) throw new UsageError(`${options.from}: no ${options.split} images to pack`);
  if (options.shuffle) new Rng(options.seed).shuffle(items);

  const recUri = `${options.out}.rec`;
  const idxUri = `${options.out}.idx`;
  const writer = new IndexedRecordIOWriter(openSink(recUri, options.s3), openSink(idxUri, options.s3));
  try {
    let done = 0;
    for (const item of items) {
      const payload = packImageRecord({ labels: item.labels, id: item.key }, encodeImage(item, options, source.uri));
      await writer.write(item.key, payload);
      options.onProgress?.(++done, items.length);
    }
    await writer.commit();
  } catch (err) {
    await writer.abort().catch(() => undefined);
    throw err;
  }
  return { records: items.length, recUri, idxUri, classNames: source.classNames, sourceKind: source.kind };
}

function encodeImage(item: PackItem, options: PackOptions, sourceUri: string): Uint8Array {
  if (options.encoding === 'passthrough') return item.encoded!.bytes;
  const { data, width, height } = item.pixels ?? decodeImage(item.encoded!.bytes, `${sourceUri}:${item.name}`);
  return options.encoding === 'png' ? encodePng(data, width, height) : encodeJpeg(data, width, height, options.quality);
}
