/**
 * Limits on input data, so that a hostile or broken file costs a clear error instead of
 * gigabytes of memory or minutes of work. The defaults are generous for CIFAR-like data
 * (32x32 images of a few KB, archives of a few hundred MB) and each is a flag of `train`
 * and `pack` (see README, "Security").
 */
import { UsageError } from '../util/errors.js';

export interface InputLimits {
  /** Largest width or height an image may declare in its header (checked before decoding). */
  maxImageSide: number;
  /** Largest encoded image (file, archive member or record payload), in bytes. */
  maxImageBytes: number;
  /** Largest data file read whole into memory (an official batch file, an archive member), in bytes. */
  maxFileBytes: number;
  /** Largest archive, counted as uncompressed tar bytes, so a gzip bomb stops early. */
  maxArchiveBytes: number;
}

const MiB = 1024 * 1024;
const GiB = 1024 * MiB;

export const DEFAULT_INPUT_LIMITS: Readonly<InputLimits> = Object.freeze({
  maxImageSide: 4096,
  maxImageBytes: 64 * MiB,
  maxFileBytes: 256 * MiB,
  maxArchiveBytes: 8 * GiB,
});

/** The flag behind each limit, for usage text and errors that tell the user what to raise. */
export const LIMIT_FLAGS: Readonly<Record<keyof InputLimits, string>> = Object.freeze({
  maxImageSide: '--max-image-side',
  maxImageBytes: '--max-image-bytes',
  maxFileBytes: '--max-file-bytes',
  maxArchiveBytes: '--max-archive-bytes',
});

const UNITS: Readonly<Record<string, number>> = { '': 1, k: 1024, m: MiB, g: GiB, t: 1024 * GiB };

/** A byte count with an optional binary unit: 65536, 64M, 8G, 512k (case-insensitive, optional B/iB). */
export function parseBytes(flag: string, value: string): number {
  const m = /^\s*(\d+)\s*([kmgt]?)(i?b)?\s*$/i.exec(value);
  const n = m ? Number(m[1]) * (UNITS[(m[2] ?? '').toLowerCase()] ?? NaN) : NaN;
  if (!Number.isSafeInteger(n) || n < 1) throw new UsageError(`${flag} must be a positive byte count such as 65536, 64M or 8G, got '${value}'`);
  return n;
}

/** Formats a byte count the way the flags accept it back. */
export function formatBytes(n: number): string {
  for (const [unit, size] of [['G', GiB], ['M', MiB], ['k', 1024]] as const) if (n >= size && n % size === 0) return `${n / size}${unit}`;
  return String(n);
}

/** Limits from flag values (undefined keeps the default); every error names its flag. */
export function limitsFromFlags(values: Partial<Record<keyof InputLimits, string | undefined>>): InputLimits {
  const out: InputLimits = { ...DEFAULT_INPUT_LIMITS };
  if (values.maxImageSide !== undefined) {
    const n = Number(values.maxImageSide);
    if (!/^\s*\d+\s*$/.test(values.maxImageSide) || !Number.isInteger(n) || n < 1 || n > 65535) {
      throw new UsageError(`${LIMIT_FLAGS.maxImageSide} must be an integer from 1 to 65535, got '${values.maxImageSide}'`);
    }
    out.maxImageSide = n;
  }
  for (const key of ['maxImageBytes', 'maxFileBytes', 'maxArchiveBytes'] as const) {
    const value = values[key];
    if (value !== undefined) out[key] = parseBytes(LIMIT_FLAGS[key], value);
  }
  return out;
}

/** The flags as `parseArgs` options, and their usage lines. */
export const limitFlags = {
  options: {
    'max-image-side': { type: 'string' },
    'max-image-bytes': { type: 'string' },
    'max-file-bytes': { type: 'string' },
    'max-archive-bytes': { type: 'string' },
  },
  usage: `Input limits (hostile or broken files fail with an error naming the file and the flag):
  --max-image-side N             largest image width or height, read from the header (default ${DEFAULT_INPUT_LIMITS.maxImageSide})
  --max-image-bytes SIZE         largest encoded image or record (default ${formatBytes(DEFAULT_INPUT_LIMITS.maxImageBytes)})
  --max-file-bytes SIZE          largest data file read whole, e.g. a batch file (default ${formatBytes(DEFAULT_INPUT_LIMITS.maxFileBytes)})
  --max-archive-bytes SIZE       largest .tar/.tar.gz, uncompressed (default ${formatBytes(DEFAULT_INPUT_LIMITS.maxArchiveBytes)})`,
} as const;

/** Reads the limit flags out of parsed flag values. */
export function limitsFromValues(v: { 'max-image-side'?: string; 'max-image-bytes'?: string; 'max-file-bytes'?: string; 'max-archive-bytes'?: string }): InputLimits {
  return limitsFromFlags({
    maxImageSide: v['max-image-side'],
    maxImageBytes: v['max-image-bytes'],
    maxFileBytes: v['max-file-bytes'],
    maxArchiveBytes: v['max-archive-bytes'],
  });
}
