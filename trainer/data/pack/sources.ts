import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { LocalFileSource } from '../../io/local-source.js';
import { readWhole } from '../../io/read-whole.js';
import { DEFAULT_INPUT_LIMITS, LIMIT_FLAGS, type InputLimits } from '../limits.js';
import { DataFormatError, UsageError, errorMessage } from '../../util/errors.js';
import { openImageSource } from '../cifar/open-image-source.js';
import { sniffImageFormat, type EncodedFormat, type Split } from '../cifar/labeled-image.js';
import { parseIm2recList, type ListEntry } from './im2rec-list.js';

/** One image to pack: its record key (also the header id), its labels and its bytes or pixels. */
export interface PackItem {
  key: number;
  labels: number[];
  /** File, member or `<batch>#<row>` name, for errors. */
  name: string;
  encoded?: { bytes: Buffer; format: EncodedFormat };
  pixels?: { data: Uint8Array; width: number; height: number };
}

export interface PackSource {
  /** 'python', 'binary', 'image-folder', 'class-folder' or 'im2rec-list'. */
  kind: string;
  uri: string;
  /** Class names in label order; empty when labels come from a list. */
  classNames: string[];
  items(): AsyncIterable<PackItem>;
}

export interface PackSourceRequest {
  from: string;
  split: Split;
  /** The directory an im2rec .lst's paths are relative to. */
  root?: string;
  /** Bounds on images, files and archives (default: DEFAULT_INPUT_LIMITS). */
  limits?: InputLimits;
}

export function isIm2recList(from: string): boolean {
  return /\.lst$/i.test(from);
}

/**
 * Opens what `pack --from` names: an im2rec `.lst` (with `root`), or any CIFAR-10 layout
 * openImageSource recognises, whose images are keyed by their index in the listing.
 */
export async function openPackSource(request: PackSourceRequest): Promise<PackSource> {
  if (isIm2recList(request.from)) {
    if (request.root === undefined) throw new UsageError(`${request.from}: an im2rec .lst needs --root DIR, the directory its image paths are relative to`);
    return openIm2recList(request.from, request.root, request.limits);
  }
  if (request.root !== undefined) throw new UsageError(`--root applies only to an im2rec .lst source, not ${request.from}`);
  const source = await openImageSource(request.from, { split: request.split, ...(request.limits ? { limits: request.limits } : {}) });
  return {
    kind: source.kind,
    uri: source.uri,
    classNames: source.classNames,
    async *items() {
      for await (const image of source.images()) {
        yield {
          key: image.index,
          labels: [image.label],
          name: image.name,
          ...(image.encoded ? { encoded: image.encoded } : {}),
          ...(image.pixels ? { pixels: image.pixels } : {}),
        };
      }
    },
  };
}

/**
 * An im2rec list and its images: keys, ids and labels come from the list (several labels
 * on a line become a multi-label header), image bytes from `root`/path, in list order.
 */
export async function openIm2recList(listPath: string, root: string, limits: InputLimits = DEFAULT_INPUT_LIMITS): Promise<PackSource> {
  let text: string;
  try {
    text = await readFile(listPath, 'utf8');
  } catch (err) {
    throw new UsageError(`${listPath}: cannot read the list: ${errorMessage(err)}`);
  }
  const entries = parseIm2recList(text, listPath);
  if (entries.length === 0) throw new UsageError(`${listPath}: the list has no images`);
  return {
    kind: 'im2rec-list',
    uri: listPath,
    classNames: [],
    async *items() {
      for (const entry of entries) yield await readListed(listPath, root, entry, limits);
    },
  };
}

async function readListed(listPath: string, root: string, entry: ListEntry, limits: InputLimits): Promise<PackItem> {
  // As im2rec's os.path.join(root, path): relative paths below root, absolute ones as they are.
  const path = resolve(root, entry.path);
  const file = new LocalFileSource(path);
  let bytes: Buffer;
  try {
    bytes = await readWhole(file, limits.maxImageBytes, LIMIT_FLAGS.maxImageBytes);
  } catch (err) {
    throw new DataFormatError(listPath, undefined, `line ${entry.line}: ${errorMessage(err)}`);
  } finally {
    await file.close();
  }
  const format = sniffImageFormat(bytes);
  if (format === undefined) {
    throw new DataFormatError(listPath, undefined, `line ${entry.line}: ${path} is not a JPEG or PNG file (starts with ${bytes.subarray(0, 4).toString('hex') || 'nothing'})`);
  }
  return { key: entry.index, labels: entry.labels, name: entry.path, encoded: { bytes, format } };
}
