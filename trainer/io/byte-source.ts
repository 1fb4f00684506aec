/**
 * A read-only source of bytes: a local file or an S3 object. Every data reader in the
 * trainer goes through this interface so that the same code reads local files and S3.
 */
export interface ByteSource {
  /** Where the bytes come from (a path or s3:// URI), used in every error message. */
  readonly uri: string;
  /** Total size in bytes. */
  size(): Promise<number>;
  /**
   * Reads up to `length` bytes starting at `offset`. Returns fewer bytes only when the
   * end of the source is reached; never reads past it.
   */
  read(offset: number, length: number): Promise<Buffer>;
  /**
   * Streams the byte range [start, end) in chunks. `end` is clamped to the size.
   * Chunks are yielded in order and are not reused by the source after being yielded.
   */
  stream(start: number, end: number): AsyncIterable<Buffer>;
  /** Releases file handles or connections. Safe to call more than once. */
  close(): Promise<void>;
}

/** A destination that receives a whole object and makes it visible only when complete. */
export interface ByteSink {
  readonly uri: string;
  /** Appends bytes. Nothing is visible at the destination until `commit`. */
  write(chunk: Uint8Array): Promise<void>;
  /** Makes the written bytes visible at the destination atomically. */
  commit(): Promise<void>;
  /** Discards everything written; the destination is left as it was. */
  abort(): Promise<void>;
}
