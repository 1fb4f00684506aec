/**
 * Image dimensions read from the header alone (JPEG's frame header, PNG's IHDR), so that a
 * small file declaring a huge image is refused before a decoder allocates for it.
 */
import { inflateSync } from 'node:zlib';

export interface ImageHeader {
  format: 'jpeg' | 'png';
  width: number;
  height: number;
}

const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

/** The dimensions a JPEG declares in its first SOFn segment, or a string saying why there are none. */
export function jpegHeader(b: Uint8Array): ImageHeader | string {
  let at = 2; // after SOI
  while (at + 4 <= b.length) {
    if (b[at] !== 0xff) return `no marker at byte ${at}`;
    const marker = b[at + 1];
    // Fill bytes (0xff 0xff ...) may precede a marker.
    if (marker === 0xff) {
      at++;
      continue;
    }
    // Standalone markers carry no length.
    if (marker === 0x01 || (marker >= 0xd0 && marker <= 0xd7)) {
      at += 2;
      continue;
    }
    if (marker === 0xd9 || marker === 0xda) return 'no frame header before the image data';
    const length = (b[at + 2] << 8) | b[at + 3];
    if (length < 2) return `segment at byte ${at} has length ${length}`;
    // SOF0..SOF15, except DHT (c4), JPG (c8) and DAC (cc).
    if (marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc) {
      if (at + 9 > b.length) break;
      return { format: 'jpeg', height: (b[at + 5] << 8) | b[at + 6], width: (b[at + 7] << 8) | b[at + 8] };
    }
    at += 2 + length;
  }
  return 'file ends before the frame header';
}

/** Colour type -> samples per pixel. */
const PNG_CHANNELS: Readonly<Record<number, number>> = { 0: 1, 2: 3, 3: 1, 4: 2, 6: 4 };

interface PngInfo extends ImageHeader {
  bitDepth: number;
  colorType: number;
  interlaced: boolean;
}

/** The IHDR of a PNG (which must be its first chunk), or a string saying what is wrong. */
export function pngHeader(b: Uint8Array): PngInfo | string {
  if (b.length < 33 || !Buffer.from(b.buffer, b.byteOffset, 8).equals(PNG_SIGNATURE)) return 'file ends before the IHDR chunk';
  const buf = Buffer.from(b.buffer, b.byteOffset, b.byteLength);
  if (buf.readUInt32BE(8) !== 13 || buf.toString('latin1', 12, 16) !== 'IHDR') return 'the first chunk is not a 13-byte IHDR';
  const colorType = buf[25];
  if (PNG_CHANNELS[colorType] === undefined) return `colour type ${colorType} is not one PNG defines`;
  return { format: 'png', width: buf.readUInt32BE(16), height: buf.readUInt32BE(20), bitDepth: buf[24], colorType, interlaced: buf[28] === 1 };
}

/** The header of a JPEG or PNG, from its magic bytes; a string says why it cannot be read. */
export function imageHeader(bytes: Uint8Array, format: 'jpeg' | 'png'): ImageHeader | string {
  return format === 'jpeg' ? jpegHeader(bytes) : pngHeader(bytes);
}

// Adam7 passes: x start, y start, x step, y step.
const ADAM7 = [
  [0, 0, 8, 8],
  [4, 0, 8, 8],
  [0, 4, 4, 8],
  [2, 0, 4, 4],
  [0, 2, 2, 4],
  [1, 0, 2, 2],
  [0, 1, 1, 2],
] as const;

/** Bytes of filtered scanlines a PNG of this header must inflate to. */
export function pngRawBytes(h: PngInfo): number {
  const bitsPerPixel = PNG_CHANNELS[h.colorType] * h.bitDepth;
  const rows = (width: number, height: number): number => (width > 0 && height > 0 ? height * (1 + Math.ceil((width * bitsPerPixel) / 8)) : 0);
  if (!h.interlaced) return rows(h.width, h.height);
  let total = 0;
  for (const [xs, ys, dx, dy] of ADAM7) total += rows(Math.ceil((h.width - xs) / dx), Math.ceil((h.height - ys) / dy));
  return total;
}

/**
 * Checks that a PNG's image data inflates to exactly the bytes its header calls for. A
 * decoder that zero-fills short data would otherwise accept a truncated file as an image.
 * Returns a string describing the problem, or undefined when the data is complete.
 */
export function checkPngData(bytes: Uint8Array, h: PngInfo): string | undefined {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const idat: Buffer[] = [];
  let at = 8;
  let ended = false;
  while (at + 8 <= buf.length) {
    const length = buf.readUInt32BE(at);
    const type = buf.toString('latin1', at + 4, at + 8);
    if (at + 12 + length > buf.length) return `chunk ${JSON.stringify(type)} at byte ${at} is truncated: ${length} bytes declared, ${Math.max(0, buf.length - at - 12)} present`;
    if (type === 'IDAT') idat.push(buf.subarray(at + 8, at + 8 + length));
    at += 12 + length;
    if (type === 'IEND') {
      ended = true;
      break;
    }
  }
  if (idat.length === 0) return 'no image data (IDAT)';
  const expected = pngRawBytes(h);
  let raw: Buffer;
  try {
    raw = inflateSync(Buffer.concat(idat), { maxOutputLength: expected + 1 });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ERR_BUFFER_TOO_LARGE') return `image data inflates to more than the ${expected} bytes a ${h.width}x${h.height} image holds`;
    return `image data is truncated or corrupt (${(err as Error).message})`;
  }
  if (raw.length !== expected) return `image data is truncated: ${raw.length} of the ${expected} bytes a ${h.width}x${h.height} image needs`;
  if (!ended) return 'file ends before the IEND chunk';
  return undefined;
}
