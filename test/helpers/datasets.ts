import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Repository root, found from this file's location. */
export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** The shared CIFAR-10 data set directory (read-only, never committed). */
export const cifarDatasetDir = process.env.CIFAR10_DATASET_DIR ?? join(repoRoot, '..', 'shared', 'datasets', 'cifar10');

/**
 * Returns the path under the shared CIFAR-10 directory, or a skip message when the
 * data set is absent, for `t.test(name, { skip: datasetSkip(...) }, ...)`.
 */
export function datasetSkip(...relative: string[]): string | false {
  const path = join(cifarDatasetDir, ...relative);
  return existsSync(path) ? false : `CIFAR-10 data set not found at ${path} (set CIFAR10_DATASET_DIR); skipping`;
}

export function datasetPath(...relative: string[]): string {
  return join(cifarDatasetDir, ...relative);
}
