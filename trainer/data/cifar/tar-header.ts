import { DataFormatError } from '../../util/errors.js';

/** Size of a tar header and of the blocks member data is padded to. */
export const TAR_BLOCK = 512;

/** The fields of one tar header block that a reader needs. */
export interface TarHeader {
  /** Path as stored: `prefix/name` for ustar headers with a prefix. */
  name: string;
  size: number;
  /** Type flag character: '0' (or '\0') file, '5' directory, 'L' GNU long name, 'x' pax, ... */
  type: string;
}

/** True when the block is all zeros, which marks the end of the archive. */
export function isZeroBlock(block: Uint8Array): boolean {
  for (let i = 0; i < block.length; i++) if (block[i] !== 0) return false;
  return true;
}

/** Number of padding bytes after `size` bytes of member data. */
export function tarPadding(size: number): number {
  return (TAR_BLOCK - (size % TAR_BLOCK)) % TAR_BLOCK;
}

function cString(block: Uint8Array, start: number, length: number): string {
  let end = start;
  while (end < start + length && block[end] !== 0) end++;
  return Buffer.from(block.buffer, block.byteOffset + start, end - start).toString('utf8');
}

/**
 * Parses a numeric header field: octal digits (space or NUL terminated), or the GNU
 * base-256 form (high bit of the first byte set) that tar uses for sizes over 8 GiB.
 */
function numericField(block: Uint8Array, start: number, length: number): number | undefined {
  if (block[start] & 0x80) {
    if (block[start] === 0xff) return undefined; // negative: never valid for what we read
    let value = block[start] & 0x7f;
    for (let i = start + 1; i < start + length; i++) value = value * 256 + block[i];
    return Number.isSafeInteger(value) ? value : undefined;
  }
  const text = cString(block, start, length).trim();
  if (text === '') return 0;
  return /^[0-7]+$/.test(text) ? parseInt(text, 8) : undefined;
}

/** Sums the header with the checksum field counted as eight spaces (a loop with no branch: it runs per member). */
function unsignedChecksum(block: Uint8Array): number {
  let sum = 0;
  for (let i = 0; i < TAR_BLOCK; i++) sum += block[i];
  for (let i = 148; i < 156; i++) sum -= block[i];
  return sum + 8 * 0x20;
}

/** The same sum over signed bytes, which some old tar implementations wrote. */
function signedChecksum(block: Uint8Array): number {
  let sum = 0;
  for (let i = 0; i < TAR_BLOCK; i++) sum += i >= 148 && i < 156 ? 0x20 : (block[i] << 24) >> 24;
  return sum;
}

/**
 * Parses and validates one 512-byte header block found at `offset` of `uri`'s
 * (uncompressed) stream. Throws DataFormatError naming the offset when the checksum or a
 * numeric field is wrong.
 */
export function parseTarHeader(block: Uint8Array, uri: string, offset: number): TarHeader {
  const name = cString(block, 0, 100);
  const where = name === '' ? 'tar header' : `tar header of "${name}"`;
  const stored = numericField(block, 148, 8);
  const unsigned = unsignedChecksum(block);
  if (stored === undefined || (stored !== unsigned && stored !== signedChecksum(block))) {
    throw new DataFormatError(
      uri,
      offset,
      `${where}: checksum mismatch (stored ${cString(block, 148, 8).trim() || 'nothing'}, computed ${unsigned.toString(8)}): not a tar archive or corrupt`,
    );
  }
  const size = numericField(block, 124, 12);
  if (size === undefined) throw new DataFormatError(uri, offset + 124, `${where}: invalid size field`);
  const type = String.fromCharCode(block[156]);
  // Both POSIX "ustar\0" and GNU "ustar " headers; only POSIX uses the prefix field.
  const magic = cString(block, 257, 6);
  const prefix = magic === 'ustar' && block[262] === 0 ? cString(block, 345, 155) : '';
  return { name: prefix === '' ? name : `${prefix}/${name}`, size, type };
}

/** Records of a pax extended header that change the next member. */
export interface PaxOverrides {
  path?: string;
  size?: number;
}

/**
 * Parses pax extended header data: records of the form "<length> <key>=<value>\n" where
 * length counts the whole record. `offset` is where the data starts, for errors.
 */
export function parsePaxRecords(data: Buffer, uri: string, offset: number): PaxOverrides {
  const out: PaxOverrides = {};
  let pos = 0;
  while (pos < data.length) {
    if (data[pos] === 0) break; // some writers pad the data with NULs
    const space = data.indexOf(0x20, pos);
    const length = space > pos ? Number(data.toString('latin1', pos, space)) : NaN;
    if (!Number.isInteger(length) || length <= space - pos || pos + length > data.length || data[pos + length - 1] !== 0x0a) {
      throw new DataFormatError(uri, offset + pos, 'malformed pax extended header record');
    }
    const record = data.toString('utf8', space + 1, pos + length - 1);
    const eq = record.indexOf('=');
    if (eq <= 0) throw new DataFormatError(uri, offset + pos, `pax record without key=value: "${record.slice(0, 40)}"`);
    const key = record.slice(0, eq);
    const value = record.slice(eq + 1);
    if (key === 'path') out.path = value;
    if (key === 'size') {
      const size = /^\d+$/.test(value) ? Number(value) : NaN;
      if (!Number.isSafeInteger(size)) throw new DataFormatError(uri, offset + pos, `pax size "${value}" is not a valid size`);
      out.size = size;
    }
    pos += length;
  }
  return out;
}
