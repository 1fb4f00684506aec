import type { ByteSink, ByteSource } from '../../trainer/io/byte-source.js';

/** A byte range a source handed out, for asserting what a reader touched. */
export interface ReadSpan {
  start: number;
  end: number;
}

/**
 * An in-memory ByteSource that streams in small chunks (so records span chunks) and logs
 * every byte range it returns, from read and from stream alike. Chunks are views of the
 * backing buffer, so a reader that does not copy hands out views of it too.
 */
export class MemorySource implements ByteSource {
  readonly spans: ReadSpan[] = [];

  constructor(
    readonly bytes: Buffer,
    readonly uri = 'mem://test.rec',
    private readonly chunkBytes = 1024,
  ) {}

  async size(): Promise<number> {
    return this.bytes.length;
  }

  async read(offset: number, length: number): Promise<Buffer> {
    const end = Math.min(offset + length, this.bytes.length);
    if (end > offset) this.spans.push({ start: offset, end });
    return this.bytes.subarray(offset, Math.max(offset, end));
  }

  async *stream(start: number, end: number): AsyncIterable<Buffer> {
    const stop = Math.min(end, this.bytes.length);
    for (let pos = start; pos < stop; pos += this.chunkBytes) {
      const chunkEnd = Math.min(pos + this.chunkBytes, stop);
      this.spans.push({ start: pos, end: chunkEnd });
      yield this.bytes.subarray(pos, chunkEnd);
    }
  }

  async close(): Promise<void> {}

  /** Bytes handed out, summed over all spans. */
  bytesRead(): number {
    return this.spans.reduce((sum, s) => sum + s.end - s.start, 0);
  }
}

/** A ByteSink that keeps bytes in memory and can be told to fail. */
export class MemorySink implements ByteSink {
  readonly uri: string;
  committed: Buffer | undefined;
  aborted = false;
  private chunks: Buffer[] = [];

  constructor(
    uri = 'mem://out',
    private readonly failOn?: 'write' | 'commit',
  ) {
    this.uri = uri;
  }

  async write(chunk: Uint8Array): Promise<void> {
    if (this.failOn === 'write') throw new Error(`${this.uri}: write failed (test)`);
    this.chunks.push(Buffer.from(chunk));
  }

  async commit(): Promise<void> {
    if (this.failOn === 'commit') throw new Error(`${this.uri}: commit failed (test)`);
    this.committed = Buffer.concat(this.chunks);
  }

  async abort(): Promise<void> {
    this.aborted = true;
    this.chunks = [];
  }
}
