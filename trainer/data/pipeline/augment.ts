/**
 * The standard CIFAR augmentation: zero-pad, random crop, random horizontal flip,
 * optionally Cutout (DeVries & Taylor 2017); for validation a centre crop without flip.
 * Crops are described by a placement in the unpadded image's coordinates (negative or
 * overhanging means padding), and written straight into the normalised float batch in
 * one pass.
 */
import { UsageError } from '../../util/errors.js';
import type { Rng } from '../../util/rng.js';

export interface CropSpec {
  /** Output side length (square). */
  crop: number;
  /** Zero padding on every side before the random crop. */
  pad: number;
  /** Random horizontal flip with probability 0.5. */
  flip: boolean;
  /**
   * Cutout: side of a square set to the normalised mean (0) at a uniformly random centre,
   * clipped at the crop's border; 0 or absent: off.
   */
  cutout?: number;
}

/** Top-left corner of the crop in image coordinates, and whether to mirror it. */
export interface Placement {
  top: number;
  left: number;
  flip: boolean;
  /** The Cutout square's centre in crop coordinates, when Cutout is on. */
  cutoutCentre?: { y: number; x: number };
}

/** Checks that the crop fits the padded image; `where` names the option source. */
export function checkCropSpec(spec: CropSpec, height: number, width: number, where = 'augmentation'): void {
  if (!(Number.isInteger(spec.crop) && spec.crop > 0)) throw new UsageError(`${where}: crop must be a positive integer, got ${spec.crop}`);
  if (!(Number.isInteger(spec.pad) && spec.pad >= 0)) throw new UsageError(`${where}: pad must be a non-negative integer, got ${spec.pad}`);
  const cutout = spec.cutout ?? 0;
  if (!(Number.isInteger(cutout) && cutout >= 0 && cutout <= spec.crop)) {
    throw new UsageError(`${where}: cutout must be an integer from 0 to the crop size ${spec.crop}, got ${cutout}`);
  }
  if (spec.crop > height + 2 * spec.pad || spec.crop > width + 2 * spec.pad) {
    throw new UsageError(`${where}: crop ${spec.crop} is larger than the ${height}x${width} image padded by ${spec.pad}`);
  }
}

/** A uniformly random crop of the padded image and a fair coin for the flip. */
export function randomPlacement(rng: Rng, height: number, width: number, spec: CropSpec): Placement {
  const top = rng.int(height + 2 * spec.pad - spec.crop + 1) - spec.pad;
  const left = rng.int(width + 2 * spec.pad - spec.crop + 1) - spec.pad;
  // Always draw the coin so that turning flips off does not shift later draws.
  const coin = rng.next() < 0.5;
  const placement: Placement = { top, left, flip: spec.flip && coin };
  // Drawn last, and only when on, so runs without Cutout keep their exact batches.
  if ((spec.cutout ?? 0) > 0) placement.cutoutCentre = { y: rng.int(spec.crop), x: rng.int(spec.crop) };
  return placement;
}

/**
 * Sets the Cutout square of one crop (written at `out[outOffset..]` as crop*crop*3 floats)
 * to 0, the normalised mean: a side of `size` around the placement's centre, clipped at the
 * border as in the paper, so a square near an edge erases less.
 */
export function eraseCutout(place: Placement, size: number, crop: number, out: Float32Array, outOffset: number): void {
  if (place.cutoutCentre === undefined || size <= 0) return;
  const half = Math.floor(size / 2);
  const y0 = Math.max(0, place.cutoutCentre.y - half);
  const y1 = Math.min(crop, place.cutoutCentre.y - half + size);
  const x0 = Math.max(0, place.cutoutCentre.x - half);
  const x1 = Math.min(crop, place.cutoutCentre.x - half + size);
  for (let y = y0; y < y1; y++) {
    out.fill(0, outOffset + (y * crop + x0) * 3, outOffset + (y * crop + x1) * 3);
  }
}

/** The centred crop (rounded towards the top-left), never flipped. */
export function centerPlacement(height: number, width: number, crop: number): Placement {
  return { top: Math.floor((height - crop) / 2), left: Math.floor((width - crop) / 2), flip: false };
}

/**
 * Writes the crop of one HWC RGB image at `src[srcOffset..]` into `out` at
 * `outOffset` as crop*crop*3 floats, mapping each byte through `table` (see
 * normalizationTable); padding is byte value 0 mapped the same way.
 */
export function writeCrop(
  src: Uint8Array,
  srcOffset: number,
  height: number,
  width: number,
  place: Placement,
  crop: number,
  table: Float32Array,
  out: Float32Array,
  outOffset: number,
): void {
  const pad0 = table[0];
  const pad1 = table[256];
  const pad2 = table[512];
  const { top, left, flip } = place;
  // Output columns [x0, x1) read real pixels; the rest are padding.
  const x0 = flip ? Math.max(0, left + crop - width) : Math.max(0, -left);
  const x1 = flip ? Math.min(crop, left + crop) : Math.min(crop, width - left);
  const step = flip ? -3 : 3;
  let o = outOffset;
  for (let y = 0; y < crop; y++) {
    const sy = top + y;
    if (sy < 0 || sy >= height || x0 >= x1) {
      for (let x = 0; x < crop; x++, o += 3) {
        out[o] = pad0;
        out[o + 1] = pad1;
        out[o + 2] = pad2;
      }
      continue;
    }
    for (let x = 0; x < x0; x++, o += 3) {
      out[o] = pad0;
      out[o + 1] = pad1;
      out[o + 2] = pad2;
    }
    const firstSx = flip ? left + crop - 1 - x0 : left + x0;
    let s = srcOffset + (sy * width + firstSx) * 3;
    for (let x = x0; x < x1; x++, o += 3, s += step) {
      out[o] = table[src[s]];
      out[o + 1] = table[256 + src[s + 1]];
      out[o + 2] = table[512 + src[s + 2]];
    }
    for (let x = x1; x < crop; x++, o += 3) {
      out[o] = pad0;
      out[o + 1] = pad1;
      out[o + 2] = pad2;
    }
  }
}
