import { DataFormatError } from '../../util/errors.js';

/** One line of an im2rec `.lst` file. */
export interface ListEntry {
  /** The record's key and IRHeader id. */
  index: number;
  /** One or more labels, float32 in the record header. */
  labels: number[];
  /** Image path relative to the list's root directory. */
  path: string;
  /** 1-based line number, for errors. */
  line: number;
}

/**
 * Parses an im2rec list: one image per line, `index<TAB>label[<TAB>label...]<TAB>path`
 * (what `im2rec.py --list` writes and `mx.image.ImageIter` reads). Blank lines are
 * skipped; anything else that is not that shape is an error naming the line.
 */
export function parseIm2recList(text: string, uri: string): ListEntry[] {
  const entries: ListEntry[] = [];
  const seen = new Map<number, number>();
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const raw = lines[i].replace(/\r$/, '');
    if (raw.trim() === '') continue;
    const line = i + 1;
    const fail = (detail: string): DataFormatError => new DataFormatError(uri, undefined, `line ${line}: ${detail}`);
    const fields = raw.split('\t');
    if (fields.length < 3) throw fail(`expected index<TAB>label<TAB>path, got ${fields.length} tab-separated field${fields.length === 1 ? '' : 's'}`);
    const indexText = fields[0].trim();
    if (!/^\d+$/.test(indexText) || !Number.isSafeInteger(Number(indexText))) throw fail(`index '${indexText}' is not a non-negative integer`);
    const index = Number(indexText);
    const labels = fields.slice(1, -1).map((field, k) => {
      const value = Number(field.trim());
      if (field.trim() === '' || !Number.isFinite(value)) throw fail(`label ${k + 1} '${field}' is not a number`);
      return value;
    });
    const path = fields[fields.length - 1];
    if (path === '') throw fail('the image path is empty');
    const earlier = seen.get(index);
    if (earlier !== undefined) throw fail(`index ${index} already used on line ${earlier}; record keys must be unique`);
    seen.set(index, line);
    entries.push({ index, labels, path, line });
  }
  return entries;
}
