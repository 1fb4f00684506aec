/**
 * Decodes one JPEG or PNG file into 8-bit RGB pixels, HWC order.
 * The format is chosen from the magic bytes, not the file name, because packed
 * records and S3 keys do not reliably carry an extension.
 */
import jpeg from 'jpeg-js';
import { PNG } from 'pngjs';
import { DataFormatError, errorMessage } from '../../util/errors.js';

export interface RgbImage {
  /** Pixels, row-major, 3 bytes (R, G, B) per pixel. */
  data: Uint8Array;
  width: number;
  height: number;
}

export type ImageFormat = 'jpeg' | 'png';

/** Which format the bytes start like, or undefined for anything else. */
export function sniffImageFormat(bytes: Uint8Array): ImageFormat | undefined {
  if (bytes.length >= 3 && bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff) return 'jpeg';
  if (bytes.length >= 4 && bytes[0] === 0x89 && bytes[1] === 0x50 && bytes[2] === 0x4e && bytes[3] === 0x47) return 'png';
  return undefined;
}

// One frozen options object: jpeg-js spreads it per call, so building it once saves
// an allocation per image. RGB output skips the RGBA buffer and a conversion pass;
// strict decoding turns missing blocks into an error instead of grey squares.
const JPEG_OPTIONS = Object.freeze({
  useTArray: true as const,
  formatAsRGBA: false,
  tolerantDecoding: false,
  // A training image is small; refusing huge ones bounds memory on bad input.
  maxResolutionInMP: 64,
  maxMemoryUsageInMB: 512,
});

/**
 * Decodes a JPEG or PNG. `where` names the source (file, URI, record) in errors.
 * Grayscale is expanded to RGB, alpha is dropped (stored colour kept), 16-bit PNG
 * is scaled to 8 bits.
 */
export function decodeImage(bytes: Uint8Array, where: string): RgbImage {
  const format = sniffImageFormat(bytes);
  if (format === undefined) {
    throw new DataFormatError(where, undefined, `not a JPEG or PNG image (starts with ${hexPrefix(bytes)})`);
  }
  let image: RgbImage;
  try {
    image = format === 'jpeg' ? decodeJpeg(bytes) : decodePng(bytes);
  } catch (err) {
    throw new DataFormatError(where, undefined, `corrupt ${format.toUpperCase()} image: ${errorMessage(err)}`);
  }
  if (!(image.width > 0 && image.height > 0)) {
    throw new DataFormatError(where, undefined, `${format.toUpperCase()} image has no pixels (${image.width}x${image.height})`);
  }
  return image;
}

function decodeJpeg(bytes: Uint8Array): RgbImage {
  const out = jpeg.decode(bytes, JPEG_OPTIONS);
  const expected = out.width * out.height * 3;
  if (out.data.length !== expected) {
    throw new Error(`decoder returned ${out.data.length} bytes for ${out.width}x${out.height} RGB`);
  }
  return { data: out.data, width: out.width, height: out.height };
}

function decodePng(bytes: Uint8Array): RgbImage {
  // pngjs wants a Buffer; a view over the same memory avoids a copy.
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  // pngjs normalises every colour type and depth to 8-bit RGBA.
  const png = PNG.sync.read(buf);
  const { width, height } = png;
  const rgba = png.data;
  if (rgba.length !== width * height * 4) {
    throw new Error(`decoder returned ${rgba.length} bytes for ${width}x${height} RGBA`);
  }
  return { data: rgbaToRgb(rgba, width * height), width, height };
}

function rgbaToRgb(rgba: Uint8Array, pixels: number): Uint8Array {
  const rgb = new Uint8Array(pixels * 3);
  for (let i = 0, j = 0; i < pixels * 4; i += 4, j += 3) {
    rgb[j] = rgba[i];
    rgb[j + 1] = rgba[i + 1];
    rgb[j + 2] = rgba[i + 2];
  }
  return rgb;
}

function hexPrefix(bytes: Uint8Array): string {
  if (bytes.length === 0) return 'nothing: 0 bytes';
  return Array.from(bytes.subarray(0, 4), (b) => b.toString(16).padStart(2, '0')).join(' ');
}
