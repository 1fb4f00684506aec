import { existsSync } from 'node:fs';
import { mkdir, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { packDataset } from '../../trainer/data/pack/pack.js';
import { openDirectory } from '../../trainer/io/directory.js';
import type { S3Config } from '../../trainer/io/s3-config.js';
import { datasetPath } from './datasets.js';

/**
 * Shuffled passthrough RecordIO packs of the shared CIFAR-10 JPEG tree, made once per
 * machine in the OS temp directory and reused by the training tests (packing takes a
 * couple of seconds; the packs are derived data, never committed).
 */
export async function packedCifar(split: 'train' | 'test'): Promise<string> {
  const dir = join(tmpdir(), 'cifar-operator-test-packs');
  const prefix = join(dir, `${split}-shuffled-seed1`);
  const rec = `${prefix}.rec`;
  if (existsSync(rec) && existsSync(`${prefix}.idx`)) return rec;
  await mkdir(dir, { recursive: true });
  await packDataset({ from: datasetPath('cifar10-jpeg.tar.gz'), out: prefix, split, encoding: 'passthrough', quality: 95, shuffle: true, seed: 1 });
  return rec;
}

/** Puts both packs on S3 as s3://cifar/data/{train,test}.{rec,idx}, where pods can read them. */
export async function uploadPackedCifar(s3: S3Config): Promise<void> {
  const bucket = openDirectory('s3://cifar/data', s3);
  for (const split of ['train', 'test'] as const) {
    const rec = await packedCifar(split);
    for (const suffix of ['.rec', '.idx']) await bucket.write(`${split}${suffix}`, await readFile(rec.replace(/\.rec$/, suffix)));
  }
}
