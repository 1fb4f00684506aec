import t, { type Test } from 'tap';
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DataFormatError, UsageError } from '../../../../trainer/util/errors.js';
import { openImageFolder } from '../../../../trainer/data/cifar/image-folder.js';
import { listImageFolder, splitRootDepth } from '../../../../trainer/data/cifar/image-folder-listing.js';
import { inOrder } from '../../../../trainer/data/cifar/in-order.js';
import type { LabeledImage } from '../../../../trainer/data/cifar/labeled-image.js';
import { datasetPath, datasetSkip } from '../../../helpers/datasets.js';

const JPEG = (n: number): Buffer => Buffer.from([0xff, 0xd8, 0xff, 0xe0, n, n, n]);
const PNG = (n: number): Buffer => Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, n]);

// Class folders and files deliberately out of order; 'Zebra' sorts before 'ant' in byte order.
const TREE: Record<string, Buffer> = {
  'train/dog/2.jpg': JPEG(1),
  'train/dog/10.jpg': JPEG(2),
  'train/cat/b.JPEG': JPEG(3),
  'train/cat/a.png': PNG(4),
  'train/cat/notes.txt': Buffer.from('not an image'),
  'train/Zebra/z.jpg': PNG(5), // a PNG with a .jpg name: the bytes decide the format
  'train/ant/x.jpeg': JPEG(6),
  'train/README': Buffer.from('skipped too'),
  'test/cat/t1.jpg': JPEG(7),
  'test/dog/t2.png': PNG(8),
};
const TRAIN_ORDER = ['train/Zebra/z.jpg', 'train/ant/x.jpeg', 'train/cat/a.png', 'train/cat/b.JPEG', 'train/dog/10.jpg', 'train/dog/2.jpg'];
const CLASSES = ['Zebra', 'ant', 'cat', 'dog'];

function writeTree(root: string): void {
  for (const [path, bytes] of Object.entries(TREE)) {
    mkdirSync(join(root, path, '..'), { recursive: true });
    writeFileSync(join(root, path), bytes);
  }
}

async function collect(images: AsyncIterable<LabeledImage>): Promise<LabeledImage[]> {
  const out: LabeledImage[] = [];
  for await (const image of images) out.push(image);
  return out;
}

function checkTrain(t: Test, images: LabeledImage[]): void {
  t.same(images.map((image) => image.name), TRAIN_ORDER);
  t.same(images.map((image) => image.index), [0, 1, 2, 3, 4, 5]);
  t.same(images.map((image) => CLASSES[image.label]), ['Zebra', 'ant', 'cat', 'cat', 'dog', 'dog']);
  t.same(images.map((image) => image.encoded?.format), ['png', 'jpeg', 'png', 'jpeg', 'jpeg', 'jpeg']);
  for (const image of images) t.ok(image.encoded?.bytes.equals(TREE[image.name]), `${image.name}: bytes passed through`);
  t.ok(images.every((image) => image.pixels === undefined));
}

t.test('a directory tree: sorted classes (byte order, union of splits) and files, bytes unchanged', async (t) => {
  const root = t.testdir();
  writeTree(root);
  const train = await openImageFolder({ kind: 'dir', path: root }, 'train');
  t.same(train.classNames, CLASSES);
  t.equal(train.count, 6);
  t.equal(train.skipped, 2, 'notes.txt and README');
  checkTrain(t, await collect(train.images()));
  const test = await openImageFolder({ kind: 'dir', path: root }, 'test');
  t.same(test.classNames, CLASSES, 'labels agree with train although test lacks two classes');
  t.same((await collect(test.images())).map((image) => [image.name, image.label]), [['test/cat/t1.jpg', 2], ['test/dog/t2.png', 3]]);
});

t.test('a directory holding one top-level directory is accepted', async (t) => {
  const outer = t.testdir();
  writeTree(join(outer, 'cifar'));
  const train = await openImageFolder({ kind: 'dir', path: outer }, 'train');
  checkTrain(t, await collect(train.images()));
});

t.test('a .tar.gz with a leading directory and members out of order yields the same sorted listing', async (t) => {
  const dir = t.testdir();
  writeTree(join(dir, 'top'));
  const archive = join(dir, 'folder.tar.gz');
  const shuffled = Object.keys(TREE).reverse().map((path) => `top/${path}`);
  execFileSync('tar', ['-czf', archive, '-C', dir, ...shuffled]);
  const train = await openImageFolder({ kind: 'archive', path: archive }, 'train');
  t.same(train.classNames, CLASSES);
  t.equal(train.skipped, 2);
  checkTrain(t, await collect(train.images()));
  const test = await collect((await openImageFolder({ kind: 'archive', path: archive }, 'test')).images());
  t.same(test.map((image) => [image.name, image.label, image.encoded?.format]), [['test/cat/t1.jpg', 2, 'jpeg'], ['test/dog/t2.png', 3, 'png']]);
});

t.test('a file that is neither JPEG nor PNG is an error naming it', async (t) => {
  const root = t.testdir();
  mkdirSync(join(root, 'train', 'cat'), { recursive: true });
  writeFileSync(join(root, 'train', 'cat', 'bad.jpg'), 'GIF89a');
  const source = await openImageFolder({ kind: 'dir', path: root }, 'train');
  await t.rejects(collect(source.images()), new DataFormatError(join(root, 'train', 'cat', 'bad.jpg'), 0, 'not a JPEG or PNG file (starts with 47494638)'));
  await t.rejects(openImageFolder({ kind: 'dir', path: root }, 'test'), new UsageError(`${root}: split 'test' not found: no test/<class>/<image>.jpg|jpeg|png files`));
});

t.test('listing helpers', async (t) => {
  t.equal(splitRootDepth([['train', 'a', 'x.jpg']]), 0);
  t.equal(splitRootDepth([['top', 'test', 'a', 'x.png'], ['top', 'readme']]), 1);
  t.equal(splitRootDepth([['a', 'train', 'c', 'x.png'], ['b', 'train', 'c', 'y.png']]), undefined, 'two top-level directories are not one data set');
  const listing = listImageFolder([{ parts: ['train', 'é', '1.jpg'], ref: 'e' }, { parts: ['train', 'z', '1.jpg'], ref: 'z' }], 'train');
  t.same(listing.classNames, ['z', 'é'], 'UTF-8 byte order, as Python sorts');
});

t.test('inOrder yields by position, buffering early items, and reports gaps and duplicates', async (t) => {
  async function* items(list: number[]): AsyncGenerator<number> {
    yield* list;
  }
  const opts = (total: number) => ({
    position: (n: number) => n,
    total,
    missing: (i: number) => new Error(`missing ${i}`),
    duplicate: (n: number) => new Error(`duplicate ${n}`),
  });
  const out: number[] = [];
  for await (const n of inOrder(items([2, 0, 3, 1, 4]), opts(5))) out.push(n);
  t.same(out, [0, 1, 2, 3, 4]);
  await t.rejects(collectNumbers(inOrder(items([1, 0, 3]), opts(4))), new Error('missing 2'));
  await t.rejects(collectNumbers(inOrder(items([0, 0]), opts(2))), new Error('duplicate 0'));
});

async function collectNumbers(items: AsyncIterable<number>): Promise<number[]> {
  const out: number[] = [];
  for await (const n of items) out.push(n);
  return out;
}

t.test('the shared cifar10-jpeg.tar.gz: 50,000 train and 10,000 test images in the official class order', { skip: datasetSkip('cifar10-jpeg.tar.gz') }, async (t) => {
  const archive = datasetPath('cifar10-jpeg.tar.gz');
  const official = ['airplane', 'automobile', 'bird', 'cat', 'deer', 'dog', 'frog', 'horse', 'ship', 'truck'];
  const probes = new Map<string, Buffer | undefined>([['train/airplane/0000.jpg', undefined], ['train/truck/4999.jpg', undefined], ['test/frog/0500.jpg', undefined]]);
  const started = Date.now();
  for (const [split, total, perClass] of [['train', 50_000, 5_000], ['test', 10_000, 1_000]] as const) {
    const source = await openImageFolder({ kind: 'archive', path: archive }, split);
    t.same(source.classNames, official);
    t.equal(source.count, total);
    t.equal(source.skipped, 0);
    const counts = new Array<number>(10).fill(0);
    let next = 0;
    let misordered = 0;
    for await (const image of source.images()) {
      if (image.index !== next++ || image.encoded?.format !== 'jpeg' || official[image.label] !== image.name.split('/')[1]) misordered++;
      counts[image.label]++;
      if (probes.has(image.name)) probes.set(image.name, image.encoded?.bytes);
    }
    t.equal(next, total, `${split}: image count`);
    t.equal(misordered, 0, `${split}: indices in order, labels match class folders, all JPEG`);
    t.same(counts, new Array(10).fill(perClass), `${split}: images per class`);
  }
  t.comment(`two passes per split over the archive took ${Date.now() - started} ms`);
  for (const [member, bytes] of probes) {
    const expected = execFileSync('tar', ['-xzOf', archive, member], { maxBuffer: 1 << 20 });
    t.ok(bytes?.equals(expected), `${member}: same bytes as tar extracts`);
  }
});
