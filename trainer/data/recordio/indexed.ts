import type { ByteSource } from '../../io/byte-source.js';
import { DataFormatError } from '../../util/errors.js';
import { buildIndex } from './build-index.js';
import { HEADER_BYTES } from './format.js';
import { readIndex, type IndexEntry } from './index-file.js';
import { checkPartHeader } from './part-header.js';
import { readRecordAt } from './reader.js';

interface Located extends IndexEntry {
  /** Line in the .idx file; undefined when the index was built by scanning. */
  line?: number;
}

/**
 * Random access to a .rec file by key, like MXNet's MXIndexedRecordIO in read mode.
 * The index comes from the .idx file when one is given, else from a scan of the .rec
 * (see buildIndex for how keys are chosen then).
 */
export class IndexedRecordIO {
  private constructor(
    readonly rec: ByteSource,
    private readonly order: Located[],
    private readonly byKey: Map<number, Located>,
    /** The .idx URI, or undefined when the index was built by scanning. */
    readonly idxUri: string | undefined,
  ) {}

  static async open(rec: ByteSource, idx?: ByteSource): Promise<IndexedRecordIO> {
    const entries: Located[] = idx ? await readIndex(idx, { uri: rec.uri, size: await rec.size() }) : (await buildIndex(rec)).entries;
    const byKey = new Map<number, Located>();
    for (const entry of entries) byKey.set(entry.key, entry);
    return new IndexedRecordIO(rec, entries, byKey, idx?.uri);
  }

  /** Keys in index order. */
  keys(): number[] {
    return this.order.map((e) => e.key);
  }

  entries(): IndexEntry[] {
    return this.order.map(({ key, offset }) => ({ key, offset }));
  }

  has(key: number): boolean {
    return this.byKey.has(key);
  }

  offsetOf(key: number): number {
    return this.entry(key).offset;
  }

  /** The payload of the record stored under `key`. */
  async read(key: number): Promise<Buffer> {
    const entry = this.entry(key);
    try {
      return (await readRecordAt(this.rec, entry.offset)).payload;
    } catch (err) {
      throw this.located(entry, err);
    }
  }

  /** Checks that every index offset points at a record start (one 8-byte read per entry). */
  async validate(): Promise<void> {
    const size = await this.rec.size();
    for (const entry of this.order) {
      try {
        if (entry.offset % 4 !== 0 || entry.offset + HEADER_BYTES > size) {
          throw new DataFormatError(this.rec.uri, entry.offset, `not a record start: the file is ${size} bytes and records start at 4-byte-aligned offsets`);
        }
        const header = await this.rec.read(entry.offset, HEADER_BYTES);
        checkPartHeader(this.rec.uri, entry.offset, header.readUInt32LE(0), header.readUInt32LE(4), undefined);
      } catch (err) {
        throw this.located(entry, err);
      }
    }
  }

  private entry(key: number): Located {
    const entry = this.byKey.get(key);
    if (entry === undefined) throw new RangeError(`${this.rec.uri}: key ${key} is not in the index${this.idxUri ? ` ${this.idxUri}` : ''}`);
    return entry;
  }

  // Adds the .idx line to errors about where an index entry points.
  private located(entry: Located, err: unknown): unknown {
    if (!(err instanceof DataFormatError) || this.idxUri === undefined || entry.line === undefined) return err;
    return new DataFormatError(this.idxUri, undefined, `line ${entry.line} (key ${entry.key}, offset ${entry.offset}): ${err.message}`);
  }
}
