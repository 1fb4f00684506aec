import t from 'tap';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { LocalFileSink } from '../../../trainer/io/local-source.js';
import { IndexedRecordIOWriter } from '../../../trainer/data/recordio/indexed-writer.js';
import { packImageRecord } from '../../../trainer/data/recordio/image-record.js';
import { runTrainerCli } from '../../helpers/cli.js';

const MAGIC_LE = Buffer.from([0x0a, 0x23, 0xd7, 0xce]);

async function writeSample(dir: string): Promise<{ rec: string; images: Buffer[]; labels: number[][] }> {
  const rec = join(dir, 'sample.rec');
  const writer = new IndexedRecordIOWriter(new LocalFileSink(rec), new LocalFileSink(join(dir, 'sample.idx')));
  const images: Buffer[] = [];
  const labels: number[][] = [];
  for (let i = 0; i < 12; i++) {
    // Every third image carries the magic at an aligned offset, so the record is split in parts.
    const image = Buffer.concat([Buffer.from([0xff, 0xd8, 0xff, i]), i % 3 === 0 ? MAGIC_LE : Buffer.alloc(0), Buffer.alloc(10 + i, i)]);
    const label = i % 4 === 3 ? [i % 10, 7] : [i % 10];
    images.push(image);
    labels.push(label);
    await writer.write(i, packImageRecord({ labels: label, id: i }, image));
  }
  await writer.commit();
  return { rec, images, labels };
}

t.test('--json lists each record with its id, labels and image hash', async (t) => {
  const { rec, images, labels } = await writeSample(t.testdir());
  const { code, stdout } = await runTrainerCli(['inspect', rec, '--json']);
  t.equal(code, 0);
  const rows = stdout.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
  t.equal(rows.length, 12);
  rows.forEach((row, i) => {
    t.equal(row.index, i);
    t.equal(row.id, i);
    t.equal(row.id2, 0);
    t.same(row.labels, labels[i]);
    t.equal(row.payloadBytes, images[i].length);
    t.equal(row.payloadSha256, createHash('sha256').update(images[i]).digest('hex'));
  });
  t.equal(rows[0].offset, 0);
  t.ok((rows[1].offset as number) > 0 && (rows[1].offset as number) % 4 === 0, 'offsets are record starts');
});

t.test('--part lists only that part; the parts together list every record once', async (t) => {
  const { rec } = await writeSample(t.testdir());
  const seen: number[] = [];
  for (let i = 0; i < 3; i++) {
    const { code, stdout } = await runTrainerCli(['inspect', rec, '--json', '--part', `${i}/3`]);
    t.equal(code, 0);
    for (const line of stdout.trim().split('\n').filter(Boolean)) seen.push((JSON.parse(line) as { id: number }).id);
  }
  t.same(seen, Array.from({ length: 12 }, (_, i) => i));
});

t.test('the human summary counts labels, formats, shards and checks the index', async (t) => {
  const { rec } = await writeSample(t.testdir());
  const { code, stdout } = await runTrainerCli(['inspect', rec, '--shards', '3']);
  t.equal(code, 0);
  t.match(stdout, /records: +12 \(12 MXNet image records\)/);
  t.match(stdout, /image formats: jpeg 12/);
  t.match(stdout, /^ +7,7 +1$/m, 'multi-label records counted under their label list');
  t.match(stdout, /3 parts: \d+ \d+ \d+/);
  t.match(stdout, /sample\.idx: 12 entries, all at record starts/);
});

t.test('bad input: usage errors name the flag, corrupt files name the offset', async (t) => {
  const none = await runTrainerCli(['inspect']);
  t.equal(none.code, 2);
  t.match(none.stderr, /expected exactly one FILE\.rec/);
  const badPart = await runTrainerCli(['inspect', 'x.rec', '--part', '3/3']);
  t.equal(badPart.code, 2);
  t.match(badPart.stderr, /--part needs 0 <= I < N/);
  const dir = t.testdir({ 'bad.rec': Buffer.from('this is not recordio at all') });
  const bad = await runTrainerCli(['inspect', join(dir, 'bad.rec')]);
  t.equal(bad.code, 1);
  t.match(bad.stderr, /bad\.rec: at byte offset 0/);
});
