/**
 * Per-channel mean/std normalisation on the 0..255 scale, applied through a 256-entry
 * table per channel so the batch writer does one lookup per value and every path
 * (inline, worker) produces bit-identical floats.
 */
import { UsageError } from '../../util/errors.js';
import type { ImageCache } from './image-cache.js';

export type Rgb = readonly [number, number, number];

/** CIFAR-10 training-set channel means, 0..255 scale. */
export const CIFAR10_MEAN: Rgb = [125.307, 122.961, 113.8575];
/** CIFAR-10 training-set channel standard deviations, 0..255 scale. */
export const CIFAR10_STD: Rgb = [62.9932, 62.0887, 66.7048];

export interface ChannelStats {
  mean: Rgb;
  std: Rgb;
}

/**
 * Mean and (population) standard deviation of each channel over every pixel of the
 * cache. Counts a histogram first: exact, and one byte read per value.
 */
export function computeChannelStats(cache: ImageCache): ChannelStats {
  const histogram = new Float64Array(768);
  const px = cache.pixels;
  for (let i = 0; i < px.length; i += 3) {
    histogram[px[i]]++;
    histogram[256 + px[i + 1]]++;
    histogram[512 + px[i + 2]]++;
  }
  const mean: number[] = [];
  const std: number[] = [];
  for (let c = 0; c < 3; c++) {
    let n = 0;
    let sum = 0;
    let sumSq = 0;
    for (let v = 0; v < 256; v++) {
      const k = histogram[c * 256 + v];
      n += k;
      sum += k * v;
      sumSq += k * v * v;
    }
    if (n === 0) throw new UsageError('cannot compute channel statistics of an empty image cache');
    const m = sum / n;
    mean.push(m);
    std.push(Math.sqrt(Math.max(0, sumSq / n - m * m)));
  }
  return { mean: [mean[0], mean[1], mean[2]], std: [std[0], std[1], std[2]] };
}

/**
 * table[c*256 + v] = (v - mean[c]) / std[c] as float32. `where` names the option
 * source in errors.
 */
export function normalizationTable(mean: Rgb, std: Rgb, where = 'normalisation'): Float32Array {
  if (mean.length !== 3 || std.length !== 3) {
    throw new UsageError(`${where}: mean and std need 3 values (R, G, B), got ${mean.length} and ${std.length}`);
  }
  const table = new Float32Array(768);
  for (let c = 0; c < 3; c++) {
    if (!Number.isFinite(mean[c])) throw new UsageError(`${where}: mean[${c}] must be a finite number, got ${mean[c]}`);
    if (!(Number.isFinite(std[c]) && std[c] > 0)) throw new UsageError(`${where}: std[${c}] must be positive, got ${std[c]}`);
    for (let v = 0; v < 256; v++) table[c * 256 + v] = (v - mean[c]) / std[c];
  }
  return table;
}
