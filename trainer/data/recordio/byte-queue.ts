/**
 * A FIFO of byte chunks read from a stream. Bytes that lie inside one chunk are handed out
 * as views (no copy); only a span that crosses chunks is copied into a new buffer.
 */
export class ByteQueue {
  private chunks: Buffer[] = [];
  private head = 0;
  private bytes = 0;

  /** Bytes queued and not yet consumed. */
  get length(): number {
    return this.bytes;
  }

  /** The unconsumed part of the first chunk, for parsers with a fast path over contiguous bytes. */
  head0(): { chunk: Buffer; head: number } | undefined {
    return this.chunks.length > 0 ? { chunk: this.chunks[0], head: this.head } : undefined;
  }

  push(chunk: Buffer): void {
    if (chunk.length === 0) return;
    this.chunks.push(chunk);
    this.bytes += chunk.length;
  }

  /** The little-endian uint32 `at` bytes past the head. The caller ensures it is queued. */
  uint32(at: number): number {
    const first = this.chunks[0];
    const pos = this.head + at;
    if (pos + 4 <= first.length) return first.readUInt32LE(pos);
    const word = this.peekCopy(at, 4);
    return word.readUInt32LE(0);
  }

  /** Consumes `n` bytes and returns them, as a view when they lie in one chunk. */
  take(n: number): Buffer {
    const first = this.chunks[0];
    if (n === 0) return Buffer.alloc(0);
    if (this.head + n <= first.length) {
      const view = first.subarray(this.head, this.head + n);
      this.skip(n);
      return view;
    }
    const copy = this.peekCopy(0, n);
    this.skip(n);
    return copy;
  }

  skip(n: number): void {
    this.bytes -= n;
    let left = n;
    while (left > 0) {
      const rest = this.chunks[0].length - this.head;
      if (left < rest) {
        this.head += left;
        return;
      }
      left -= rest;
      this.chunks.shift();
      this.head = 0;
    }
  }

  private peekCopy(at: number, n: number): Buffer {
    const out = Buffer.allocUnsafe(n);
    let skip = this.head + at;
    let filled = 0;
    for (const chunk of this.chunks) {
      if (skip >= chunk.length) {
        skip -= chunk.length;
        continue;
      }
      filled += chunk.copy(out, filled, skip, Math.min(chunk.length, skip + n - filled));
      skip = 0;
      if (filled === n) break;
    }
    return out;
  }
}
