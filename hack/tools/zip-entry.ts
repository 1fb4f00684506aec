/**
 * Extracts one file from a zip archive without any dependency: reads the central directory,
 * then inflates that entry's data straight to a file. Enough for the tool layer's zip (stored
 * or deflated entries, no zip64, no encryption); anything else is refused with a reason.
 */
import { createReadStream, createWriteStream } from 'node:fs';
import { open } from 'node:fs/promises';
import { pipeline } from 'node:stream/promises';
import { Transform, type TransformCallback } from 'node:stream';
import { createInflateRaw, crc32 } from 'node:zlib';

const EOCD_SIGNATURE = 0x06054b50;
const CENTRAL_SIGNATURE = 0x02014b50;
const LOCAL_SIGNATURE = 0x04034b50;
const EOCD_MIN = 22;
const MAX_COMMENT = 0xffff;

export interface ZipEntry {
  name: string;
  method: number;
  crc32: number;
  compressedSize: number;
  size: number;
  localHeaderOffset: number;
}

export class ZipFormatError extends Error {
  constructor(zipPath: string, offset: number, detail: string) {
    super(`${zipPath}: byte ${offset}: ${detail}`);
    this.name = 'ZipFormatError';
  }
}

async function readAt(path: string, position: number, length: number): Promise<Buffer> {
  const handle = await open(path, 'r');
  try {
    const buffer = Buffer.alloc(length);
    const { bytesRead } = await handle.read(buffer, 0, length, position);
    return buffer.subarray(0, bytesRead);
  } finally {
    await handle.close();
  }
}

/** Lists the entries of the zip at `zipPath` from its central directory. */
export async function listZip(zipPath: string): Promise<ZipEntry[]> {
  const handle = await open(zipPath, 'r');
  const { size } = await handle.stat();
  await handle.close();
  const tailLength = Math.min(size, EOCD_MIN + MAX_COMMENT);
  const tailStart = size - tailLength;
  const tail = await readAt(zipPath, tailStart, tailLength);
  let eocd = -1;
  for (let i = tail.length - EOCD_MIN; i >= 0; i--) {
    if (tail.readUInt32LE(i) === EOCD_SIGNATURE) {
      eocd = i;
      break;
    }
  }
  if (eocd < 0) throw new ZipFormatError(zipPath, size, 'no end-of-central-directory record: not a zip file, or truncated');
  const count = tail.readUInt16LE(eocd + 10);
  const directorySize = tail.readUInt32LE(eocd + 12);
  const directoryOffset = tail.readUInt32LE(eocd + 16);
  if (directoryOffset === 0xffffffff || count === 0xffff) throw new ZipFormatError(zipPath, tailStart + eocd, 'zip64 archives are not supported');
  const directory = await readAt(zipPath, directoryOffset, directorySize);
  const entries: ZipEntry[] = [];
  let at = 0;
  for (let i = 0; i < count; i++) {
    if (at + 46 > directory.length || directory.readUInt32LE(at) !== CENTRAL_SIGNATURE) {
      throw new ZipFormatError(zipPath, directoryOffset + at, `central directory entry ${i} of ${count} is missing or corrupt`);
    }
    const nameLength = directory.readUInt16LE(at + 28);
    const extraLength = directory.readUInt16LE(at + 30);
    const commentLength = directory.readUInt16LE(at + 32);
    entries.push({
      method: directory.readUInt16LE(at + 10),
      crc32: directory.readUInt32LE(at + 16),
      compressedSize: directory.readUInt32LE(at + 20),
      size: directory.readUInt32LE(at + 24),
      localHeaderOffset: directory.readUInt32LE(at + 42),
      name: directory.toString('utf8', at + 46, at + 46 + nameLength),
    });
    at += 46 + nameLength + extraLength + commentLength;
  }
  return entries;
}

/** Counts bytes and their CRC-32 as they pass. */
class Checksum extends Transform {
  bytes = 0;
  crc = 0;
  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.bytes += chunk.length;
    this.crc = crc32(chunk, this.crc);
    callback(null, chunk);
  }
}

/** Writes entry `name` of the zip at `zipPath` to `outPath`, checking its size and CRC-32. */
export async function extractZipEntry(zipPath: string, name: string, outPath: string): Promise<void> {
  const entries = await listZip(zipPath);
  const entry = entries.find((e) => e.name === name);
  if (entry === undefined) throw new Error(`${zipPath}: no entry ${name} (entries: ${entries.map((e) => e.name).join(', ')})`);
  if (entry.method !== 0 && entry.method !== 8) throw new ZipFormatError(zipPath, entry.localHeaderOffset, `${name}: compression method ${entry.method} is not stored (0) or deflate (8)`);
  const local = await readAt(zipPath, entry.localHeaderOffset, 30);
  if (local.length < 30 || local.readUInt32LE(0) !== LOCAL_SIGNATURE) throw new ZipFormatError(zipPath, entry.localHeaderOffset, `${name}: local file header missing`);
  const dataStart = entry.localHeaderOffset + 30 + local.readUInt16LE(26) + local.readUInt16LE(28);
  const checksum = new Checksum();
  const source = createReadStream(zipPath, { start: dataStart, end: dataStart + entry.compressedSize - 1 });
  const sink = createWriteStream(outPath, { mode: 0o755 });
  if (entry.method === 8) await pipeline(source, createInflateRaw(), checksum, sink);
  else await pipeline(source, checksum, sink);
  if (checksum.bytes !== entry.size || checksum.crc !== entry.crc32) {
    throw new ZipFormatError(zipPath, dataStart, `${name}: extracted ${checksum.bytes} bytes with CRC-32 ${checksum.crc.toString(16)}, expected ${entry.size} bytes with CRC-32 ${entry.crc32.toString(16)}`);
  }
}
