import { createReadStream } from 'node:fs';
import { open, rm, type FileHandle } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { Upload } from '@aws-sdk/lib-storage';
import type { ByteSink } from './byte-source.js';
import type { S3Connection } from './s3-client.js';
import { callS3, s3Uri } from './s3-call.js';
import { errorMessage } from '../util/errors.js';

/** S3's smallest multipart part is 5 MiB; 8 MiB keeps part counts low for big checkpoints. */
export const DEFAULT_S3_PART_BYTES = 8 << 20;

export interface S3SinkOptions {
  /** Where the spool file lives; default os.tmpdir(). */
  tmpDir?: string;
  /** Multipart part size; objects smaller than this go up in one PutObject. */
  partBytes?: number;
  /** Parts uploaded in parallel. */
  queueSize?: number;
  contentType?: string;
  /** Close the connection after commit or abort (set when the sink created it). */
  ownsConnection?: boolean;
}

/** 'failed': a commit failed; the spool file is closed and kept, so commit may be retried. */
type State = 'open' | 'committing' | 'failed' | 'committed' | 'aborted';

/**
 * Writes an S3 object. Bytes are spooled to a local temporary file so large outputs
 * do not sit in memory; commit() uploads the file (multipart when large). S3 makes an
 * object visible only when its upload completes, so readers never see a partial one.
 * A failed commit keeps the spool file: commit() may be called again, or abort() removes it.
 */
export class S3ObjectSink implements ByteSink {
  readonly uri: string;
  readonly tmpPath: string;
  private handle: Promise<FileHandle> | undefined;
  private tail: Promise<void> = Promise.resolve();
  private state: State = 'open';
  private upload: AbortController | undefined;
  /** A failed write leaves a hole in the spool file, so commit must refuse. */
  private writeError: unknown;

  constructor(
    private readonly conn: S3Connection,
    readonly bucket: string,
    readonly key: string,
    private readonly options: S3SinkOptions = {},
  ) {
    this.uri = s3Uri(bucket, key);
    const partBytes = options.partBytes ?? DEFAULT_S3_PART_BYTES;
    if (!Number.isSafeInteger(partBytes) || partBytes < 5 << 20) {
      throw new RangeError(`${this.uri}: part size must be an integer of at least 5 MiB (S3's minimum), got ${partBytes}`);
    }
    this.tmpPath = join(options.tmpDir ?? tmpdir(), `s3-sink-${randomBytes(8).toString('hex')}.tmp`);
  }

  private file(): Promise<FileHandle> {
    this.handle ??= open(this.tmpPath, 'w').catch((err: NodeJS.ErrnoException) => {
      this.handle = undefined;
      throw new Error(`${this.uri}: cannot create spool file ${this.tmpPath}: ${err.code ?? err.message}`);
    });
    return this.handle;
  }

  write(chunk: Uint8Array): Promise<void> {
    if (this.state !== 'open') return Promise.reject(new Error(`${this.uri}: write after ${this.state}`));
    // Chained so that writes land in call order even when callers do not await each one.
    const next = this.tail.then(async () => {
      const fh = await this.file();
      let written = 0;
      while (written < chunk.length) {
        const { bytesWritten } = await fh.write(chunk, written, chunk.length - written);
        written += bytesWritten;
      }
    });
    this.tail = next.catch((err: unknown) => {
      this.writeError ??= err;
    });
    return next;
  }

  async commit(): Promise<void> {
    if (this.state !== 'open' && this.state !== 'failed') throw new Error(`${this.uri}: commit after ${this.state}`);
    const first = this.state === 'open';
    this.state = 'committing';
    try {
      await this.tail;
      if (this.writeError !== undefined) {
        throw new Error(`${this.uri}: cannot commit: an earlier write failed: ${errorMessage(this.writeError)}`);
      }
      if (first) {
        await (await this.file()).close(); // also creates the spool file when nothing was written
        this.handle = undefined;
      }
      await callS3(this.conn, this.uri, 'Upload', () => this.uploadOnce());
    } catch (err) {
      this.state = 'failed';
      throw err;
    }
    this.state = 'committed';
    await rm(this.tmpPath, { force: true });
    this.release();
  }

  async abort(): Promise<void> {
    if (this.state === 'committed' || this.state === 'aborted') return;
    this.state = 'aborted';
    this.upload?.abort();
    await this.tail;
    const pending = this.handle;
    this.handle = undefined;
    if (pending) await (await pending).close().catch(() => undefined);
    await rm(this.tmpPath, { force: true });
    this.release();
  }

  /** One full upload attempt from the spool file; a retry re-reads the file from the start. */
  private async uploadOnce(): Promise<void> {
    this.upload = new AbortController();
    const upload = new Upload({
      client: this.conn.client,
      params: {
        Bucket: this.bucket,
        Key: this.key,
        Body: createReadStream(this.tmpPath),
        ...(this.options.contentType ? { ContentType: this.options.contentType } : {}),
      },
      partSize: this.options.partBytes ?? DEFAULT_S3_PART_BYTES,
      queueSize: this.options.queueSize ?? 4,
      // Abandoned parts cost storage and stay invisible; remove them on failure.
      leavePartsOnError: false,
      abortController: this.upload,
    });
    await upload.done();
  }

  private release(): void {
    if (this.options.ownsConnection) this.conn.close();
  }
}
