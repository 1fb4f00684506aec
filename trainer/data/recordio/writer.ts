import type { ByteSink } from '../../io/byte-source.js';
import { encodeRecord } from './format.js';

/** Records are gathered into batches of about this size so that a sink sees few large writes. */
const FLUSH_BYTES = 1 << 20;

/**
 * Appends RecordIO records to a ByteSink. Nothing becomes visible until `commit`
 * (the sink's atomic commit); `abort` discards everything. Offsets returned by `write`
 * are the byte offsets of each record's first header, as MXNet stores them in .idx files.
 */
export class RecordIOWriter {
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private offset = 0;
  private state: 'open' | 'committed' | 'aborted' = 'open';
  // Flushes are chained so that callers who do not await every write still get their
  // records written in call order.
  private flushing: Promise<void> = Promise.resolve();

  constructor(private readonly sink: ByteSink) {}

  get uri(): string {
    return this.sink.uri;
  }

  /** Bytes written so far, which is also the offset the next record will get. */
  get position(): number {
    return this.offset;
  }

  /** Appends one record and returns the offset of its first header. */
  async write(payload: Uint8Array): Promise<number> {
    this.ensureOpen('write');
    const encoded = encodeRecord(payload);
    const at = this.offset;
    this.offset += encoded.length;
    this.pending.push(encoded);
    this.pendingBytes += encoded.length;
    if (this.pendingBytes >= FLUSH_BYTES) await this.flush();
    return at;
  }

  /** Writes any buffered records and makes the whole file visible atomically. */
  async commit(): Promise<void> {
    this.ensureOpen('commit');
    try {
      await this.flush();
      this.state = 'committed';
      await this.sink.commit();
    } catch (err) {
      this.state = 'aborted';
      await this.sink.abort().catch(() => undefined);
      throw err;
    }
  }

  /** Discards everything written. Safe to call after a failed commit or more than once. */
  async abort(): Promise<void> {
    if (this.state === 'committed') return;
    this.state = 'aborted';
    this.pending = [];
    this.pendingBytes = 0;
    await this.flushing.catch(() => undefined);
    await this.sink.abort();
  }

  private flush(): Promise<void> {
    if (this.pendingBytes === 0) return this.flushing;
    const batch = this.pending.length === 1 ? this.pending[0] : Buffer.concat(this.pending, this.pendingBytes);
    this.pending = [];
    this.pendingBytes = 0;
    this.flushing = this.flushing.then(() => this.sink.write(batch));
    return this.flushing;
  }

  private ensureOpen(op: string): void {
    if (this.state !== 'open') throw new Error(`${this.sink.uri}: cannot ${op}: RecordIO writer is already ${this.state}`);
  }
}
