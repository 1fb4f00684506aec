/**
 * The decoded training set kept in memory as one compact uint8 array.
 * CIFAR-10 is 150 MB of pixels decoded, so decoding once and keeping bytes (not
 * floats, 4x larger) lets every epoch augment straight from memory.
 */
import { decodeImage, type ImageLimits } from '../image/decode.js';
import { DataFormatError, UsageError } from '../../util/errors.js';

export interface ImageCache {
  readonly count: number;
  readonly height: number;
  readonly width: number;
  readonly channels: 3;
  /** count*height*width*3 bytes, image after image, each HWC RGB. */
  readonly pixels: Uint8Array;
  readonly labels: Int32Array;
}

/** One encoded image from a data source; `where` names it in errors (file, URI#record). */
export interface EncodedItem {
  label: number;
  image: Uint8Array;
  where: string;
}

export interface BuildCacheOptions {
  height: number;
  width: number;
  /** When known, the buffer is sized once and never copied. */
  expectedCount?: number;
  /** Allocate on a SharedArrayBuffer so prefetch workers can read it without a copy. */
  shared?: boolean;
  /** Images per chunk beyond expectedCount (default: 48 MB worth, 16,384 at 32x32). */
  chunkImages?: number;
  /** Limits each image is decoded under (default: DEFAULT_INPUT_LIMITS). */
  limits?: ImageLimits;
}

export type CacheProgress = (done: number, expected: number | undefined) => void;

// Above glibc's largest mmap threshold (32 MB), so a freed chunk goes back to the
// system instead of staying in the malloc heap.
const CHUNK_BYTES = 48 * 1024 * 1024;
const PROGRESS_EVERY = 1024;

/** Decodes every item into a new cache, rejecting images that are not height x width. */
export async function buildImageCache(
  items: AsyncIterable<EncodedItem> | Iterable<EncodedItem>,
  opts: BuildCacheOptions,
  onProgress?: CacheProgress,
): Promise<ImageCache> {
  checkSize(opts.height, opts.width);
  if (opts.expectedCount !== undefined && !(Number.isInteger(opts.expectedCount) && opts.expectedCount >= 0)) {
    throw new UsageError(`expectedCount must be a non-negative integer, got ${opts.expectedCount}`);
  }
  if (opts.chunkImages !== undefined && !(Number.isInteger(opts.chunkImages) && opts.chunkImages > 0)) {
    throw new UsageError(`chunkImages must be a positive integer, got ${opts.chunkImages}`);
  }
  const builder = new CacheBuilder(opts);
  const add = (item: EncodedItem): void => {
    builder.add(item);
    if (onProgress && builder.count % PROGRESS_EVERY === 0) onProgress(builder.count, opts.expectedCount);
  };
  // A sync source skips the per-item await that `for await` would add.
  if (Symbol.iterator in items) {
    for (const item of items) add(item);
  } else {
    for await (const item of items) add(item);
  }
  onProgress?.(builder.count, opts.expectedCount);
  return builder.finish();
}

/** Wraps pixels that are already decoded (binary and pickle sources), checking their sizes. */
export function cacheFromPixels(pixels: Uint8Array, labels: Int32Array, height: number, width: number, where = 'pixels'): ImageCache {
  checkSize(height, width);
  const imageBytes = height * width * 3;
  if (pixels.length !== labels.length * imageBytes) {
    throw new DataFormatError(
      where,
      undefined,
      `${labels.length} labels need ${labels.length * imageBytes} bytes of ${height}x${width} RGB pixels, got ${pixels.length}`,
    );
  }
  for (let i = 0; i < labels.length; i++) {
    if (labels[i] < 0) throw new DataFormatError(where, undefined, `image ${i} has negative label ${labels[i]}`);
  }
  return { count: labels.length, height, width, channels: 3, pixels, labels };
}

/** The pixels of image `i`, as a view (no copy). */
export function imagePixels(cache: ImageCache, i: number): Uint8Array {
  const bytes = cache.height * cache.width * 3;
  return cache.pixels.subarray(i * bytes, (i + 1) * bytes);
}

/** A cache whose pixels live on a SharedArrayBuffer, copying only when they do not already. */
export function sharedCache(cache: ImageCache): ImageCache {
  if (cache.pixels.buffer instanceof SharedArrayBuffer) return cache;
  const pixels = new Uint8Array(new SharedArrayBuffer(cache.pixels.byteLength));
  pixels.set(cache.pixels);
  return { ...cache, pixels };
}

/**
 * Writes decoded images straight into one buffer when the count is known. Past
 * that (or with no count), it fills fixed-size chunks and joins them once at the
 * end: unlike doubling a single buffer, no chain of ever larger copies is left
 * for the garbage collector, so the peak stays near twice the final size.
 */
class CacheBuilder {
  count = 0;
  private readonly imageBytes: number;
  private readonly full: { pixels: Uint8Array; labels: Int32Array }[] = [];
  private current: { pixels: Uint8Array; labels: Int32Array };
  private used = 0;
  private readonly chunkImages: number;

  constructor(private readonly opts: BuildCacheOptions) {
    this.imageBytes = opts.height * opts.width * 3;
    this.chunkImages = opts.chunkImages ?? Math.ceil(CHUNK_BYTES / this.imageBytes);
    this.current = this.block(opts.expectedCount ?? this.chunkImages);
  }

  add(item: EncodedItem): void {
    if (!(Number.isInteger(item.label) && item.label >= 0 && item.label <= 0x7fffffff)) {
      throw new DataFormatError(item.where, undefined, `label must be a non-negative integer, got ${item.label}`);
    }
    const image = decodeImage(item.image, item.where, this.opts.limits);
    if (image.height !== this.opts.height || image.width !== this.opts.width) {
      throw new DataFormatError(
        item.where,
        undefined,
        `image is ${image.width}x${image.height} (width x height), expected ${this.opts.width}x${this.opts.height}`,
      );
    }
    if (this.used === this.current.labels.length) {
      this.full.push(this.current);
      this.current = this.block(this.chunkImages);
      this.used = 0;
    }
    this.current.pixels.set(image.data, this.used * this.imageBytes);
    this.current.labels[this.used] = item.label;
    this.used++;
    this.count++;
  }

  finish(): ImageCache {
    const { height, width } = this.opts;
    const exact = this.full.length === 0 && this.used === this.current.labels.length;
    if (exact) return { count: this.count, height, width, channels: 3, pixels: this.current.pixels, labels: this.current.labels };
    const out = this.block(this.count);
    const last = { pixels: this.current.pixels, labels: this.current.labels.subarray(0, this.used) };
    let at = 0;
    for (const part of [...this.full, last]) {
      out.pixels.set(part.pixels.subarray(0, part.labels.length * this.imageBytes), at * this.imageBytes);
      out.labels.set(part.labels, at);
      at += part.labels.length;
    }
    // Drop the chunks so they can be collected as soon as the caller moves on.
    this.full.length = 0;
    this.current = this.block(0);
    return { count: this.count, height, width, channels: 3, pixels: out.pixels, labels: out.labels };
  }

  private block(images: number): { pixels: Uint8Array; labels: Int32Array } {
    const bytes = images * this.imageBytes;
    const pixels = this.opts.shared ? new Uint8Array(new SharedArrayBuffer(bytes)) : new Uint8Array(bytes);
    return { pixels, labels: new Int32Array(images) };
  }
}

function checkSize(height: number, width: number): void {
  if (!(Number.isInteger(height) && height > 0 && Number.isInteger(width) && width > 0)) {
    throw new UsageError(`image size must be positive integers, got height ${height} and width ${width}`);
  }
}
