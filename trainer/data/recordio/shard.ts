import type { ByteSource } from '../../io/byte-source.js';
import { DataFormatError, UsageError } from '../../util/errors.js';
import { HEADER_BYTES, MAGIC_BYTES, decodeCFlag, isRecordStart } from './format.js';
import { readRecords, type ByteRange, type RecordEntry } from './reader.js';

/**
 * Splitting one .rec file into `numParts` parts the way MXNet's data iterators do
 * (dmlc InputSplitBase::ResetPartition + RecordIOSplitter::SeekRecordBegin), so that
 * workers given part_index/num_parts read the same records MXNet workers would.
 */

export interface PartOptions {
  /** First read size when looking for a record start; doubles up to 4 MiB. */
  windowBytes?: number;
}

const DEFAULT_WINDOW = 64 << 10;
const MAX_WINDOW = 4 << 20;

export function checkPart(partIndex: number, numParts: number): void {
  if (!Number.isSafeInteger(numParts) || numParts < 1) {
    throw new UsageError(`numParts must be a positive integer, got ${numParts}`);
  }
  if (!Number.isSafeInteger(partIndex) || partIndex < 0 || partIndex >= numParts) {
    throw new UsageError(`partIndex must be an integer in [0, ${numParts - 1}] (numParts ${numParts}), got ${partIndex}`);
  }
}

/** The byte range dmlc assigns before moving boundaries to record starts. Pure. */
export function nominalPartRange(total: number, partIndex: number, numParts: number): ByteRange {
  checkPart(partIndex, numParts);
  const step = Math.ceil(Math.ceil(total / numParts) / 4) * 4;
  return { start: Math.min(step * partIndex, total), end: Math.min(step * (partIndex + 1), total) };
}

/**
 * The range of part `partIndex`: each nominal boundary other than 0 and the file size
 * moves forward to the first record start at or after it. Reads only a small window
 * after each boundary, never the whole file.
 */
export async function partRange(source: ByteSource, partIndex: number, numParts: number, options: PartOptions = {}): Promise<ByteRange> {
  const total = await source.size();
  const nominal = nominalPartRange(total, partIndex, numParts);
  const window = options.windowBytes ?? DEFAULT_WINDOW;
  if (nominal.start === nominal.end) return nominal;
  const move = (at: number): Promise<number> => (at === 0 || at === total ? Promise.resolve(at) : seekRecordBegin(source, at, total, window));
  const [start, end] = await Promise.all([move(nominal.start), move(nominal.end)]);
  return { start, end };
}

/** The records of part `partIndex` of `numParts`, reading only that part's bytes. */
export async function* readPart(source: ByteSource, partIndex: number, numParts: number, options?: PartOptions): AsyncGenerator<RecordEntry> {
  yield* readRecords(source, await partRange(source, partIndex, numParts, options));
}

/**
 * The first record start at or after the aligned offset `from`, or `total` when there is
 * none: an aligned magic word followed by an lrecord with cflag 0 or 1. This is exact
 * because writers escape every aligned magic inside payloads.
 */
export async function seekRecordBegin(source: ByteSource, from: number, total: number, windowBytes = DEFAULT_WINDOW): Promise<number> {
  if (from % 4 !== 0) throw new RangeError(`${source.uri}: seekRecordBegin needs a 4-byte-aligned offset, got ${from}`);
  let pos = from;
  let window = Math.max(16, windowBytes);
  while (pos < total) {
    const buf = await source.read(pos, Math.min(window, total - pos));
    if (buf.length === 0) break;
    // Whole words only; a magic in the last word is re-read with its lrecord next time.
    let advance = buf.length & ~3;
    for (let at = buf.indexOf(MAGIC_BYTES, 0); at >= 0; at = buf.indexOf(MAGIC_BYTES, at + 1)) {
      if (at % 4 !== 0) continue;
      if (at + HEADER_BYTES <= buf.length) {
        if (isRecordStart(decodeCFlag(buf.readUInt32LE(at + 4)))) return pos + at;
        continue;
      }
      if (pos + at + HEADER_BYTES > total) {
        throw new DataFormatError(source.uri, pos + at, `truncated RecordIO header: the file ends ${total - pos - at} bytes after a magic word`);
      }
      advance = at;
      break;
    }
    if (advance === 0) advance = 4;
    pos += advance;
    window = Math.min(window * 2, MAX_WINDOW);
  }
  return total;
}
