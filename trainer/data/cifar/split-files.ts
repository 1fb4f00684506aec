import { DataFormatError, UsageError } from '../../util/errors.js';
import type { Split } from './labeled-image.js';

/** The batch file names of an official layout. */
export interface BatchLayout {
  train: readonly string[];
  test: string;
}

/**
 * The batch files of a split: the test file, or the train files in order. Train files may
 * stop early (small copies of the data set hold fewer batches), but a missing first file
 * or a gap is an error rather than a silently smaller data set.
 */
export function splitFiles(split: Split, layout: BatchLayout, present: ReadonlySet<string>, uri: string): string[] {
  if (split === 'test') {
    if (!present.has(layout.test)) throw new UsageError(`${uri}: split 'test' not found: no ${layout.test}`);
    return [layout.test];
  }
  const all = layout.train;
  if (!present.has(all[0])) throw new UsageError(`${uri}: split 'train' not found: no ${all[0]}`);
  const files = all.filter((name) => present.has(name));
  const gap = all.findIndex((name, i) => i < files.length && name !== files[i]);
  if (gap >= 0) throw new DataFormatError(uri, undefined, `${all[gap]} is missing but ${files[files.length - 1]} is present`);
  return files;
}
