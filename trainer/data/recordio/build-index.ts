import type { ByteSource } from '../../io/byte-source.js';
import { tryUnpackImageRecord } from './image-record.js';
import type { IndexEntry } from './index-file.js';
import { readRecords } from './reader.js';

export interface BuiltIndex {
  entries: IndexEntry[];
  /** 'id' when keys are IRHeader ids, 'position' when they are record numbers in file order. */
  keyedBy: 'id' | 'position';
}

/**
 * Rebuilds a missing .idx by scanning the .rec once. MXNet's im2rec and pack write
 * id = key, so when every record parses as an image record and the ids are distinct
 * integers below 2^53, key = IRHeader id; otherwise (any record that is not an image
 * record, a repeated id, or an id too large for a number) key = the record's position
 * in file order (0, 1, 2, ...) for every record, so keys never mix the two schemes.
 */
export async function buildIndex(source: ByteSource): Promise<BuiltIndex> {
  const offsets: number[] = [];
  const ids: number[] = [];
  const seen = new Set<number>();
  let idsUsable = true;
  for await (const { offset, payload } of readRecords(source)) {
    offsets.push(offset);
    if (!idsUsable) continue;
    const record = tryUnpackImageRecord(payload);
    const id = record === undefined || record.id > BigInt(Number.MAX_SAFE_INTEGER) ? undefined : Number(record.id);
    if (id === undefined || seen.has(id)) {
      idsUsable = false;
      continue;
    }
    seen.add(id);
    ids.push(id);
  }
  const keyedBy = idsUsable ? 'id' : 'position';
  const entries = offsets.map((offset, i) => ({ key: idsUsable ? ids[i] : i, offset }));
  return { entries, keyedBy };
}
