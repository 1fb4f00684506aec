import type { ByteSource } from '../../io/byte-source.js';
import { DataFormatError } from '../../util/errors.js';
import { ByteQueue } from './byte-queue.js';
import { CFlag, HEADER_BYTES, RECORDIO_MAGIC, padded } from './format.js';
import { checkPartHeader, joinParts } from './part-header.js';
import { prefetch } from './prefetch.js';

/** One logical record: the offset of its first header and its payload. */
export interface RecordEntry {
  offset: number;
  payload: Buffer;
}

/** A byte range [start, end) of a .rec file. */
export interface ByteRange {
  start: number;
  end: number;
}

/**
 * Streams the logical records whose first header lies in [start, end) (the whole file by
 * default). `start` must be a record start. Reads [start, end) through `source.stream` and
 * goes past `end` only to finish a record that starts before it. Payloads that lie inside
 * one stream chunk are views into that chunk; the consumer may keep them (sources never
 * reuse yielded chunks).
 */
export async function* readRecords(source: ByteSource, range?: Partial<ByteRange>, opts?: ReadOptions): AsyncGenerator<RecordEntry> {
  for await (const batch of readRecordBatches(source, range, opts)) for (const record of batch) yield record;
}

export interface ReadOptions {
  /**
   * Largest logical record accepted: a header announcing more is an error before its bytes
   * are buffered (default: the format's own limit, 2^29 - 1 bytes per part).
   */
  maxRecordBytes?: number;
  /** The flag that sets maxRecordBytes, named in errors. */
  maxRecordFlag?: string;
}

/** Records whose parse completes without more input, per batch. */
const MAX_BATCH = 4096;

/**
 * readRecords in batches: every record parsed from the chunks at hand, handed over before
 * waiting for the next chunk. For hot loops over small records, where one async step per
 * record would cost more than the parse.
 */
export async function* readRecordBatches(source: ByteSource, range?: Partial<ByteRange>, opts: ReadOptions = {}): AsyncGenerator<RecordEntry[]> {
  const maxRecord = opts.maxRecordBytes ?? Infinity;
  const size = await source.size();
  const start = range?.start ?? 0;
  const end = Math.min(range?.end ?? size, size);
  checkRecordOffset(source.uri, start, size, start < end);
  if (start >= end) return;

  const input = chainedStream(source, start, end, size)[Symbol.asyncIterator]();
  const queue = new ByteQueue();
  // Pulls chunks until `n` bytes are queued; false at the end of the source.
  const fill = async (n: number): Promise<boolean> => {
    while (queue.length < n) {
      const next = await input.next();
      if (next.done) return false;
      queue.push(next.value);
    }
    return true;
  };

  const batch: RecordEntry[] = [];
  try {
    let pos = start;
    while (pos < end) {
      const fast = wholeRecordsInFirstChunk(queue, pos, end, batch, maxRecord);
      if (fast > 0) {
        queue.skip(fast);
        pos += fast;
        if (batch.length >= MAX_BATCH) yield batch.splice(0);
        continue;
      }
      const recordStart = pos;
      let parts: Buffer[] | undefined;
      let recordBytes = 0;
      let lastCFlag: number = CFlag.Whole;
      for (;;) {
        if (queue.length < HEADER_BYTES) {
          if (batch.length > 0) yield batch.splice(0);
          if (!(await fill(HEADER_BYTES))) throw truncated(source.uri, pos, queue.length, recordStart, parts !== undefined, lastCFlag);
        }
        const { cflag, length } = checkPartHeader(
          source.uri,
          pos,
          queue.uint32(0),
          queue.uint32(4),
          parts === undefined ? undefined : recordStart,
        );
        const partBytes = HEADER_BYTES + padded(length);
        // Parts are joined with the 4-byte magic between them.
        recordBytes += length + (parts === undefined ? 0 : 4);
        if (recordBytes > maxRecord) {
          throw new DataFormatError(
            source.uri,
            recordStart,
            `record of more than ${maxRecord} bytes is over the limit${opts.maxRecordFlag ? ` (${opts.maxRecordFlag})` : ''}: the part at ${pos} announces ${length} bytes`,
          );
        }
        if (queue.length < partBytes) {
          if (batch.length > 0) yield batch.splice(0);
          if (!(await fill(partBytes))) {
            throw new DataFormatError(
              source.uri,
              pos,
              `truncated RecordIO part: header says ${length} payload bytes (${partBytes - HEADER_BYTES} padded) but only ${queue.length - HEADER_BYTES} remain`,
            );
          }
        }
        queue.skip(HEADER_BYTES);
        const body = queue.take(length);
        queue.skip(partBytes - HEADER_BYTES - length);
        pos += partBytes;
        lastCFlag = cflag;
        if (cflag === CFlag.Whole) {
          batch.push({ offset: recordStart, payload: body });
          break;
        }
        (parts ??= []).push(body);
        if (cflag === CFlag.Last) {
          batch.push({ offset: recordStart, payload: joinParts(parts) });
          break;
        }
      }
      if (batch.length >= MAX_BATCH) yield batch.splice(0);
    }
    if (batch.length > 0) yield batch;
  } finally {
    await input.return?.(undefined);
  }
}

/**
 * The common case in a tight loop: single-part records lying wholly inside the first
 * queued chunk are pushed as views without the general parser's bookkeeping. Stops at
 * anything else (a multi-part record, a chunk boundary, a bad header, the range end),
 * which the general parser then handles and reports. Returns the bytes consumed.
 */
function wholeRecordsInFirstChunk(queue: ByteQueue, pos: number, end: number, batch: RecordEntry[], maxRecord: number): number {
  const first = queue.head0();
  if (!first) return 0;
  const { chunk, head } = first;
  let at = head;
  let offset = pos;
  const limit = chunk.length;
  while (offset < end && at + HEADER_BYTES <= limit && batch.length < MAX_BATCH) {
    if (chunk.readUInt32LE(at) !== RECORDIO_MAGIC) break;
    const lrecord = chunk.readUInt32LE(at + 4);
    // cflag 0 (whole record) means the top three bits are clear.
    if (lrecord >>> 29 !== CFlag.Whole || lrecord > maxRecord) break;
    const partBytes = HEADER_BYTES + ((lrecord + 3) & ~3);
    if (at + partBytes > limit) break;
    batch.push({ offset, payload: chunk.subarray(at + HEADER_BYTES, at + HEADER_BYTES + lrecord) });
    at += partBytes;
    offset += partBytes;
  }
  return at - head;
}

/**
 * Reads the one logical record whose first header is at `offset`, by random access
 * (a few `read` calls, no stream). Fails with DataFormatError when the offset is past
 * the end, unaligned, or not at a record start.
 */
export async function readRecordAt(source: ByteSource, offset: number): Promise<RecordEntry> {
  const size = await source.size();
  checkRecordOffset(source.uri, offset, size, true);
  let pos = offset;
  let header = await source.read(pos, HEADER_BYTES);
  let parts: Buffer[] | undefined;
  let lastCFlag: number = CFlag.Whole;
  for (;;) {
    if (header.length < HEADER_BYTES) throw truncated(source.uri, pos, header.length, offset, parts !== undefined, lastCFlag);
    const recordStart = parts === undefined ? undefined : offset;
    const { cflag, length } = checkPartHeader(source.uri, pos, header.readUInt32LE(0), header.readUInt32LE(4), recordStart);
    const body = padded(length);
    const more = cflag === CFlag.First || cflag === CFlag.Middle;
    // Fetch the next part's header in the same read when the record continues.
    const want = body + (more ? HEADER_BYTES : 0);
    const bytes = want === 0 ? Buffer.alloc(0) : await source.read(pos + HEADER_BYTES, want);
    if (bytes.length < body) {
      throw new DataFormatError(
        source.uri,
        pos,
        `truncated RecordIO part: header says ${length} payload bytes (${body} padded) but only ${bytes.length} remain`,
      );
    }
    const payload = bytes.subarray(0, length);
    lastCFlag = cflag;
    if (cflag === CFlag.Whole) return { offset, payload };
    (parts ??= []).push(payload);
    if (cflag === CFlag.Last) return { offset, payload: joinParts(parts) };
    pos += HEADER_BYTES + body;
    header = bytes.subarray(body);
  }
}

function checkRecordOffset(uri: string, offset: number, size: number, mustHoldRecord: boolean): void {
  if (!Number.isSafeInteger(offset) || offset < 0) {
    throw new DataFormatError(uri, undefined, `record offset ${offset} is not a non-negative integer`);
  }
  if (offset > size || (mustHoldRecord && offset === size)) {
    throw new DataFormatError(uri, offset, `record offset is past the end of the file (size ${size} bytes)`);
  }
  if (offset % 4 !== 0) {
    throw new DataFormatError(uri, offset, 'record offset is not 4-byte aligned, so it cannot be a record start');
  }
}

function truncated(uri: string, pos: number, have: number, recordStart: number, inRecord: boolean, lastCFlag: number): DataFormatError {
  if (have === 0 && inRecord) {
    return new DataFormatError(
      uri,
      pos,
      `file ends inside the record that starts at ${recordStart}: its last part has cflag ${lastCFlag}, so a part with cflag 2 or 3 must follow`,
    );
  }
  return new DataFormatError(uri, pos, `truncated RecordIO header: ${have} of ${HEADER_BYTES} bytes present`);
}

/**
 * [start, end) as chunks read ahead by one, then [end, size) lazily: only pulled, and not
 * read ahead, to finish a record that crosses `end`, so a range reads nothing beyond it
 * that it does not need.
 */
async function* chainedStream(source: ByteSource, start: number, end: number, size: number): AsyncGenerator<Buffer> {
  yield* prefetch(source.stream(start, end));
  if (end < size) yield* source.stream(end, size);
}
