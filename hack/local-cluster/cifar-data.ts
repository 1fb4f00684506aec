/**
 * CIFAR-10 in the local S3, packed once: where the images come from (the shared copy, the
 * official archive downloaded into a cache, or a path) and packing both splits into
 * s3://cifar/data/{train,test}.rec unless all four files are already there.
 */
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { packDataset } from '../../trainer/data/pack/pack.js';
import { openDirectory } from '../../trainer/io/directory.js';
import type { S3Config } from '../../trainer/io/s3-config.js';
import { downloadOfficialArchive } from '../demo/download.js';

export const DATA_PREFIX = 's3://cifar/data/';
const SPLITS = ['train', 'test'] as const;

export interface CifarSource {
  path: string;
  /** The shared copy is JPEG already; the official binary archive holds raw pixels. */
  encoding: 'passthrough' | 'jpg';
}

/** The usage text of a --data flag choosing a CifarSource. */
export const DATA_CHOICES = 'auto: ../shared/datasets/cifar10 when present, else the official binary archive (downloaded once into ~/.cache/cifar-operator); shared; download; or a path to any CIFAR-10 layout';

/** `choice` is auto, shared, download or a path; `repo` locates ../shared beside the checkout. */
export async function cifarSource(choice: string, repo: string): Promise<CifarSource> {
  const shared = join(repo, '..', 'shared', 'datasets', 'cifar10', 'cifar10-jpeg.tar.gz');
  if (choice === 'shared' || (choice === 'auto' && existsSync(shared))) {
    if (!existsSync(shared)) throw new Error(`--data shared: ${shared} not found`);
    return { path: shared, encoding: 'passthrough' };
  }
  if (choice === 'auto' || choice === 'download') return { path: await downloadOfficialArchive(join(homedir(), '.cache', 'cifar-operator')), encoding: 'jpg' };
  return { path: resolve(choice), encoding: 'jpg' };
}

/** True when both splits' .rec and .idx are in the bucket. */
export async function cifarPacked(s3: S3Config): Promise<boolean> {
  const names = new Set(await openDirectory(DATA_PREFIX, s3).list());
  return SPLITS.every((split) => names.has(`${split}.rec`) && names.has(`${split}.idx`));
}

/** Packs both splits unless they are there already; says what it did through `log`. */
export async function packCifarOnce(s3: S3Config, source: () => Promise<CifarSource>, log: (line: string) => void): Promise<void> {
  if (await cifarPacked(s3)) {
    log(`CIFAR-10 already packed in ${DATA_PREFIX} (kept from an earlier start)`);
    return;
  }
  const from = await source();
  for (const split of SPLITS) {
    const started = Date.now();
    const result = await packDataset({ from: from.path, out: `${DATA_PREFIX}${split}`, split, encoding: from.encoding, quality: 95, shuffle: true, seed: 1, s3 });
    log(`packed ${result.records} ${split} images into ${result.recUri} in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  }
}
