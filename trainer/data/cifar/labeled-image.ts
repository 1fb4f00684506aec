/** Which part of CIFAR-10 to read. */
export type Split = 'train' | 'test';

export type EncodedFormat = 'jpeg' | 'png';

/** One image with its label, as every CIFAR-10 loader yields it. Exactly one of `encoded` and `pixels` is set. */
export interface LabeledImage {
  /** Position in the source's order (0-based); loaders yield images in this order. */
  index: number;
  label: number;
  /** File or member name (or `<batch file>#<row>`), for errors and listings. */
  name: string;
  /** The original file bytes, unchanged, so that packing can store them as they are. */
  encoded?: { bytes: Buffer; format: EncodedFormat };
  /** Decoded pixels: HWC, interleaved RGB, `width * height * 3` bytes. */
  pixels?: { data: Uint8Array; width: number; height: number };
}

/** 'image-folder': `<split>/<class>/<image>`; 'class-folder': `<class>/<image>` (im2rec --recursive, ImageFolder). */
export type ImageSourceKind = 'python' | 'binary' | 'image-folder' | 'class-folder';

/** A CIFAR-10 split opened from some layout; `images()` may be iterated more than once. */
export interface ImageSource {
  kind: ImageSourceKind;
  /** The path the source was opened from. */
  uri: string;
  /** Class names in label order. */
  classNames: string[];
  /** Number of images, when known without reading them. */
  count?: number;
  /** Files skipped because they are not images (image folders only). */
  skipped?: number;
  images(): AsyncIterable<LabeledImage>;
}

/** The format of encoded image bytes from their magic number, or undefined when neither JPEG nor PNG. */
export function sniffImageFormat(bytes: Uint8Array): EncodedFormat | undefined {
  if (bytes.length >= 3 && bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff) return 'jpeg';
  if (bytes.length >= 4 && bytes[0] === 0x89 && bytes[1] === 0x50 && bytes[2] === 0x4e && bytes[3] === 0x47) return 'png';
  return undefined;
}
