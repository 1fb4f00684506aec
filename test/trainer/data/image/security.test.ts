/**
 * Hostile images and archives (issue 14, findings 2, 4, 5, 9): each file is built here,
 * each run is a real CLI process whose peak RSS is measured, and each must end in a clear
 * error naming the file and the flag that would raise the limit, well under 600 MB.
 */
import t from 'tap';
import { existsSync, readdirSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { IndexedRecordIOWriter } from '../../../../trainer/data/recordio/indexed-writer.js';
import { packImageRecord } from '../../../../trainer/data/recordio/image-record.js';
import { LocalFileSink, LocalFileSource } from '../../../../trainer/io/local-source.js';
import { decodeImage } from '../../../../trainer/data/image/decode.js';
import { encodePng } from '../../../../trainer/data/image/encode.js';
import { DataFormatError } from '../../../../trainer/util/errors.js';
import { runTrainerMeasured, underLimit, type MeasuredRun } from '../../../helpers/peak-rss.js';
import { jpegClaiming, sparseFile, truncatedPng, writeTarGzBomb } from '../../../helpers/hostile-files.js';

const GiB = 1024 * 1024 * 1024;

async function oneRecordRec(path: string, image: Uint8Array): Promise<void> {
  const writer = new IndexedRecordIOWriter(new LocalFileSink(path), new LocalFileSink(path.replace(/\.rec$/, '.idx')));
  await writer.write(0, packImageRecord({ labels: [0], id: 0 }, image));
  await writer.commit();
}

const TRAIN = ['train', '--model', 'lenet', '--epochs', '1', '--batch-size', '1', '--backend', 'cpu', '--prefetch-workers', '0'];

t.test('a 288-byte PNG declaring 30000x30000 is refused from its header, naming the record', async (t) => {
  const dir = t.testdir();
  const bomb = truncatedPng(30000, 30000, 1);
  t.ok(bomb.length < 1024, `the bomb is ${bomb.length} bytes`);
  const rec = join(dir, 'bomb.rec');
  await oneRecordRec(rec, bomb);
  const run = await runTrainerMeasured([...TRAIN, '--data-train', rec]);
  t.equal(run.code, 1, 'bad data: exit 1');
  t.match(run.stderr, /bomb\.rec#offset=0: PNG image declares 30000x30000 pixels, over the limit of 4096 per side \(--max-image-side\)/);
  underLimit(t, run, 'train');
});

t.test('truncated PNG data is an error naming the record, not a zero-filled image', async (t) => {
  const dir = t.testdir();
  const rec = join(dir, 'short.rec');
  await oneRecordRec(rec, truncatedPng(1000, 1000, 10));
  const run = await runTrainerMeasured([...TRAIN, '--data-train', rec]);
  t.equal(run.code, 1);
  t.match(run.stderr, /short\.rec#offset=0: corrupt PNG image: image data is truncated: 30010 of the 3001000 bytes a 1000x1000 image needs/);
  underLimit(t, run, 'train');
  // The same through the decoder directly, for a PNG cut anywhere inside its data.
  const whole = Buffer.from(encodePng(new Uint8Array(8 * 8 * 3).map((_, i) => i * 7), 8, 8));
  for (const cut of [whole.length - 12, whole.length - 20, 40]) {
    t.throws(() => decodeImage(whole.subarray(0, cut), 'cut.png'), DataFormatError, `cut at ${cut} of ${whole.length}`);
  }
  t.equal(decodeImage(whole, 'whole.png').width, 8, 'the uncut PNG decodes');
});

t.test('a 1 KB JPEG claiming 8000x8000 is refused before decoding', async (t) => {
  const dir = t.testdir();
  const claim = jpegClaiming(8000, 8000);
  t.ok(claim.length < 2048, `the JPEG is ${claim.length} bytes`);
  await mkdir(join(dir, 'src', 'train', 'cat'), { recursive: true });
  await writeFile(join(dir, 'src', 'train', 'cat', 'big.jpg'), claim);
  // The second run: a smaller limit refuses more (raising it is how larger images get in).
  const [run, strict] = await Promise.all([
    runTrainerMeasured(['pack', '--from', join(dir, 'src'), '--out', join(dir, 'out')]),
    runTrainerMeasured(['pack', '--from', join(dir, 'src'), '--out', join(dir, 'out'), '--max-image-side', '8']),
  ]);
  t.equal(run.code, 1);
  t.match(run.stderr, /big\.jpg: JPEG image declares 8000x8000 pixels, over the limit of 4096 per side \(--max-image-side\)/);
  underLimit(t, run, 'pack');
  t.match(strict.stderr, /over the limit of 8 per side/);
});

t.test('a tar.gz bomb of three 200 MB "JPEG" members is refused from the member header; the archive limit holds too', async (t) => {
  const dir = t.testdir();
  const archive = join(dir, 'bomb.tar.gz');
  const jpegMagic = Buffer.from([0xff, 0xd8, 0xff, 0xe0]);
  await writeTarGzBomb(
    archive,
    ['a', 'b', 'c'].map((n) => ({ name: `cifar/train/cat/${n}.jpg`, size: 200 * 1024 * 1024, head: jpegMagic })),
  );
  const encodings = ['passthrough', 'jpg'];
  const [capped, ...runs] = await Promise.all([
    runTrainerMeasured(['pack', '--from', archive, '--out', join(dir, 'capped'), '--max-image-bytes', '512M', '--max-archive-bytes', '300M']),
    ...encodings.map((encoding) => runTrainerMeasured(['pack', '--from', archive, '--out', join(dir, `out-${encoding}`), '--encoding', encoding])),
  ]);
  for (const [i, encoding] of encodings.entries()) {
    const out = join(dir, `out-${encoding}`);
    const run = runs[i] as MeasuredRun;
    t.equal(run.code, 1, `${encoding}: exit 1`);
    t.match(run.stderr, /member "cifar\/train\/cat\/a\.jpg" is 209715200 bytes, over the limit of 67108864 bytes \(--max-image-bytes\)/, encoding);
    t.notOk(existsSync(`${out}.rec`), `${encoding}: no .rec written`);
    t.same(readdirSync(dir).filter((f) => f.endsWith('.tmp')), [], `${encoding}: no temporary file left`);
    underLimit(t, run, `pack --encoding ${encoding}`);
  }
  t.equal(capped.code, 1);
  t.match(capped.stderr, /archive goes past the limit of 314572800 uncompressed bytes \(--max-archive-bytes\)/);
  underLimit(t, capped, 'pack with a raised member limit');
});

t.test('an archive stored far out of order is refused once the members held ahead pass the limit', async (t) => {
  const dir = t.testdir();
  const archive = join(dir, 'reversed.tar.gz');
  const jpegMagic = Buffer.from([0xff, 0xd8, 0xff, 0xe0]);
  // 24 members of 16 MB in reverse name order: the first in sorted order comes last, so
  // reading in listing order would hold all 384 MB of the others first.
  const names = Array.from({ length: 24 }, (_, i) => `train/cat/${String(i).padStart(2, '0')}.jpg`).reverse();
  await writeTarGzBomb(archive, names.map((name) => ({ name, size: 16 * 1024 * 1024, head: jpegMagic })));
  const run = await runTrainerMeasured(['pack', '--from', archive, '--out', join(dir, 'out')]);
  t.equal(run.code, 1);
  t.match(run.stderr, /reversed\.tar\.gz: members are stored far from their sorted order: \d+ bytes arrived before train\/cat\/00\.jpg, over the limit of 134217728 bytes held \(half of --max-file-bytes\)/);
  underLimit(t, run, 'pack');
});

t.test('files of 2 GiB and more are refused by size, never read whole (and never abort Node)', async (t) => {
  const dir = t.testdir();
  const bin = join(dir, 'cifar-10-batches-bin');
  await mkdir(bin);
  await writeFile(join(bin, 'batches.meta.txt'), 'airplane\nautomobile\n');
  // Whole 3073-byte records, so the size check passes and the file would be read whole.
  const size = 3073 * 700_000;
  t.ok(size > 2 * GiB, `the batch file is ${size} bytes`);
  await sparseFile(join(bin, 'data_batch_1.bin'), size);
  for (const n of [2, 3, 4, 5]) await writeFile(join(bin, `data_batch_${n}.bin`), Buffer.alloc(3073));
  const folder = join(dir, 'folder', 'train', 'cat');
  await mkdir(folder, { recursive: true });
  await sparseFile(join(folder, 'huge.png'), 2 * GiB + 4096, Buffer.from([0x89, 0x50, 0x4e, 0x47]));
  const [run, image] = await Promise.all([
    runTrainerMeasured(['pack', '--from', bin, '--out', join(dir, 'out')]),
    runTrainerMeasured(['pack', '--from', join(dir, 'folder'), '--out', join(dir, 'out2')]),
  ]);
  t.equal(run.code, 1, `exit 1, not an abort (signal ${run.signal})`);
  t.match(run.stderr, new RegExp(`data_batch_1\\.bin: file of ${size} bytes is over the limit of 268435456 bytes for a file read whole \\(--max-file-bytes\\)`));
  underLimit(t, run, 'pack');

  t.equal(image.code, 1);
  t.match(image.stderr, /huge\.png: file of 2147487744 bytes is over the limit of 67108864 bytes for a file read whole \(--max-image-bytes\)/);
  underLimit(t, image, 'pack');

  // A read of any length goes to the kernel in pieces below 2^31 bytes.
  const small = join(dir, 'pieces.bin');
  await writeFile(small, Buffer.from(Array.from({ length: 1000 }, (_, i) => i % 251)));
  const source = new LocalFileSource(small, 64);
  const read = await source.read(10, 900);
  await source.close();
  t.same([...read.subarray(0, 3), read.length, read[899]], [10, 11, 12, 900, 909 % 251], 'a read in 64-byte pieces returns the same bytes');
});
