import t, { type Test } from 'tap';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DataFormatError, UsageError } from '../../../../trainer/util/errors.js';
import { openBinaryBatches } from '../../../../trainer/data/cifar/binary-batches.js';
import type { LabeledImage, Split } from '../../../../trainer/data/cifar/labeled-image.js';
import { openImageSource } from '../../../../trainer/data/cifar/open-image-source.js';
import { planarToHwc } from '../../../../trainer/data/cifar/planar.js';
import { openPythonBatches } from '../../../../trainer/data/cifar/python-batches.js';
import { splitFiles } from '../../../../trainer/data/cifar/split-files.js';
import { datasetPath, datasetSkip } from '../../../helpers/datasets.js';

const MINI = ['official-format-mini'];
const PY_DIR = datasetPath(...MINI, 'cifar-10-batches-py');
const BIN_DIR = datasetPath(...MINI, 'cifar-10-batches-bin');
const CLASSES = ['airplane', 'automobile', 'bird', 'cat', 'deer', 'dog', 'frog', 'horse', 'ship', 'truck'];
const RECORD = 3073;

async function collect(images: AsyncIterable<LabeledImage>): Promise<LabeledImage[]> {
  const out: LabeledImage[] = [];
  for await (const image of images) out.push(image);
  return out;
}

/** A scratch directory outside the repository (data set bytes must not land in it), removed afterwards. */
function scratch(t: Test): string {
  const dir = mkdtempSync(join(tmpdir(), 'cifar-batches-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** Pixel (y, x, channel) of record `row` of a binary batch file, read straight from its bytes. */
function binaryPixel(file: Buffer, row: number, y: number, x: number, c: number): number {
  return file[row * RECORD + 1 + c * 1024 + y * 32 + x];
}

t.test('planarToHwc interleaves the three planes', async (t) => {
  const src = new Uint8Array(3072);
  for (let p = 0; p < 1024; p++) [src[p], src[1024 + p], src[2048 + p]] = [p & 0xff, (p >> 2) & 0xff, 255 - (p & 0xff)];
  const dst = new Uint8Array(3072 + 5);
  planarToHwc(src, 0, dst, 5);
  t.same([...dst.subarray(5, 11)], [0, 0, 255, 1, 0, 254]);
  const p = 33 * 31; // y=31, x=...; any interior pixel
  t.same([...dst.subarray(5 + 3 * p, 5 + 3 * p + 3)], [src[p], src[1024 + p], src[2048 + p]]);
});

t.test('train split files stop early but may not have gaps', async (t) => {
  const layout = { train: ['b1', 'b2', 'b3'], test: 'tb' };
  t.same(splitFiles('train', layout, new Set(['b1', 'b2', 'tb']), 'd'), ['b1', 'b2']);
  t.throws(() => splitFiles('train', layout, new Set(['b1', 'b3']), 'd'), new DataFormatError('d', undefined, 'b2 is missing but b3 is present'));
  t.throws(() => splitFiles('test', layout, new Set(['b1']), 'd'), UsageError);
  t.throws(() => splitFiles('train', layout, new Set(['tb']), 'd'), /split 'train' not found: no b1/);
});

t.test('binary batches: labels and HWC pixels match the file bytes', { skip: datasetSkip(...MINI, 'cifar-10-batches-bin') }, async (t) => {
  const source = await openBinaryBatches({ kind: 'dir', path: BIN_DIR }, 'train');
  t.same(source.classNames, CLASSES);
  t.equal(source.count, 1000);
  const images = await collect(source.images());
  t.equal(images.length, 1000);
  const files = [readFileSync(join(BIN_DIR, 'data_batch_1.bin')), readFileSync(join(BIN_DIR, 'data_batch_2.bin'))];
  images.forEach((image, i) => {
    const [file, row] = [files[Math.floor(i / 500)], i % 500];
    if (image.index !== i || image.label !== file[row * RECORD] || image.pixels === undefined) {
      t.fail(`image ${i}: index ${image.index}, label ${image.label}, expected label ${file[row * RECORD]}`);
    }
  });
  const last = images[999].pixels;
  t.ok(last !== undefined && last.width === 32 && last.height === 32 && last.data.length === 3072);
  for (const [i, y, x] of [[0, 0, 0], [1, 5, 7], [999, 31, 31], [600, 16, 2]]) {
    const data = images[i].pixels?.data ?? new Uint8Array(0);
    for (let c = 0; c < 3; c++) t.equal(data[(y * 32 + x) * 3 + c], binaryPixel(files[Math.floor(i / 500)], i % 500, y, x, c), `image ${i} (${y}, ${x}) channel ${c}`);
  }
  t.equal(images[501].name, 'data_batch_2.bin#1');
  t.same(images.slice(0, 10).map((image) => image.label), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
});

t.test('python batches hold the same labels and pixels as the binary ones', { skip: datasetSkip(...MINI) }, async (t) => {
  for (const split of ['train', 'test'] as Split[]) {
    const py = await openPythonBatches({ kind: 'dir', path: PY_DIR }, split);
    const bin = await openBinaryBatches({ kind: 'dir', path: BIN_DIR }, split);
    t.same(py.classNames, CLASSES);
    const [a, b] = [await collect(py.images()), await collect(bin.images())];
    t.equal(a.length, split === 'train' ? 1000 : 500);
    t.equal(a.length, b.length);
    const mismatch = a.findIndex((image, i) => image.label !== b[i].label || image.index !== i || Buffer.compare(image.pixels?.data ?? new Uint8Array(0), b[i].pixels?.data ?? new Uint8Array(1)) !== 0);
    t.equal(mismatch, -1, `${split}: every image equal`);
    t.equal(a[0].name, `airplane_${split}_0000.png`, 'names come from the batch filenames');
  }
});

t.test('the official archives load like the directories, whatever their member order', { skip: datasetSkip(...MINI) }, async (t) => {
  const dir = scratch(t);
  const root = datasetPath(...MINI);
  // Member order as in the official archives: batches out of order, meta in the middle.
  const pyArchive = join(dir, 'cifar-10-python.tar.gz');
  execFileSync('tar', ['-czf', pyArchive, '-C', root, 'cifar-10-batches-py/data_batch_2', 'cifar-10-batches-py/test_batch', 'cifar-10-batches-py/batches.meta', 'cifar-10-batches-py/data_batch_1']);
  const binArchive = join(dir, 'cifar-10-binary.tar.gz');
  execFileSync('tar', ['-czf', binArchive, '-C', root, 'cifar-10-batches-bin/test_batch.bin', 'cifar-10-batches-bin/data_batch_2.bin', 'cifar-10-batches-bin/batches.meta.txt', 'cifar-10-batches-bin/data_batch_1.bin']);
  const reference = await collect((await openBinaryBatches({ kind: 'dir', path: BIN_DIR }, 'train')).images());
  for (const [archive, kind] of [[pyArchive, 'python'], [binArchive, 'binary']]) {
    const source = await openImageSource(archive, { split: 'train' });
    t.equal(source.kind, kind);
    t.same(source.classNames, CLASSES);
    const images = await collect(source.images());
    t.equal(images.length, 1000);
    const mismatch = images.findIndex((image, i) => image.index !== i || image.label !== reference[i].label || Buffer.compare(image.pixels?.data ?? new Uint8Array(0), reference[i].pixels?.data ?? new Uint8Array(1)) !== 0);
    t.equal(mismatch, -1, `${kind} archive: batches in data_batch_1, data_batch_2 order`);
  }
});

t.test('binary batch errors name the file and offset', { skip: datasetSkip(...MINI, 'cifar-10-batches-bin') }, async (t) => {
  const dir = join(scratch(t), 'cifar-10-batches-bin');
  mkdirSync(dir);
  const meta = readFileSync(join(BIN_DIR, 'batches.meta.txt'));
  writeFileSync(join(dir, 'batches.meta.txt'), meta);
  const file = readFileSync(join(BIN_DIR, 'test_batch.bin'));
  const short = join(dir, 'test_batch.bin');
  writeFileSync(short, file.subarray(0, file.length - 100));
  await t.rejects(
    openBinaryBatches({ kind: 'dir', path: dir }, 'test'),
    new DataFormatError(short, 499 * RECORD, `file size ${file.length - 100} is not a multiple of the 3073-byte record: 2973 trailing bytes`),
  );
  const badLabel = Buffer.from(file);
  badLabel[3 * RECORD] = 10;
  writeFileSync(short, badLabel);
  const source = await openBinaryBatches({ kind: 'dir', path: dir }, 'test');
  await t.rejects(collect(source.images()), new DataFormatError(short, 3 * RECORD, 'record 3 has label 10, but there are only 10 classes'));
});

t.test('python batch errors name the file', { skip: datasetSkip(...MINI, 'cifar-10-batches-py') }, async (t) => {
  const dir = join(scratch(t), 'cifar-10-batches-py');
  mkdirSync(dir);
  writeFileSync(join(dir, 'batches.meta'), readFileSync(join(PY_DIR, 'batches.meta')));
  const batch = readFileSync(join(PY_DIR, 'test_batch'));
  const cut = join(dir, 'test_batch');
  writeFileSync(cut, batch.subarray(0, 100_000));
  const source = await openPythonBatches({ kind: 'dir', path: dir }, 'test');
  await t.rejects(collect(source.images()), { name: 'DataFormatError', message: new RegExp(`^${cut}: at byte offset 156: pickle opcode BINSTRING \\(0x54\\): truncated`) });
  await t.rejects(openPythonBatches({ kind: 'dir', path: dir }, 'train'), new UsageError(`${dir}: split 'train' not found: no data_batch_1`));
});
