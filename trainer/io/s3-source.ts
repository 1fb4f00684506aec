import { GetObjectCommand } from '@aws-sdk/client-s3';
import type { ByteSource } from './byte-source.js';
import type { S3Connection } from './s3-client.js';
import { callS3, s3Uri } from './s3-call.js';
import { TruncatedBodyError } from './s3-errors.js';
import { headObject, type S3ObjectHead } from './s3-list.js';

export const DEFAULT_S3_CHUNK_BYTES = 8 << 20;

export interface S3SourceOptions {
  /** Bytes per ranged GET in stream(). */
  chunkBytes?: number;
  /** Close the connection when the source is closed (set when the source created it). */
  ownsConnection?: boolean;
}

/**
 * An S3 object as a ByteSource: size from HeadObject (cached), bytes from ranged GETs.
 * Every GET carries If-Match with the ETag seen by HeadObject, so an object replaced
 * mid-read fails loudly instead of mixing two versions.
 */
export class S3ObjectSource implements ByteSource {
  readonly uri: string;
  private readonly chunkBytes: number;
  private head: Promise<S3ObjectHead> | undefined;
  private closed = false;

  constructor(
    private readonly conn: S3Connection,
    readonly bucket: string,
    readonly key: string,
    private readonly options: S3SourceOptions = {},
  ) {
    this.uri = s3Uri(bucket, key);
    this.chunkBytes = options.chunkBytes ?? DEFAULT_S3_CHUNK_BYTES;
    if (!Number.isSafeInteger(this.chunkBytes) || this.chunkBytes <= 0) {
      throw new RangeError(`${this.uri}: chunk size must be a positive integer, got ${options.chunkBytes}`);
    }
  }

  private metadata(): Promise<S3ObjectHead> {
    this.head ??= headObject(this.conn, this.bucket, this.key).catch((err: unknown) => {
      this.head = undefined; // let a later call try again
      throw err;
    });
    return this.head;
  }

  async size(): Promise<number> {
    return (await this.metadata()).size;
  }

  async read(offset: number, length: number): Promise<Buffer> {
    this.checkRange('read', offset, length);
    const { size, etag } = await this.metadata();
    const end = Math.min(offset + length, size);
    if (end <= offset) return Buffer.alloc(0);
    return this.getRange(offset, end, etag);
  }

  async *stream(start: number, end: number): AsyncIterable<Buffer> {
    // end may be Infinity, meaning "to the end of the object".
    this.checkRange('stream', start, 0);
    if (Number.isNaN(end)) throw new RangeError(`${this.uri}: stream: end is NaN`);
    const { size, etag } = await this.metadata();
    const stop = Math.min(end, size);
    // One chunk is fetched ahead so the network works while the consumer decodes.
    const fetch = (from: number): Promise<Buffer> => {
      const p = this.getRange(from, Math.min(from + this.chunkBytes, stop), etag);
      p.catch(() => undefined); // handled when awaited; avoids an unhandled rejection meanwhile
      return p;
    };
    let pos = start;
    let pending = pos < stop ? fetch(pos) : undefined;
    while (pending) {
      const chunk = await pending;
      pos += chunk.length;
      pending = pos < stop ? fetch(pos) : undefined;
      yield chunk;
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.options.ownsConnection) this.conn.close();
  }

  /** GETs [from, to) exactly, retried as a whole (headers and body) on transient failures. */
  private getRange(from: number, to: number, etag: string | undefined): Promise<Buffer> {
    const range = `bytes=${from}-${to - 1}`;
    return callS3(this.conn, this.uri, `GetObject ${range}`, async () => {
      const out = await this.conn.client.send(
        new GetObjectCommand({ Bucket: this.bucket, Key: this.key, Range: range, IfMatch: etag }),
      );
      // Without Content-Range the server sent the whole object (HTTP 200), starting at 0.
      const startsAt = out.ContentRange ? Number(/^bytes (\d+)-/.exec(out.ContentRange)?.[1] ?? NaN) : 0;
      if (startsAt !== from) {
        destroyBody(out.Body);
        throw new Error(`asked for ${range} but the answer starts at byte ${startsAt} (Content-Range: ${out.ContentRange ?? 'none'})`);
      }
      return readPrefix(out.Body, to - from);
    });
  }

  private checkRange(what: string, offset: number, length: number): void {
    if (!Number.isSafeInteger(offset) || offset < 0 || !Number.isSafeInteger(length) || length < 0) {
      throw new RangeError(`${this.uri}: ${what}: offset and length must be non-negative integers, got ${offset} and ${length}`);
    }
  }
}

/**
 * Copies the first `expected` bytes of a response body into one buffer. A longer body
 * is cut off: some servers (s3rver for \`bytes=0-0\`, or any that ignores Range and
 * answers 200) send more than asked, and the prefix is still the right bytes.
 */
async function readPrefix(body: unknown, expected: number): Promise<Buffer> {
  if (!isAsyncIterable(body)) {
    if (expected === 0) return Buffer.alloc(0);
    throw new Error('response has no readable body');
  }
  const out = Buffer.allocUnsafe(expected);
  let filled = 0;
  for await (const piece of body) {
    if (!(piece instanceof Uint8Array)) throw new Error('response body yielded a non-byte chunk');
    const take = Math.min(piece.length, expected - filled);
    out.set(take === piece.length ? piece : piece.subarray(0, take), filled);
    filled += take;
    // Leaving the loop destroys the stream, so the surplus is not downloaded.
    if (filled === expected) break;
  }
  if (filled < expected) throw new TruncatedBodyError(expected, filled);
  return out;
}

function destroyBody(body: unknown): void {
  if (typeof body === 'object' && body !== null && 'destroy' in body && typeof body.destroy === 'function') {
    body.destroy();
  }
}

function isAsyncIterable(value: unknown): value is AsyncIterable<unknown> {
  return typeof value === 'object' && value !== null && Symbol.asyncIterator in value;
}
