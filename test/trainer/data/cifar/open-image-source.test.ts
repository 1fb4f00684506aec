import t from 'tap';
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { UsageError } from '../../../../trainer/util/errors.js';
import { classifyMember, detectLayout, openImageSource } from '../../../../trainer/data/cifar/open-image-source.js';
import type { LabeledImage } from '../../../../trainer/data/cifar/labeled-image.js';
import { datasetPath, datasetSkip } from '../../../helpers/datasets.js';

/** A tiny binary-version directory: `labels.length` records whose pixels are all `label * 10`. */
function writeBinaryDir(dir: string, files: Record<string, number[]>): void {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'batches.meta.txt'), 'zero\none\ntwo\n\n');
  for (const [name, labels] of Object.entries(files)) {
    writeFileSync(join(dir, name), Buffer.concat(labels.map((label) => Buffer.concat([Buffer.from([label]), Buffer.alloc(3072, label * 10)]))));
  }
}

async function collect(images: AsyncIterable<LabeledImage>): Promise<LabeledImage[]> {
  const out: LabeledImage[] = [];
  for await (const image of images) out.push(image);
  return out;
}

t.test('classifyMember recognises each layout from one member name', async (t) => {
  t.equal(classifyMember('cifar-10-batches-py/data_batch_4'), 'python');
  t.equal(classifyMember('./cifar-10-batches-py/batches.meta'), 'python');
  t.equal(classifyMember('cifar-10-batches-bin/test_batch.bin'), 'binary');
  t.equal(classifyMember('batches.meta.txt'), 'binary');
  t.equal(classifyMember('train/cat/0001.jpg'), 'image-folder');
  t.equal(classifyMember('cifar10/test/dog/1.png'), 'image-folder');
  t.equal(classifyMember('cifar-10-batches-py/readme.html'), undefined);
  t.equal(classifyMember('a/b/c/data_batch_1'), undefined);
});

t.test('binary directories are found from the layout directory or its parent, and as archives', async (t) => {
  const root = t.testdir();
  const bin = join(root, 'cifar-10-batches-bin');
  writeBinaryDir(bin, { 'data_batch_1.bin': [2, 0, 1], 'data_batch_2.bin': [1], 'test_batch.bin': [0, 2] });
  const archive = join(root, 'cifar-10-binary.tar.gz');
  execFileSync('tar', ['-czf', archive, '-C', root, 'cifar-10-batches-bin']);
  for (const from of [bin, root, archive]) {
    const train = await openImageSource(from, { split: 'train' });
    t.equal(train.kind, 'binary', from);
    t.same(train.classNames, ['zero', 'one', 'two']);
    t.equal(train.count, 4);
    const images = await collect(train.images());
    t.same(images.map((image) => [image.index, image.label, image.pixels?.data[0]]), [[0, 2, 20], [1, 0, 0], [2, 1, 10], [3, 1, 10]]);
    t.same((await collect((await openImageSource(from, { split: 'test' })).images())).map((image) => image.label), [0, 2]);
  }
  t.same(await detectLayout(archive), { kind: 'binary', location: { kind: 'archive', path: archive } });
});

t.test('a missing split, an unknown directory or file, and an ambiguous parent are usage errors', async (t) => {
  const root = t.testdir();
  const bin = join(root, 'only-train', 'cifar-10-batches-bin');
  writeBinaryDir(bin, { 'data_batch_1.bin': [0] });
  await t.rejects(openImageSource(bin, { split: 'test' }), new UsageError(`${bin}: split 'test' not found: no test_batch.bin`));

  const empty = join(root, 'empty');
  mkdirSync(empty);
  await t.rejects(openImageSource(empty, { split: 'train' }), { name: 'UsageError', message: new RegExp(`^${empty}: not a recognised CIFAR-10 source: expected cifar-10-batches-py/`) });
  await t.rejects(openImageSource(join(root, 'nope'), { split: 'train' }), new UsageError(`${join(root, 'nope')}: no such file or directory`));

  const text = join(root, 'data.txt');
  writeFileSync(text, 'hello');
  await t.rejects(openImageSource(text, { split: 'train' }), { name: 'UsageError', message: /not a directory, \.tar or \.tar\.gz archive/ });

  const readmeOnly = join(root, 'readme.tar.gz');
  execFileSync('tar', ['-czf', readmeOnly, '-C', root, 'data.txt']);
  await t.rejects(openImageSource(readmeOnly, { split: 'train' }), { name: 'UsageError', message: /no CIFAR-10 layout among the first 1 files of the archive/ });

  const both = join(root, 'both');
  writeBinaryDir(join(both, 'cifar-10-batches-bin'), { 'data_batch_1.bin': [0] });
  mkdirSync(join(both, 'cifar-10-batches-py'));
  await t.rejects(openImageSource(both, { split: 'train' }), new UsageError(`${both}: holds both cifar-10-batches-py and cifar-10-batches-bin; pass one of them`));
});

t.test('image folders are detected as directories and archives', async (t) => {
  const root = t.testdir();
  mkdirSync(join(root, 'imgs', 'train', 'cat'), { recursive: true });
  writeFileSync(join(root, 'imgs', 'train', 'cat', '1.jpg'), Buffer.from([0xff, 0xd8, 0xff, 0xdb]));
  const archive = join(root, 'imgs.tar.gz');
  execFileSync('tar', ['-czf', archive, '-C', root, 'imgs']);
  for (const from of [join(root, 'imgs'), archive]) {
    const source = await openImageSource(from, { split: 'train' });
    t.equal(source.kind, 'image-folder');
    t.same((await collect(source.images())).map((image) => [image.name, image.label, image.encoded?.format]), [['train/cat/1.jpg', 0, 'jpeg']]);
    await t.rejects(openImageSource(from, { split: 'test' }), { name: 'UsageError', message: /split 'test' not found/ });
  }
});

t.test('the shared python and binary directories are detected', { skip: datasetSkip('official-format-mini') }, async (t) => {
  const py = datasetPath('official-format-mini', 'cifar-10-batches-py');
  const source = await openImageSource(py, { split: 'test' });
  t.equal(source.kind, 'python');
  t.equal((await collect(source.images())).length, 500);
  t.equal((await detectLayout(datasetPath('official-format-mini', 'cifar-10-batches-bin'))).kind, 'binary');
});
