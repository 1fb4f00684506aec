import { DataFormatError, UsageError } from '../../util/errors.js';
import { DEFAULT_INPUT_LIMITS, type InputLimits } from '../limits.js';
import type { ImageSource, LabeledImage, Split } from './labeled-image.js';
import { openNamedFiles, type DataLocation } from './named-files.js';
import { CIFAR_IMAGE_BYTES, CIFAR_SIDE, planarToHwc } from './planar.js';
import { unpickle } from './pickle.js';
import { splitFiles, type BatchLayout } from './split-files.js';
import { NdArray, pickleText, pickleTypeName, type PickleDict, type PickleValue } from './pickle-values.js';

export const PYTHON_META_FILE = 'batches.meta';
export const PYTHON_LAYOUT: BatchLayout = {
  train: ['data_batch_1', 'data_batch_2', 'data_batch_3', 'data_batch_4', 'data_batch_5'],
  test: 'test_batch',
};

/** One python-version batch file, with its pixels converted to HWC. */
export interface PythonBatch {
  rows: number;
  /** `rows` images of 32x32x3 bytes, HWC interleaved RGB, back to back. */
  pixels: Uint8Array;
  labels: number[];
  /** Original file names from the batch, or `<uri>#<row>` when it has none. */
  names: string[];
}

function field(dict: PickleDict, key: string, uri: string): PickleValue {
  const value = dict.get(key);
  if (value === undefined) throw new DataFormatError(uri, undefined, `batch dict has no '${key}' entry`);
  return value;
}

/** Class names from the unpickled `batches.meta` dict (its `label_names`). */
export function parsePythonMeta(bytes: Buffer, uri: string): string[] {
  const meta = unpickle(bytes, uri);
  if (!(meta instanceof Map)) throw new DataFormatError(uri, undefined, `expected a dict, got ${pickleTypeName(meta)}`);
  const names = field(meta, 'label_names', uri);
  if (!Array.isArray(names) || names.length === 0) throw new DataFormatError(uri, undefined, `'label_names' must be a non-empty list`);
  return names.map((name, i) => {
    const text = pickleText(name);
    if (text === undefined) throw new DataFormatError(uri, undefined, `label_names[${i}] is a ${pickleTypeName(name)}, not a string`);
    return text;
  });
}

/**
 * Parses one batch file (a dict with `data`, a uint8 array of shape (N, 3072) in planar
 * order, and `labels`, N ints below `classCount`), converting pixels to HWC.
 */
export function parsePythonBatch(bytes: Buffer, uri: string, classCount: number): PythonBatch {
  const batch = unpickle(bytes, uri);
  if (!(batch instanceof Map)) throw new DataFormatError(uri, undefined, `expected a dict, got ${pickleTypeName(batch)}`);
  const data = field(batch, 'data', uri);
  if (!(data instanceof NdArray)) throw new DataFormatError(uri, undefined, `'data' is a ${pickleTypeName(data)}, not a numpy array`);
  const [rows, width] = data.shape;
  if (data.dtype.descr !== 'u1' || data.shape.length !== 2 || width !== CIFAR_IMAGE_BYTES || (data.fortranOrder && rows > 1)) {
    throw new DataFormatError(
      uri,
      undefined,
      `'data' must be a C-order uint8 array of shape (N, ${CIFAR_IMAGE_BYTES}), got ${data.dtype.descr} (${data.shape.join(', ')})${data.fortranOrder ? ' in Fortran order' : ''}`,
    );
  }
  const labelList = field(batch, 'labels', uri);
  if (!Array.isArray(labelList) || labelList.length !== rows) {
    throw new DataFormatError(uri, undefined, `'labels' must be a list of ${rows} ints, got ${pickleTypeName(labelList)}${Array.isArray(labelList) ? ` of ${labelList.length}` : ''}`);
  }
  const labels = labelList.map((label, row) => {
    if (typeof label !== 'number' || !Number.isInteger(label) || label < 0 || label >= classCount) {
      throw new DataFormatError(uri, undefined, `labels[${row}] is ${String(label)}, not a class index below ${classCount}`);
    }
    return label;
  });
  const fileNames = batch.get('filenames');
  const names = Array.from({ length: rows }, (_, row) =>
    (Array.isArray(fileNames) ? pickleText(fileNames[row]) : undefined) ?? `${uri}#${row}`,
  );
  const pixels = new Uint8Array(rows * CIFAR_IMAGE_BYTES);
  for (let row = 0; row < rows; row++) planarToHwc(data.data, row * CIFAR_IMAGE_BYTES, pixels, row * CIFAR_IMAGE_BYTES);
  return { rows, pixels, labels, names };
}

/**
 * Opens the official "python version" of CIFAR-10 (a cifar-10-batches-py directory, or the
 * cifar-10-python.tar.gz archive) for one split. Batches are read one at a time when the
 * images are iterated.
 */
export async function openPythonBatches(location: DataLocation, split: Split, limits: InputLimits = DEFAULT_INPUT_LIMITS): Promise<ImageSource> {
  const files = await openNamedFiles(location, [PYTHON_META_FILE], limits);
  const meta = files.preloaded.get(PYTHON_META_FILE);
  if (meta === undefined) throw new UsageError(`${files.uri}: no ${PYTHON_META_FILE}, so the class names are unknown`);
  const classNames = parsePythonMeta(meta.bytes, meta.uri);
  const batchFiles = splitFiles(split, PYTHON_LAYOUT, files.names, files.uri);
  return {
    kind: 'python',
    uri: files.uri,
    classNames,
    async *images(): AsyncGenerator<LabeledImage> {
      let index = 0;
      for await (const file of files.read(batchFiles)) {
        const batch = parsePythonBatch(file.bytes, file.uri, classNames.length);
        for (let row = 0; row < batch.rows; row++) {
          yield {
            index: index++,
            label: batch.labels[row],
            name: batch.names[row],
            pixels: {
              data: batch.pixels.subarray(row * CIFAR_IMAGE_BYTES, (row + 1) * CIFAR_IMAGE_BYTES),
              width: CIFAR_SIDE,
              height: CIFAR_SIDE,
            },
          };
        }
      }
    },
  };
}
