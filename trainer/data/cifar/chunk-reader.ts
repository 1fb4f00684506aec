/**
 * Pulls exact byte counts out of an async stream of chunks while counting the offset
 * into the stream, so that parsers can report where in the stream something is wrong.
 */
export class ChunkReader {
  private chunk: Buffer = Buffer.alloc(0);
  private pos = 0;
  private consumed = 0;

  constructor(private readonly chunks: AsyncIterator<Buffer>) {}

  /** Bytes consumed so far: the stream offset of the next byte to be read. */
  get offset(): number {
    return this.consumed;
  }

  private async fill(): Promise<boolean> {
    while (this.pos >= this.chunk.length) {
      const next = await this.chunks.next();
      if (next.done) return false;
      this.chunk = next.value;
      this.pos = 0;
    }
    return true;
  }

  /**
   * The next `n` bytes as a view, without waiting, when the current chunk holds them; else
   * undefined. Parsers try this first because awaiting per small record is what costs
   * most when promise hooks are active (as under test runners).
   */
  viewNow(n: number): Buffer | undefined {
    if (this.chunk.length - this.pos < n) return undefined;
    const view = this.chunk.subarray(this.pos, this.pos + n);
    this.pos += n;
    this.consumed += n;
    return view;
  }

  /** Skips `n` bytes without waiting when the current chunk holds them; returns whether it did. */
  skipNow(n: number): boolean {
    if (this.chunk.length - this.pos < n) return false;
    this.pos += n;
    this.consumed += n;
    return true;
  }

  /**
   * Reads up to `n` bytes (fewer only at the end of the stream). The result may be a view
   * of an internal chunk, so it must not be kept: use `readCopy` for bytes that outlive
   * the next call. Views are cheap for the many small headers of a tar archive.
   */
  async readView(n: number): Promise<Buffer> {
    if (!(await this.fill())) return this.chunk.subarray(0, 0);
    if (this.chunk.length - this.pos >= n) {
      const view = this.chunk.subarray(this.pos, this.pos + n);
      this.pos += n;
      this.consumed += n;
      return view;
    }
    return this.readCopy(n);
  }

  /** Reads up to `n` bytes (fewer only at the end of the stream) into a fresh buffer. */
  async readCopy(n: number): Promise<Buffer> {
    const out = Buffer.allocUnsafe(n);
    let filled = 0;
    while (filled < n && (await this.fill())) {
      const take = Math.min(n - filled, this.chunk.length - this.pos);
      this.chunk.copy(out, filled, this.pos, this.pos + take);
      this.pos += take;
      filled += take;
    }
    this.consumed += filled;
    return filled === n ? out : out.subarray(0, filled);
  }

  /** Skips up to `n` bytes; returns how many were skipped (fewer only at the end). */
  async skip(n: number): Promise<number> {
    let skipped = 0;
    while (skipped < n && (await this.fill())) {
      const take = Math.min(n - skipped, this.chunk.length - this.pos);
      this.pos += take;
      skipped += take;
    }
    this.consumed += skipped;
    return skipped;
  }
}
