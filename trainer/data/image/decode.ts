/**
 * Decodes one JPEG or PNG file into 8-bit RGB pixels, HWC order.
 * The format is chosen from the magic bytes, not the file name, because packed
 * records and S3 keys do not reliably carry an extension.
 */
import jpeg from 'jpeg-js';
import { PNG } from 'pngjs';
import { DataFormatError, errorMessage } from '../../util/errors.js';
import { DEFAULT_INPUT_LIMITS, LIMIT_FLAGS, type InputLimits } from '../limits.js';
import { checkPngData, imageHeader, pngHeader, type ImageHeader } from './header.js';

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

/** The limits decoding applies: the image's declared size and its encoded size. */
export type ImageLimits = Pick<InputLimits, 'maxImageSide' | 'maxImageBytes'>;

// One frozen options object per limit: jpeg-js spreads it per call, so building it once
// saves an allocation per image. RGB output skips the RGBA buffer and a conversion pass;
// strict decoding turns missing blocks into an error instead of grey squares.
interface JpegOptions {
  useTArray: true;
  formatAsRGBA: boolean;
  tolerantDecoding: boolean;
  maxResolutionInMP: number;
  maxMemoryUsageInMB: number;
}
const jpegOptionsBySide = new Map<number, Readonly<JpegOptions>>();
function jpegOptions(maxSide: number): Readonly<JpegOptions> {
  let options = jpegOptionsBySide.get(maxSide);
  if (options === undefined) {
    const megapixels = (maxSide * maxSide) / 1e6;
    options = Object.freeze({
      useTArray: true as const,
      formatAsRGBA: false,
      tolerantDecoding: false,
      // The header check has already refused larger images; these bound jpeg-js's own buffers too.
      maxResolutionInMP: Math.ceil(megapixels),
      maxMemoryUsageInMB: Math.max(64, Math.ceil(megapixels * 12)),
    });
    jpegOptionsBySide.set(maxSide, options);
  }
  return options;
}

/**
 * Checks an encoded image against the limits from its size and header alone, before any
 * decoder allocates: returns its format and declared dimensions.
 */
export function checkImageHeader(bytes: Uint8Array, where: string, limits: ImageLimits = DEFAULT_INPUT_LIMITS): ImageHeader {
  if (bytes.length > limits.maxImageBytes) {
    throw new DataFormatError(where, undefined, `image of ${bytes.length} bytes is over the limit of ${limits.maxImageBytes} bytes (${LIMIT_FLAGS.maxImageBytes})`);
  }
  const format = sniffImageFormat(bytes);
  if (format === undefined) {
    throw new DataFormatError(where, undefined, `not a JPEG or PNG image (starts with ${hexPrefix(bytes)})`);
  }
  const header = imageHeader(bytes, format);
  const name = format.toUpperCase();
  if (typeof header === 'string') throw new DataFormatError(where, undefined, `corrupt ${name} image: ${header}`);
  if (!(header.width > 0 && header.height > 0)) {
    throw new DataFormatError(where, undefined, `${name} image has no pixels (${header.width}x${header.height})`);
  }
  if (header.width > limits.maxImageSide || header.height > limits.maxImageSide) {
    throw new DataFormatError(
      where,
      undefined,
      `${name} image declares ${header.width}x${header.height} pixels, over the limit of ${limits.maxImageSide} per side (${LIMIT_FLAGS.maxImageSide})`,
    );
  }
  return header;
}

/**
 * Decodes a JPEG or PNG. `where` names the source (file, URI, record) in errors.
 * Grayscale is expanded to RGB, alpha is dropped (stored colour kept), 16-bit PNG
 * is scaled to 8 bits. Images over the limits, and truncated image data, are errors.
 */
export function decodeImage(bytes: Uint8Array, where: string, limits: ImageLimits = DEFAULT_INPUT_LIMITS): RgbImage {
  const { format } = checkImageHeader(bytes, where, limits);
  let image: RgbImage;
  try {
    image = format === 'jpeg' ? decodeJpeg(bytes, limits.maxImageSide) : decodePng(bytes);
  } catch (err) {
    throw new DataFormatError(where, undefined, `corrupt ${format.toUpperCase()} image: ${errorMessage(err)}`);
  }
  if (!(image.width > 0 && image.height > 0)) {
    throw new DataFormatError(where, undefined, `${format.toUpperCase()} image has no pixels (${image.width}x${image.height})`);
  }
  return image;
}

function decodeJpeg(bytes: Uint8Array, maxSide: number): RgbImage {
  const out = jpeg.decode(bytes, jpegOptions(maxSide));
  const expected = out.width * out.height * 3;
  if (out.data.length !== expected) {
    throw new Error(`decoder returned ${out.data.length} bytes for ${out.width}x${out.height} RGB`);
  }
  return { data: out.data, width: out.width, height: out.height };
}

function decodePng(bytes: Uint8Array): RgbImage {
  // pngjs wants a Buffer; a view over the same memory avoids a copy.
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const header = pngHeader(buf);
  if (typeof header === 'string') throw new Error(header);
  // pngjs zero-fills short image data; a truncated file must be an error, not an image.
  const problem = checkPngData(buf, header);
  if (problem !== undefined) throw new Error(problem);
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
