/**
 * Builders for the hostile inputs of the security tests. Every file is made by the test
 * that uses it, small on disk (sparse files, gzip of zeros) however large it claims to be.
 */
import { createWriteStream } from 'node:fs';
import { open } from 'node:fs/promises';
import { once } from 'node:events';
import { createGzip, deflateSync, crc32 } from 'node:zlib';
import { encodeJpeg } from '../../trainer/data/image/encode.js';

function chunk(type: string, data: Buffer): Buffer {
  const head = Buffer.alloc(8);
  head.writeUInt32BE(data.length, 0);
  head.write(type, 4, 'latin1');
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(Buffer.concat([head.subarray(4), data])), 0);
  return Buffer.concat([head, data, crc]);
}

/**
 * An 8-bit RGB PNG whose IHDR declares width x height, with IDAT holding only the first
 * `rows` rows (deflated zeros, a complete zlib stream): short data that a lenient decoder
 * zero-fills into a whole image.
 */
export function truncatedPng(width: number, height: number, rows: number): Buffer {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 2; // RGB
  const raw = Buffer.alloc(rows * (1 + width * 3));
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr),
    chunk('IDAT', deflateSync(raw, { level: 9 })),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

/** A small valid JPEG whose frame header is rewritten to claim width x height. */
export function jpegClaiming(width: number, height: number): Buffer {
  const jpeg = Buffer.from(encodeJpeg(new Uint8Array(16 * 16 * 3).fill(90), 16, 16, 80));
  for (let at = 2; at + 9 < jpeg.length; ) {
    const marker = jpeg[at + 1];
    const length = jpeg.readUInt16BE(at + 2);
    if (marker === 0xc0 || marker === 0xc2) {
      jpeg.writeUInt16BE(height, at + 5);
      jpeg.writeUInt16BE(width, at + 7);
      return jpeg;
    }
    at += 2 + length;
  }
  throw new Error('no SOF in the encoded JPEG');
}

/** A 512-byte ustar header for a regular file. */
export function tarHeader(name: string, size: number): Buffer {
  const h = Buffer.alloc(512);
  h.write(name, 0, 100, 'utf8');
  h.write('0000644\0', 100);
  h.write('0000000\0', 108);
  h.write('0000000\0', 116);
  h.write(size.toString(8).padStart(11, '0') + '\0', 124);
  h.write('00000000000\0', 136);
  h.write('0', 156);
  h.write('ustar\0', 257);
  h.write('00', 263);
  h.fill(0x20, 148, 156);
  let sum = 0;
  for (const b of h) sum += b;
  h.write(sum.toString(8).padStart(6, '0') + '\0 ', 148);
  return h;
}

/**
 * Writes a .tar.gz whose members are `size` bytes each: the given head bytes (e.g. JPEG
 * magic) and then zeros, streamed through gzip so that neither side is ever held whole.
 */
export async function writeTarGzBomb(path: string, members: { name: string; size: number; head: Buffer }[]): Promise<void> {
  const gzip = createGzip({ level: 9 });
  const out = createWriteStream(path);
  gzip.pipe(out);
  const write = async (b: Buffer): Promise<void> => {
    if (!gzip.write(b)) await once(gzip, 'drain');
  };
  const zeros = Buffer.alloc(1 << 20);
  for (const m of members) {
    await write(tarHeader(m.name, m.size));
    await write(m.head);
    let left = m.size - m.head.length;
    while (left > 0) {
      const n = Math.min(left, zeros.length);
      await write(zeros.subarray(0, n));
      left -= n;
    }
    await write(Buffer.alloc((512 - (m.size % 512)) % 512));
  }
  await write(Buffer.alloc(1024));
  gzip.end();
  await once(out, 'close');
}

/** A sparse file of `size` bytes (no blocks allocated), starting with `head`. */
export async function sparseFile(path: string, size: number, head: Buffer = Buffer.alloc(0)): Promise<void> {
  const fh = await open(path, 'w');
  try {
    await fh.write(head, 0, head.length, 0);
    await fh.truncate(size);
  } finally {
    await fh.close();
  }
}
