/**
 * Hostile RecordIO inputs (issue 14, findings 6, 7, 12): labels outside the classes, an
 * index that lies about its .rec, and inspect's index check and shard bounds. Files are
 * built here; runs are real CLI processes with their peak RSS measured.
 */
import t from 'tap';
import { writeFile } from 'node:fs/promises';
import { createWriteStream } from 'node:fs';
import { once } from 'node:events';
import { join } from 'node:path';
import { IndexedRecordIOWriter } from '../../../../trainer/data/recordio/indexed-writer.js';
import { packImageRecord } from '../../../../trainer/data/recordio/image-record.js';
import { LocalFileSink } from '../../../../trainer/io/local-source.js';
import { encodePng } from '../../../../trainer/data/image/encode.js';
import { runTrainerMeasured, underLimit } from '../../../helpers/peak-rss.js';

/** A .rec/.idx pair of `labels.length` 32x32 PNG records; returns the .rec path and record offsets. */
async function packed(prefix: string, labels: number[]): Promise<{ rec: string; offsets: number[] }> {
  const writer = new IndexedRecordIOWriter(new LocalFileSink(`${prefix}.rec`), new LocalFileSink(`${prefix}.idx`));
  const offsets: number[] = [];
  for (const [i, label] of labels.entries()) {
    const png = encodePng(new Uint8Array(32 * 32 * 3).fill((i * 13) & 255), 32, 32);
    offsets.push(await writer.write(i, packImageRecord({ labels: [label], id: i }, png)));
  }
  await writer.commit();
  return { rec: `${prefix}.rec`, offsets };
}

const TRAIN = ['train', '--model', 'lenet', '--epochs', '1', '--batch-size', '2', '--backend', 'cpu', '--prefetch-workers', '0'];

t.test('labels outside [0, numClasses) are refused, naming the record', async (t) => {
  const dir = t.testdir();
  const high = await packed(join(dir, 'high'), [0, 1, 99, 2]);
  const huge = await packed(join(dir, 'huge'), [1e9, 0]);
  const [a, b] = await Promise.all([
    runTrainerMeasured([...TRAIN, '--data-train', high.rec]),
    runTrainerMeasured([...TRAIN, '--data-train', huge.rec]),
  ]);
  t.equal(a.code, 1, a.stderr);
  t.match(a.stderr, `high.rec: at byte offset ${high.offsets[2]}: label 99 is not a class index in [0, 9] (--num-classes 10)`);
  t.equal(b.code, 1, b.stderr);
  t.match(b.stderr, 'huge.rec: at byte offset 0: label 1000000000 is not a class index in [0, 9]');
  underLimit(t, a, 'train');
  underLimit(t, b, 'train');
});

t.test('an index that lies about its .rec is refused, naming the index; inspect exits 1 for it', async (t) => {
  const dir = t.testdir();
  const { rec } = await packed(join(dir, 'data'), Array.from({ length: 200 }, (_, i) => i % 10));
  // 2 million lines beside a 200-record .rec.
  const idx = join(dir, 'data.idx');
  const out = createWriteStream(idx);
  for (let i = 0; i < 2_000_000; i += 10_000) {
    let block = '';
    for (let j = i; j < i + 10_000; j++) block += `${j}\t${j * 4}\n`;
    if (!out.write(block)) await once(out, 'drain');
  }
  out.end();
  await once(out, 'close');
  const [train, inspect] = await Promise.all([runTrainerMeasured([...TRAIN, '--data-train', rec]), runTrainerMeasured(['inspect', rec])]);
  t.equal(train.code, 1, train.stderr);
  t.match(train.stderr, /data\.idx: line \d+: (more entries than .*data\.rec \(\d+ bytes\) can hold records|offset \d+ cannot be a record start)/);
  t.notMatch(train.stderr, /Invalid typed array length/);
  underLimit(t, train, 'train');
  t.equal(inspect.code, 1, 'inspect: a bad index is a failure');
  t.match(inspect.stdout, /index: +.*data\.idx: line/);
  underLimit(t, inspect, 'inspect');

  // Every entry at offset 0: each key "finds" a record start, but they cannot all be right.
  await writeFile(idx, Array.from({ length: 200 }, (_, i) => `${i}\t0\n`).join(''));
  const zero = await runTrainerMeasured(['inspect', rec]);
  t.equal(zero.code, 1, zero.stdout);
  t.match(zero.stdout, /data\.idx: line 2: offset 0 repeats the offset of line 1/);
  t.notMatch(zero.stdout, /all at record starts/);
});

t.test('inspect --part checks only the part, and --shards is bounded', async (t) => {
  const dir = t.testdir();
  const { rec } = await packed(join(dir, 'ok'), Array.from({ length: 600 }, (_, i) => i % 10));
  const part = await runTrainerMeasured(['inspect', rec, '--part', '1/4']);
  t.equal(part.code, 0, part.stdout);
  t.match(part.stdout, /index: +.*ok\.idx: 150 of 600 entries in this part, all at record starts/);
  const whole = await runTrainerMeasured(['inspect', rec]);
  t.equal(whole.code, 0);
  t.match(whole.stdout, /ok\.idx: 600 entries, all at record starts/);
  const shards = await runTrainerMeasured(['inspect', rec, '--shards', '100000000'], {}, 60_000);
  t.equal(shards.code, 2, 'a usage error, at once');
  t.match(shards.stderr, /--shards: '100000000' is not an integer from 1 to 4096/);
  underLimit(t, shards, 'inspect');
});
