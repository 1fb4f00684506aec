import { open, rename, rm, mkdir, type FileHandle } from 'node:fs/promises';
import { dirname, basename, join } from 'node:path';
import { randomBytes } from 'node:crypto';
import type { ByteSink, ByteSource } from './byte-source.js';

const STREAM_CHUNK_BYTES = 1 << 20;
/**
 * Largest length handed to one read(2) call: Node's binding takes a 32-bit length and
 * aborts the process on a larger one, so a read of 2 GiB or more goes in pieces.
 */
export const MAX_READ_CALL_BYTES = 1 << 30;

/** A local file as a ByteSource. The file handle is opened lazily and reused. */
export class LocalFileSource implements ByteSource {
  readonly uri: string;
  private handle: Promise<FileHandle> | undefined;

  constructor(
    readonly path: string,
    private readonly maxReadCallBytes = MAX_READ_CALL_BYTES,
  ) {
    this.uri = path;
  }

  private file(): Promise<FileHandle> {
    this.handle ??= open(this.path, 'r').catch((err: NodeJS.ErrnoException) => {
      this.handle = undefined;
      throw new Error(`${this.path}: cannot open for reading: ${err.code ?? err.message}`);
    });
    return this.handle;
  }

  async size(): Promise<number> {
    const stat = await (await this.file()).stat();
    return stat.size;
  }

  async read(offset: number, length: number): Promise<Buffer> {
    const fh = await this.file();
    const buf = Buffer.allocUnsafe(length);
    let filled = 0;
    while (filled < length) {
      const { bytesRead } = await fh.read(buf, filled, Math.min(length - filled, this.maxReadCallBytes), offset + filled);
      if (bytesRead === 0) break;
      filled += bytesRead;
    }
    return filled === length ? buf : buf.subarray(0, filled);
  }

  async *stream(start: number, end: number): AsyncIterable<Buffer> {
    const stop = Math.min(end, await this.size());
    for (let pos = start; pos < stop; ) {
      const chunk = await this.read(pos, Math.min(STREAM_CHUNK_BYTES, stop - pos));
      if (chunk.length === 0) return;
      pos += chunk.length;
      yield chunk;
    }
  }

  async close(): Promise<void> {
    const pending = this.handle;
    this.handle = undefined;
    if (pending) await (await pending).close();
  }
}

/**
 * Writes a local file atomically: bytes go to a temporary file in the same directory,
 * which is renamed over the destination on commit, so readers never see a partial file.
 */
export class LocalFileSink implements ByteSink {
  readonly uri: string;
  private readonly tmpPath: string;
  private handle: Promise<FileHandle> | undefined;

  constructor(readonly path: string) {
    this.uri = path;
    this.tmpPath = join(dirname(path), `.${basename(path)}.${randomBytes(6).toString('hex')}.tmp`);
  }

  private file(): Promise<FileHandle> {
    this.handle ??= mkdir(dirname(this.path), { recursive: true }).then(() => open(this.tmpPath, 'w'));
    return this.handle;
  }

  async write(chunk: Uint8Array): Promise<void> {
    const fh = await this.file();
    let written = 0;
    while (written < chunk.length) {
      const { bytesWritten } = await fh.write(chunk, written, chunk.length - written);
      written += bytesWritten;
    }
  }

  async commit(): Promise<void> {
    const fh = await this.file();
    await fh.sync();
    await fh.close();
    this.handle = undefined;
    await rename(this.tmpPath, this.path);
  }

  async abort(): Promise<void> {
    const pending = this.handle;
    this.handle = undefined;
    if (pending) await (await pending).close().catch(() => undefined);
    await rm(this.tmpPath, { force: true });
  }
}
