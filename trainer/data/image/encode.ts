/**
 * Encodes 8-bit RGB pixels (HWC) as JPEG or PNG, for the packer's `--encoding`.
 */
import jpeg from 'jpeg-js';
import { PNG } from 'pngjs';
import { UsageError } from '../../util/errors.js';

/** Encodes as baseline JPEG. `quality` is 1..100. */
export function encodeJpeg(pixels: Uint8Array, width: number, height: number, quality: number): Uint8Array {
  checkPixels(pixels, width, height);
  if (!(Number.isInteger(quality) && quality >= 1 && quality <= 100)) {
    throw new UsageError(`JPEG quality must be an integer from 1 to 100, got ${quality}`);
  }
  // jpeg-js reads 4 bytes per pixel and ignores the fourth.
  const rgba = new Uint8Array(width * height * 4);
  for (let i = 0, j = 0; i < pixels.length; i += 3, j += 4) {
    rgba[j] = pixels[i];
    rgba[j + 1] = pixels[i + 1];
    rgba[j + 2] = pixels[i + 2];
    rgba[j + 3] = 255;
  }
  const out = jpeg.encode({ data: rgba, width, height }, quality).data;
  return new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
}

/** Encodes as 8-bit RGB PNG (lossless). */
export function encodePng(pixels: Uint8Array, width: number, height: number): Uint8Array {
  checkPixels(pixels, width, height);
  // Only width, height and data are read by the writer; a zero-sized PNG avoids
  // allocating an RGBA buffer that would be replaced at once.
  const png = new PNG({ width: 0, height: 0 });
  png.width = width;
  png.height = height;
  png.data = Buffer.from(pixels.buffer, pixels.byteOffset, pixels.byteLength);
  const out = PNG.sync.write(png, { colorType: 2, inputColorType: 2, inputHasAlpha: false, bitDepth: 8 });
  return new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
}

function checkPixels(pixels: Uint8Array, width: number, height: number): void {
  if (!(Number.isInteger(width) && width > 0 && Number.isInteger(height) && height > 0)) {
    throw new UsageError(`image size must be positive integers, got ${width}x${height}`);
  }
  if (pixels.length !== width * height * 3) {
    throw new UsageError(`expected ${width * height * 3} bytes of RGB pixels for ${width}x${height}, got ${pixels.length}`);
  }
}
