import type { ByteSink } from '../../io/byte-source.js';
import { writeIndex, type IndexEntry } from './index-file.js';
import { RecordIOWriter } from './writer.js';

/**
 * Writes a .rec and its .idx together, like MXNet's MXIndexedRecordIO.write_idx.
 * On commit the .rec becomes visible first and then the .idx, so a reader never sees an
 * index pointing into a missing file (a missing .idx can be rebuilt with buildIndex).
 */
export class IndexedRecordIOWriter {
  private readonly records: RecordIOWriter;
  private readonly index: IndexEntry[] = [];
  private readonly keys = new Set<number>();

  constructor(
    rec: ByteSink,
    private readonly idx: ByteSink,
  ) {
    this.records = new RecordIOWriter(rec);
  }

  /** Appends a record under `key` and returns its offset. */
  async write(key: number, payload: Uint8Array): Promise<number> {
    if (!Number.isSafeInteger(key)) throw new RangeError(`${this.idx.uri}: key ${key} is not a safe integer`);
    if (this.keys.has(key)) throw new RangeError(`${this.idx.uri}: key ${key} was already written`);
    // Claimed before the await so that concurrent writes of one key are caught too.
    this.keys.add(key);
    try {
      const offset = await this.records.write(payload);
      this.index.push({ key, offset });
      return offset;
    } catch (err) {
      this.keys.delete(key);
      throw err;
    }
  }

  async commit(): Promise<void> {
    try {
      await this.records.commit();
    } catch (err) {
      await this.idx.abort().catch(() => undefined);
      throw err;
    }
    await writeIndex(this.idx, this.index);
  }

  async abort(): Promise<void> {
    await this.records.abort();
    await this.idx.abort();
  }
}
