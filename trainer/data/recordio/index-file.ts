import type { ByteSink, ByteSource } from '../../io/byte-source.js';
import { DataFormatError } from '../../util/errors.js';

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
  const entries: ParsedIndexEntry[] = [];
  const seen = new Map<number, number>();
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = i + 1;
    // Python's str.strip() in MXNet's reader tolerates surrounding whitespace and CRLF.
    const trimmed = lines[i].trim();
    if (trimmed === '') continue;
    const fields = trimmed.split('\t');
    if (fields.length !== 2) {
      throw new DataFormatError(uri, undefined, `line ${line}: expected "key<TAB>offset", got ${JSON.stringify(lines[i])}`);
    }
    const key = parseInteger(fields[0].trim(), KEY, uri, line, 'key');
    const offset = parseInteger(fields[1].trim(), OFFSET, uri, line, 'offset');
    const earlier = seen.get(key);
    if (earlier !== undefined) throw new DataFormatError(uri, undefined, `line ${line}: key ${key} repeats the key of line ${earlier}`);
    seen.set(key, line);
    entries.push({ key, offset, line });
  }
  return entries;
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

/** Reads and parses a whole .idx file (small: about 15 bytes per record). */
export async function readIndex(source: ByteSource): Promise<ParsedIndexEntry[]> {
  const size = await source.size();
  const bytes = await source.read(0, size);
  return parseIndex(bytes.toString('utf8'), source.uri);
}

function parseInteger(field: string, pattern: RegExp, uri: string, line: number, name: string): number {
  const value = Number(field);
  if (!pattern.test(field) || !Number.isSafeInteger(value)) {
    throw new DataFormatError(uri, undefined, `line ${line}: ${name} ${JSON.stringify(field)} is not ${name === 'key' ? 'an integer' : 'a non-negative integer'} within 2^53`);
  }
  return value;
}
