import t from 'tap';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { LocalFileSource } from '../../../trainer/io/local-source.js';
import { readRecords } from '../../../trainer/data/recordio/reader.js';
import { unpackImageRecord } from '../../../trainer/data/recordio/image-record.js';
import { readTar } from '../../../trainer/data/cifar/tar.js';
import { openImageSource } from '../../../trainer/data/cifar/open-image-source.js';
import { decodeImage } from '../../../trainer/data/image/decode.js';
import { loadDataset } from '../../../trainer/data/dataset.js';
import { runTrainerCli } from '../../helpers/cli.js';
import { datasetPath, datasetSkip } from '../../helpers/datasets.js';
import { startS3rver } from '../../helpers/s3rver.js';

const JPEG_TREE = ['cifar10-jpeg.tar.gz'];
const MINI_PY = ['official-format-mini', 'cifar-10-batches-py'];
const MINI_BIN = ['official-format-mini', 'cifar-10-batches-bin'];

async function recordsOf(path: string): Promise<Array<{ id: number; labels: number[]; image: Buffer }>> {
  const out: Array<{ id: number; labels: number[]; image: Buffer }> = [];
  const source = new LocalFileSource(path);
  for await (const { offset, payload } of readRecords(source)) {
    const r = unpackImageRecord(payload, path, offset);
    out.push({ id: Number(r.id), labels: r.labels, image: Buffer.from(r.image) });
  }
  await source.close();
  return out;
}

t.test('passthrough pack of the CIFAR-10 JPEG tree keeps every file byte for byte', { skip: datasetSkip(...JPEG_TREE) }, async (t) => {
  const archive = datasetPath(...JPEG_TREE);
  const hashes = new Map<string, string>();
  const source = new LocalFileSource(archive);
  for await (const member of readTar(source)) {
    if (/\.jpe?g$/i.test(member.name)) hashes.set(createHash('sha256').update(member.bytes).digest('hex'), member.name);
  }
  await source.close();
  const dir = t.testdir();
  for (const [split, expected] of [['train', 50000], ['test', 10000]] as const) {
    const prefix = join(dir, split);
    const { code, stdout, stderr } = await runTrainerCli(['pack', '--from', archive, '--out', prefix, '--split', split, '--encoding', 'passthrough']);
    t.equal(code, 0, stderr);
    t.match(stdout, new RegExp(`wrote ${expected} records from image-folder source`));
    const records = await recordsOf(`${prefix}.rec`);
    t.equal(records.length, expected, `${split}: record count`);
    let matched = 0;
    const perLabel = new Array<number>(10).fill(0);
    for (const r of records) {
      const name = hashes.get(createHash('sha256').update(r.image).digest('hex'));
      if (name !== undefined && name.includes(`${split}/`)) matched++;
      perLabel[r.labels[0]]++;
    }
    t.equal(matched, expected, `${split}: every payload hash is a source file hash from that split`);
    t.same(perLabel, new Array(10).fill(expected / 10), `${split}: labels from sorted class folders`);
    t.same(records.slice(0, 3).map((r) => r.id), [0, 1, 2], 'ids are the source index');
  }
});

t.test('png pack of the official python files is lossless and keeps labels', { skip: datasetSkip(...MINI_PY) }, async (t) => {
  const from = datasetPath(...MINI_PY);
  const prefix = join(t.testdir(), 'mini');
  const { code, stderr } = await runTrainerCli(['pack', '--from', from, '--out', prefix, '--split', 'test', '--encoding', 'png']);
  t.equal(code, 0, stderr);
  const records = await recordsOf(`${prefix}.rec`);
  const source = await openImageSource(from, { split: 'test' });
  let i = 0;
  for await (const image of source.images()) {
    const r = records[i++];
    t.equal(r.labels[0], image.label);
    if (i <= 50) t.same(decodeImage(r.image, 'pack').data, image.pixels!.data, `image ${i - 1} pixels equal`);
  }
  t.equal(i, records.length);
});

t.test('--shuffle --seed reorders records reproducibly, keys stay the source index', { skip: datasetSkip(...MINI_BIN) }, async (t) => {
  const from = datasetPath(...MINI_BIN);
  const dir = t.testdir();
  const run = async (name: string, seed: string) => {
    const { code, stderr } = await runTrainerCli(['pack', '--from', from, '--out', join(dir, name), '--shuffle', '--seed', seed, '--limit', '200', '--encoding', 'png']);
    t.equal(code, 0, stderr);
    return (await recordsOf(join(dir, `${name}.rec`))).map((r) => r.id);
  };
  const a = await run('a', '7');
  const b = await run('b', '7');
  const c = await run('c', '8');
  t.same(a, b, 'same seed, same order');
  t.notSame(a, c, 'other seed, other order');
  t.notSame(a, [...a].sort((x, y) => x - y), 'shuffled');
  t.same([...a].sort((x, y) => x - y), Array.from({ length: 200 }, (_, i) => i), 'every key once');
});

t.test('bad pack requests fail clearly and write nothing', { skip: datasetSkip(...MINI_BIN) }, async (t) => {
  const dir = t.testdir();
  const prefix = join(dir, 'out');
  const raw = await runTrainerCli(['pack', '--from', datasetPath(...MINI_BIN), '--out', prefix, '--encoding', 'passthrough']);
  t.equal(raw.code, 2);
  t.match(raw.stderr, /passthrough needs encoded image files/);
  const missing = await runTrainerCli(['pack', '--out', prefix]);
  t.match(missing.stderr, /--from SOURCE is required/);
  const enc = await runTrainerCli(['pack', '--from', dir, '--out', prefix, '--encoding', 'gif']);
  t.match(enc.stderr, /--encoding must be one of jpg, png, passthrough/);
  const nowhere = await runTrainerCli(['pack', '--from', join(dir, 'nope'), '--out', prefix]);
  t.equal(nowhere.code, 2);
  t.match(nowhere.stderr, /nope: no such file or directory/);
  const { readdir } = await import('node:fs/promises');
  t.same(await readdir(dir), [], 'no partial output');
});

t.test('pack to S3 and read shards of the object back', { skip: datasetSkip(...MINI_BIN) }, async (t) => {
  const s3 = await startS3rver(t, { buckets: ['data'] });
  const env = { ...process.env, AWS_ACCESS_KEY_ID: 'S3RVER', AWS_SECRET_ACCESS_KEY: 'S3RVER', AWS_ENDPOINT_URL: s3.endpoint, S3_FORCE_PATH_STYLE: 'true' };
  const { code, stderr } = await runTrainerCli(['pack', '--from', datasetPath(...MINI_BIN), '--out', 's3://data/cifar/train', '--encoding', 'png', '--limit', '300'], env);
  t.equal(code, 0, stderr);
  const whole = await loadDataset({ uri: 's3://data/cifar/train.rec', format: 'auto', split: 'train', s3: s3.config });
  t.equal(whole.cache.count, 300);
  let total = 0;
  const labels: number[] = [];
  for (let i = 0; i < 3; i++) {
    const part = await loadDataset({ uri: 's3://data/cifar/train.rec', format: 'auto', split: 'train', part: { index: i, count: 3 }, s3: s3.config });
    t.ok(part.cache.count > 50 && part.cache.count < 150, `part ${i} holds about a third (${part.cache.count})`);
    total += part.cache.count;
    labels.push(...part.cache.labels);
  }
  t.equal(total, 300, 'parts cover every record once');
  t.same(labels, Array.from(whole.cache.labels), 'parts in order equal the whole');
  const inspect = await runTrainerCli(['inspect', 's3://data/cifar/train.rec', '--part', '1/3', '--json'], env);
  t.equal(inspect.code, 0, inspect.stderr);
  t.equal(inspect.stdout.trim().split('\n').length, labels.length - (await countPart(0)) - (await countPart(2)));

  async function countPart(i: number): Promise<number> {
    return (await loadDataset({ uri: 's3://data/cifar/train.rec', format: 'auto', split: 'train', part: { index: i, count: 3 }, s3: s3.config })).cache.count;
  }
});
