import type { S3Config } from '../../io/s3-config.js';
import { openSink } from '../../io/uri.js';
import { IndexedRecordIOWriter } from '../recordio/indexed-writer.js';
import { packImageRecord } from '../recordio/image-record.js';
import { openImageSource } from '../cifar/open-image-source.js';
import type { LabeledImage, Split } from '../cifar/labeled-image.js';
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
  classNames: string[];
  sourceKind: string;
}

/**
 * The project's im2rec: packs a CIFAR-10 source into MXNet image RecordIO. As im2rec
 * does, the key and IRHeader id of each record are the image's index in the source
 * listing (class folders in sorted order), and shuffling changes only the order in
 * which records are stored.
 */
export async function packDataset(options: PackOptions): Promise<PackResult> {
  if (!(Number.isInteger(options.quality) && options.quality >= 1 && options.quality <= 100)) {
    throw new UsageError(`--quality must be an integer from 1 to 100, got ${options.quality}`);
  }
  const source = await openImageSource(options.from, { split: options.split });
  const images: LabeledImage[] = [];
  for await (const image of source.images()) {
    if (options.limit !== undefined && images.length >= options.limit) break;
    if (options.encoding === 'passthrough' && !image.encoded) {
      throw new UsageError(`--encoding passthrough needs encoded image files, but ${source.uri} (${source.kind}) holds raw pixels; use --encoding png (lossless) or jpg`);
    }
    images.push(image);
  }
  if (images.length === 0) throw new UsageError(`${options.from}: no ${options.split} images to pack`);
  if (options.shuffle) new Rng(options.seed).shuffle(images);

  const recUri = `${options.out}.rec`;
  const idxUri = `${options.out}.idx`;
  const writer = new IndexedRecordIOWriter(openSink(recUri, options.s3), openSink(idxUri, options.s3));
  try {
    let done = 0;
    for (const image of images) {
      const payload = packImageRecord({ labels: [image.label], id: image.index }, encodeImage(image, options, source.uri));
      await writer.write(image.index, payload);
      options.onProgress?.(++done, images.length);
    }
    await writer.commit();
  } catch (err) {
    await writer.abort().catch(() => undefined);
    throw err;
  }
  return { records: images.length, recUri, idxUri, classNames: source.classNames, sourceKind: source.kind };
}

function encodeImage(image: LabeledImage, options: PackOptions, sourceUri: string): Uint8Array {
  if (options.encoding === 'passthrough') return image.encoded!.bytes;
  const { data, width, height } = image.pixels ?? decodeImage(image.encoded!.bytes, `${sourceUri}:${image.name}`);
  return options.encoding === 'png' ? encodePng(data, width, height) : encodeJpeg(data, width, height, options.quality);
}
