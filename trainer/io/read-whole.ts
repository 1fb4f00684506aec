import { DataFormatError } from '../util/errors.js';
import type { ByteSource } from './byte-source.js';

/**
 * Reads a whole source into memory, refusing one larger than `maxBytes` before reading
 * any of it: the error names the source, its size, the limit and the flag that raises it.
 */
export async function readWhole(source: ByteSource, maxBytes: number, flag: string): Promise<Buffer> {
  const size = await source.size();
  if (size > maxBytes) {
    throw new DataFormatError(source.uri, undefined, `file of ${size} bytes is over the limit of ${maxBytes} bytes for a file read whole (${flag})`);
  }
  return source.read(0, size);
}
