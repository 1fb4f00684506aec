import t, { type Test } from 'tap';
import { createHash } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { LocalFileSource } from '../../../../trainer/io/local-source.js';
import { readRecords } from '../../../../trainer/data/recordio/reader.js';
import { unpackImageRecord } from '../../../../trainer/data/recordio/image-record.js';
import { parseIndex } from '../../../../trainer/data/recordio/index-file.js';
import { encodeJpeg, encodePng } from '../../../../trainer/data/image/encode.js';
import { parseIm2recList } from '../../../../trainer/data/pack/im2rec-list.js';
import { openImageSource } from '../../../../trainer/data/cifar/open-image-source.js';
import { loadDataset } from '../../../../trainer/data/dataset.js';
import { Rng } from '../../../../trainer/util/rng.js';
import { runTrainerCli } from '../../../helpers/cli.js';

interface PackedRecord {
  key: number;
  id: number;
  flag: number;
  labels: number[];
  imageSha256: string;
  payloadSha256: string;
}

function image(seed: number, png: boolean): Buffer {
  const rng = new Rng(seed);
  const pixels = new Uint8Array(8 * 8 * 3).map(() => rng.int(256));
  return Buffer.from(png ? encodePng(pixels, 8, 8) : encodeJpeg(pixels, 8, 8, 90));
}

// Classes and files deliberately out of order; 'Zebra' sorts before 'cat' in byte order.
const FILES: Record<string, Buffer> = {
  'dog/2.jpg': image(1, false),
  'dog/10.jpg': image(2, false),
  'cat/b.png': image(3, true),
  'cat/a.jpg': image(4, false),
  'Zebra/z.jpeg': image(5, false),
};
const SORTED = ['Zebra/z.jpeg', 'cat/a.jpg', 'cat/b.png', 'dog/10.jpg', 'dog/2.jpg'];
const CLASSES = ['Zebra', 'cat', 'dog'];

function writeFiles(root: string, prefix = ''): void {
  for (const [path, bytes] of Object.entries(FILES)) {
    mkdirSync(join(root, prefix, path, '..'), { recursive: true });
    writeFileSync(join(root, prefix, path), bytes);
  }
}

async function packedRecords(prefix: string): Promise<PackedRecord[]> {
  const keys = new Map(parseIndex(await readFile(`${prefix}.idx`, 'utf8'), `${prefix}.idx`).map((e) => [e.offset, e.key]));
  const source = new LocalFileSource(`${prefix}.rec`);
  const out: PackedRecord[] = [];
  try {
    for await (const { offset, payload } of readRecords(source)) {
      const r = unpackImageRecord(payload, source.uri, offset);
      const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
      out.push({ key: keys.get(offset) ?? -1, id: Number(r.id), flag: r.flag, labels: r.labels, imageSha256: sha(r.image), payloadSha256: sha(payload) });
    }
  } finally {
    await source.close();
  }
  return out;
}

async function pack(t: Test, args: string[]): Promise<{ stdout: string; stderr: string }> {
  const result = await runTrainerCli(['pack', ...args]);
  t.equal(result.code, 0, result.stderr);
  return result;
}

t.test('a class-folder tree and an im2rec .lst pack to the same records as the <split>/<class> tree', async (t) => {
  const dir = t.testdir();
  writeFiles(join(dir, 'split'), 'train');
  writeFiles(join(dir, 'classes'));
  writeFileSync(join(dir, 'classes', 'notes.txt'), 'not an image, skipped');
  // The list im2rec --list --recursive writes for that tree: index, label, path relative to the root.
  const lst = SORTED.map((path, i) => `${i}\t${CLASSES.indexOf(path.split('/')[0])}.000000\t${path}`).join('\n');
  writeFileSync(join(dir, 'classes.lst'), `${lst}\n`);

  for (const encoding of ['passthrough', 'jpg', 'png']) {
    const out = (name: string) => join(dir, `${name}-${encoding}`);
    const split = await pack(t, ['--from', join(dir, 'split'), '--out', out('split'), '--encoding', encoding]);
    const classes = await pack(t, ['--from', join(dir, 'classes'), '--out', out('classes'), '--encoding', encoding, '--split', 'test']);
    t.match(classes.stderr, /note: --split does not apply to a class-folder source/);
    const list = await pack(t, ['--from', join(dir, 'classes.lst'), '--root', join(dir, 'classes'), '--out', out('list'), '--encoding', encoding]);
    t.match(split.stdout, /from image-folder source/);
    t.match(classes.stdout, /wrote 5 records from class-folder source/);
    t.match(classes.stdout, /labels: 0=Zebra 1=cat 2=dog/);
    t.match(list.stdout, /wrote 5 records from im2rec-list source/);

    const expected = await packedRecords(out('split'));
    t.same(expected.map((r) => r.key), [0, 1, 2, 3, 4], `${encoding}: keys are the listing index`);
    t.same(expected.map((r) => r.labels[0]), [0, 1, 1, 2, 2], `${encoding}: labels from sorted class names`);
    t.same(await packedRecords(out('classes')), expected, `${encoding}: class folders give the same records`);
    t.same(await packedRecords(out('list')), expected, `${encoding}: the .lst gives the same records`);
    if (encoding === 'passthrough') {
      const fileHashes = SORTED.map((p) => createHash('sha256').update(FILES[p]).digest('hex'));
      t.same(expected.map((r) => r.imageSha256), fileHashes, 'passthrough payloads are the files, in sorted order');
    }
  }
});

t.test('an im2rec .lst: keys and ids from its index column, several labels kept as a multi-label header', async (t) => {
  const dir = t.testdir();
  writeFiles(join(dir, 'images'));
  writeFileSync(
    join(dir, 'multi.lst'),
    ['17\t1\t0.5\tcat/a.jpg', '3\t2\t7\tdog/2.jpg', '', '42\t0\tZebra/z.jpeg\r', '8\t4\t5\t6\tcat/b.png'].join('\n'),
  );
  const out = join(dir, 'multi');
  await pack(t, ['--from', join(dir, 'multi.lst'), '--root', join(dir, 'images'), '--out', out, '--encoding', 'passthrough']);
  const records = await packedRecords(out);
  t.same(records.map((r) => r.key), [17, 3, 42, 8], 'keys in list order, from the list');
  t.same(records.map((r) => r.id), [17, 3, 42, 8], 'header ids are the list index');
  t.same(records.map((r) => r.flag), [2, 2, 0, 3], 'one label in the header; several after it, flag = count');
  t.same(records.map((r) => r.labels), [[1, 0.5], [2, 7], [0], [4, 5, 6]]);
  t.same(records.map((r) => r.imageSha256), ['cat/a.jpg', 'dog/2.jpg', 'Zebra/z.jpeg', 'cat/b.png'].map((p) => createHash('sha256').update(FILES[p]).digest('hex')));

  // --shuffle reorders the stored records but keeps the list's keys and ids.
  const shuffled = join(dir, 'shuffled');
  await pack(t, ['--from', join(dir, 'multi.lst'), '--root', join(dir, 'images'), '--out', shuffled, '--encoding', 'passthrough', '--shuffle', '--seed', '3']);
  const byKey = (rs: PackedRecord[]) => [...rs].sort((a, b) => a.key - b.key);
  t.same(byKey(await packedRecords(shuffled)), byKey(records));
});

t.test('im2rec list lines that are wrong are errors naming the line', async (t) => {
  t.throws(() => parseIm2recList('0\t1\ta.jpg\n1\tb.jpg\n', 'x.lst'), /x\.lst: line 2: expected index<TAB>label<TAB>path, got 2 tab-separated fields/);
  t.throws(() => parseIm2recList('a\t1\ta.jpg\n', 'x.lst'), /line 1: index 'a' is not a non-negative integer/);
  t.throws(() => parseIm2recList('0\tcat\ta.jpg\n', 'x.lst'), /line 1: label 1 'cat' is not a number/);
  t.throws(() => parseIm2recList('0\t1\ta.jpg\n\n0\t2\tb.jpg\n', 'x.lst'), /line 3: index 0 already used on line 1/);
  t.throws(() => parseIm2recList('0\t1\t\n', 'x.lst'), /line 1: the image path is empty/);

  const dir = t.testdir({ 'a.lst': '0\t1\tmissing.jpg\n', 'b.lst': '0\t1\tnotes.txt\n', 'notes.txt': 'hello', 'empty.lst': '\n' });
  const run = (args: string[]) => runTrainerCli(['pack', ...args, '--out', join(dir, 'out')]);
  const noRoot = await run(['--from', join(dir, 'a.lst')]);
  t.equal(noRoot.code, 2);
  t.match(noRoot.stderr, /a\.lst: an im2rec \.lst needs --root DIR/);
  const missing = await run(['--from', join(dir, 'a.lst'), '--root', dir]);
  t.equal(missing.code, 1);
  t.match(missing.stderr, /a\.lst: line 1: .*missing\.jpg: cannot open for reading: ENOENT/);
  const notImage = await run(['--from', join(dir, 'b.lst'), '--root', dir]);
  t.match(notImage.stderr, /b\.lst: line 1: .*notes\.txt is not a JPEG or PNG file/);
  const empty = await run(['--from', join(dir, 'empty.lst'), '--root', dir]);
  t.match(empty.stderr, /empty\.lst: the list has no images/);
  const stray = await run(['--from', dir, '--root', dir]);
  t.equal(stray.code, 2);
  t.match(stray.stderr, /--root applies only to an im2rec \.lst source/);
  t.notOk((await readdir(dir)).some((name) => name.startsWith('out')), 'nothing written on failure');
});

t.test('training data may be a class-folder tree: detected and loaded with its labels', async (t) => {
  const dir = t.testdir();
  writeFiles(dir);
  const source = await openImageSource(dir, { split: 'test' });
  t.equal(source.kind, 'class-folder');
  t.same(source.classNames, CLASSES);
  const loaded = await loadDataset({ uri: dir, format: 'auto', split: 'train' });
  t.equal(loaded.cache.count, 5);
  t.same([...loaded.cache.labels], [0, 1, 1, 2, 2]);
  t.same(loaded.classNames, CLASSES);

  // A tree with split folders stays a split tree: its train/ is not a class.
  const splitDir = join(t.testdir(), 'tree');
  writeFiles(splitDir, 'train');
  t.equal((await openImageSource(splitDir, { split: 'train' })).kind, 'image-folder');
});
