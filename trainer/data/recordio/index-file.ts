import type { ByteSink, ByteSource } from '../../io/byte-source.js';
import { DataFormatError } from '../../util/errors.js';
import { HEADER_BYTES } from './format.js';

/**
 * MXNet's .idx file (MXIndexedRecordIO): one `key\toffset\n` text line per record, where
 * offset is the byte offset of the record's first header in the .rec file. Keys are
 * integers and need not be sorted.
 */
export interface IndexEntry {
  key: number;
  offset: number;
}

/** An entry read from an .idx file, with its 1-based line number for error messages. */
export interface ParsedIndexEntry extends IndexEntry {
  line: number;
}

const KEY = /^[-+]?\d+$/;
const OFFSET = /^\+?\d+$/;

/** Parses .idx text. Blank lines are skipped; duplicate keys are rejected (MXNet would silently keep the last). */
export function parseIndex(text: string, uri: string): ParsedIndexEntry[] {
  const parser = new IndexParser(uri);
  text.split('\n').forEach((line, i) => parser.line(line, i + 1));
  return parser.entries;
}

/** What an index must agree with: the .rec file it indexes. */
export interface IndexedFile {
  uri: string;
  size: number;
}

/** Parses .idx lines one at a time, checking each against the .rec when one is given. */
class IndexParser {
  readonly entries: ParsedIndexEntry[] = [];
  private readonly keys = new Map<number, number>();
  private readonly offsets = new Map<number, number>();
  private readonly maxEntries: number;

  constructor(
    private readonly uri: string,
    private readonly rec?: IndexedFile,
  ) {
    // Every record takes at least one 8-byte header, so no honest index has more lines.
    this.maxEntries = rec === undefined ? Infinity : Math.floor(rec.size / HEADER_BYTES);
  }

  line(raw: string, line: number): void {
    const uri = this.uri;
    // Python's str.strip() in MXNet's reader tolerates surrounding whitespace and CRLF.
    const trimmed = raw.trim();
    if (trimmed === '') return;
    const fields = trimmed.split('\t');
    if (fields.length !== 2) {
      throw new DataFormatError(uri, undefined, `line ${line}: expected "key<TAB>offset", got ${JSON.stringify(raw.length > 80 ? `${raw.slice(0, 80)}...` : raw)}`);
    }
    const key = parseInteger(fields[0].trim(), KEY, uri, line, 'key');
    const offset = parseInteger(fields[1].trim(), OFFSET, uri, line, 'offset');
    const earlier = this.keys.get(key);
    if (earlier !== undefined) throw new DataFormatError(uri, undefined, `line ${line}: key ${key} repeats the key of line ${earlier}`);
    if (this.rec) this.checkOffset(offset, line);
    this.keys.set(key, line);
    this.entries.push({ key, offset, line });
  }

  private checkOffset(offset: number, line: number): void {
    const rec = this.rec as IndexedFile;
    const uri = this.uri;
    if (this.entries.length >= this.maxEntries) {
      throw new DataFormatError(uri, undefined, `line ${line}: more entries than ${rec.uri} (${rec.size} bytes) can hold records (at most ${this.maxEntries}): the index does not belong to it`);
    }
    if (offset % 4 !== 0 || offset + HEADER_BYTES > rec.size) {
      throw new DataFormatError(uri, undefined, `line ${line}: offset ${offset} cannot be a record start in ${rec.uri} (${rec.size} bytes; records start at 4-byte-aligned offsets)`);
    }
    const earlier = this.offsets.get(offset);
    if (earlier !== undefined) throw new DataFormatError(uri, undefined, `line ${line}: offset ${offset} repeats the offset of line ${earlier}`);
    this.offsets.set(offset, line);
  }
}

export function formatIndex(entries: readonly IndexEntry[]): string {
  return entries.map((e) => `${e.key}\t${e.offset}\n`).join('');
}

/** Writes an .idx file atomically: the sink is committed on success and aborted on failure. */
export async function writeIndex(sink: ByteSink, entries: readonly IndexEntry[]): Promise<void> {
  try {
    await sink.write(Buffer.from(formatIndex(entries), 'utf8'));
    await sink.commit();
  } catch (err) {
    await sink.abort().catch(() => undefined);
    throw err;
  }
}

/**
 * Reads and parses an .idx file in chunks. With `rec`, the index is checked against the
 * file it indexes as it is read: no more entries than the .rec could hold records, every
 * offset aligned, inside the .rec and not repeated. So a lying index fails early, naming
 * itself and the line, and never sizes anything by its own count.
 */
export async function readIndex(source: ByteSource, rec?: IndexedFile): Promise<ParsedIndexEntry[]> {
  const parser = new IndexParser(source.uri, rec);
  const decoder = new TextDecoder('utf-8');
  let carry = '';
  let line = 0;
  for await (const chunk of source.stream(0, await source.size())) {
    const lines = (carry + decoder.decode(chunk, { stream: true })).split('\n');
    carry = lines.pop() ?? '';
    for (const text of lines) parser.line(text, ++line);
    if (carry.length > MAX_LINE_CHARS) throw new DataFormatError(source.uri, undefined, `line ${line + 1} is longer than ${MAX_LINE_CHARS} characters`);
  }
  parser.line(carry + decoder.decode(), ++line);
  return parser.entries;
}

// "key<TAB>offset" of two 2^53 integers with some whitespace is far shorter.
const MAX_LINE_CHARS = 1024;

function parseInteger(field: string, pattern: RegExp, uri: string, line: number, name: string): number {
  const value = Number(field);
  if (!pattern.test(field) || !Number.isSafeInteger(value)) {
    throw new DataFormatError(uri, undefined, `line ${line}: ${name} ${JSON.stringify(field)} is not ${name === 'key' ? 'an integer' : 'a non-negative integer'} within 2^53`);
  }
  return value;
}
