import { DataFormatError, UsageError } from '../../util/errors.js';
import { DEFAULT_INPUT_LIMITS, type InputLimits } from '../limits.js';
import type { ImageSource, LabeledImage, Split } from './labeled-image.js';
import { openNamedFiles, type DataLocation } from './named-files.js';
import { CIFAR_IMAGE_BYTES, CIFAR_SIDE, planarToHwc } from './planar.js';
import { splitFiles, type BatchLayout } from './split-files.js';

export const BINARY_META_FILE = 'batches.meta.txt';
export const BINARY_LAYOUT: BatchLayout = {
  train: ['data_batch_1.bin', 'data_batch_2.bin', 'data_batch_3.bin', 'data_batch_4.bin', 'data_batch_5.bin'],
  test: 'test_batch.bin',
};
/** One record: a label byte, then 1024 R, 1024 G and 1024 B bytes. */
export const BINARY_RECORD_BYTES = 1 + CIFAR_IMAGE_BYTES;

/** Class names from batches.meta.txt: one per line, blank lines ignored. */
export function parseBinaryMeta(bytes: Buffer, uri: string): string[] {
  const names = bytes
    .toString('utf8')
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '');
  if (names.length === 0) throw new DataFormatError(uri, undefined, 'no class names');
  return names;
}

/** Checks that a batch file holds whole records, naming where the partial record starts. */
export function checkBinarySize(size: number, uri: string): number {
  const records = Math.floor(size / BINARY_RECORD_BYTES);
  const rest = size - records * BINARY_RECORD_BYTES;
  if (rest !== 0) {
    throw new DataFormatError(
      uri,
      records * BINARY_RECORD_BYTES,
      `file size ${size} is not a multiple of the ${BINARY_RECORD_BYTES}-byte record: ${rest} trailing bytes`,
    );
  }
  return records;
}

/** Labels (checked below `classCount`) and HWC pixels of one binary batch file. */
export function parseBinaryBatch(bytes: Uint8Array, uri: string, classCount: number): { labels: Uint8Array; pixels: Uint8Array } {
  const rows = checkBinarySize(bytes.length, uri);
  const labels = new Uint8Array(rows);
  const pixels = new Uint8Array(rows * CIFAR_IMAGE_BYTES);
  for (let row = 0; row < rows; row++) {
    const offset = row * BINARY_RECORD_BYTES;
    const label = bytes[offset];
    if (label >= classCount) {
      throw new DataFormatError(uri, offset, `record ${row} has label ${label}, but there are only ${classCount} classes`);
    }
    labels[row] = label;
    planarToHwc(bytes, offset + 1, pixels, row * CIFAR_IMAGE_BYTES);
  }
  return { labels, pixels };
}

/**
 * Opens the official "binary version" of CIFAR-10 (a cifar-10-batches-bin directory, or
 * the cifar-10-binary.tar.gz archive) for one split. Sizes are checked on opening, so a
 * truncated file fails before any image is used.
 */
export async function openBinaryBatches(location: DataLocation, split: Split, limits: InputLimits = DEFAULT_INPUT_LIMITS): Promise<ImageSource> {
  const files = await openNamedFiles(location, [BINARY_META_FILE], limits);
  const meta = files.preloaded.get(BINARY_META_FILE);
  if (meta === undefined) throw new UsageError(`${files.uri}: no ${BINARY_META_FILE}, so the class names are unknown`);
  const classNames = parseBinaryMeta(meta.bytes, meta.uri);
  const batchFiles = splitFiles(split, BINARY_LAYOUT, files.names, files.uri);
  let count = 0;
  for (const name of batchFiles) count += checkBinarySize(files.sizes.get(name) ?? 0, files.uriOf(name));
  return {
    kind: 'binary',
    uri: files.uri,
    classNames,
    count,
    async *images(): AsyncGenerator<LabeledImage> {
      let index = 0;
      for await (const file of files.read(batchFiles)) {
        const { labels, pixels } = parseBinaryBatch(file.bytes, file.uri, classNames.length);
        for (let row = 0; row < labels.length; row++) {
          yield {
            index: index++,
            label: labels[row],
            name: `${file.name}#${row}`,
            pixels: {
              data: pixels.subarray(row * CIFAR_IMAGE_BYTES, (row + 1) * CIFAR_IMAGE_BYTES),
              width: CIFAR_SIDE,
              height: CIFAR_SIDE,
            },
          };
        }
      }
    },
  };
}
