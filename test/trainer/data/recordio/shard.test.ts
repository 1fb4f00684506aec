import t from 'tap';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { LocalFileSource } from '../../../../trainer/io/local-source.js';
import { DataFormatError, UsageError } from '../../../../trainer/util/errors.js';
import { Rng } from '../../../../trainer/util/rng.js';
import { encodeRecord, RECORDIO_MAGIC } from '../../../../trainer/data/recordio/format.js';
import { readRecords, type RecordEntry } from '../../../../trainer/data/recordio/reader.js';
import { nominalPartRange, partRange, readPart } from '../../../../trainer/data/recordio/shard.js';
import { MemorySource } from '../../../helpers/recordio-sources.js';

async function collect(records: AsyncIterable<RecordEntry>): Promise<RecordEntry[]> {
  const out: RecordEntry[] = [];
  for await (const r of records) out.push(r);
  return out;
}

/** Records of varied sizes: empty, tiny, large, and multi-part (aligned magics). */
function fixture(seed: number, count: number): { file: Buffer; payloads: Buffer[]; offsets: number[] } {
  const rng = new Rng(seed);
  const payloads: Buffer[] = [];
  for (let i = 0; i < count; i++) {
    const kind = rng.int(6);
    const len = kind === 0 ? 0 : kind === 1 ? rng.int(8) : kind === 2 ? 2000 + rng.int(3000) : rng.int(400);
    const p = Buffer.alloc(len);
    for (let j = 0; j < len; j++) p[j] = rng.int(256);
    if (len >= 12 && rng.int(2) === 0) {
      for (let k = 0; k < 3; k++) p.writeUInt32LE(RECORDIO_MAGIC, 4 * rng.int(Math.floor(len / 4)));
    }
    payloads.push(p);
  }
  const offsets: number[] = [];
  let at = 0;
  const encoded = payloads.map((p) => {
    offsets.push(at);
    const e = encodeRecord(p);
    at += e.length;
    return e;
  });
  return { file: Buffer.concat(encoded), payloads, offsets };
}

/** dmlc's boundary rule computed from known record offsets, independently of the scanner. */
function expectedRange(offsets: number[], total: number, part: number, parts: number): { start: number; end: number } {
  const { start, end } = nominalPartRange(total, part, parts);
  const move = (b: number) => (b === 0 || b === total ? b : (offsets.find((o) => o >= b) ?? total));
  return start === end ? { start, end } : { start: move(start), end: move(end) };
}

t.test('nominal ranges follow InputSplitBase::ResetPartition', async (t) => {
  t.same([0, 1, 2].map((p) => nominalPartRange(100, p, 3)), [
    { start: 0, end: 36 },
    { start: 36, end: 72 },
    { start: 72, end: 100 },
  ], 'nstep = ceil(100/3) = 34 rounded up to 36');
  t.same(nominalPartRange(8, 3, 4), { start: 8, end: 8 }, 'parts past the end are empty');
  t.same(nominalPartRange(0, 0, 2), { start: 0, end: 0 });
  const bad: [number, number, RegExp][] = [
    [0, 0, /numParts must be a positive integer, got 0/],
    [0, 1.5, /numParts/],
    [2, 2, /partIndex must be an integer in \[0, 1\] \(numParts 2\), got 2/],
    [-1, 2, /partIndex/],
    [0.5, 2, /partIndex/],
  ];
  for (const [p, n, pattern] of bad) t.throws(() => nominalPartRange(100, p, n), pattern);
  t.ok(t.throws(() => nominalPartRange(1, 1, 1)) instanceof UsageError);
});

t.test('N = 1..8 parts are disjoint, ordered, cover every record once, and read only their own bytes', async (t) => {
  const { file, payloads, offsets } = fixture(99, 120);
  t.ok(file.length > 60_000, `fixture is ${file.length} bytes`);
  const window = 256;
  for (let n = 1; n <= 8; n++) {
    const seen: RecordEntry[] = [];
    let previousEnd = 0;
    for (let p = 0; p < n; p++) {
      const source = new MemorySource(file, 'mem://s.rec', 512);
      const range = await partRange(source, p, n, { windowBytes: window });
      t.same(range, expectedRange(offsets, file.length, p, n), `n=${n} p=${p}: boundaries at record starts`);
      t.equal(range.start, previousEnd, `n=${n} p=${p}: starts where the previous part ended`);
      previousEnd = range.end;
      const nominal = nominalPartRange(file.length, p, n);
      // Each probe read lies after a nominal boundary b and, with doubling windows, ends
      // before moved + (moved - b) + window: the search never strays far past the record start.
      const withinWindow = source.spans.every((s) => {
        const [b, moved] = s.start >= nominal.end ? [nominal.end, range.end] : [nominal.start, range.start];
        return s.start >= b && s.end <= moved + (moved - b) + window + 4;
      });
      t.ok(withinWindow, `n=${n} p=${p}: boundary search read ${source.bytesRead()} bytes near the boundaries only`);

      source.spans.length = 0;
      const records = await collect(readRecords(source, range));
      t.ok(source.spans.every((s) => s.start >= range.start && s.end <= range.end), `n=${n} p=${p}: reads stay inside [${range.start}, ${range.end})`);
      seen.push(...records);
    }
    t.equal(previousEnd, file.length, `n=${n}: the last part ends at the end of the file`);
    t.same(seen.map((r) => r.offset), offsets, `n=${n}: every record once, in order`);
    t.ok(seen.every((r, i) => r.payload.equals(payloads[i])), `n=${n}: payloads intact`);
  }
});

t.test('readPart over a local file, and more parts than records', async (t) => {
  const { file, offsets } = fixture(5, 3);
  const path = join(t.testdir(), 'few.rec');
  await writeFile(path, file);
  const source = new LocalFileSource(path);
  t.teardown(() => source.close());
  const all: number[] = [];
  let empty = 0;
  for (let p = 0; p < 8; p++) {
    const records = await collect(readPart(source, p, 8));
    if (records.length === 0) empty++;
    all.push(...records.map((r) => r.offset));
  }
  t.same(all, offsets);
  t.ok(empty >= 5, `${empty} of 8 parts are empty`);
});

t.test('empty file: every part is empty', async (t) => {
  for (let p = 0; p < 3; p++) t.same(await collect(readPart(new MemorySource(Buffer.alloc(0)), p, 3)), []);
});

t.test('a file ending in a bare magic word fails the boundary search with a DataFormatError', async (t) => {
  const file = Buffer.concat([encodeRecord(Buffer.alloc(100)), Buffer.alloc(4)]);
  file.writeUInt32LE(RECORDIO_MAGIC, file.length - 4);
  const err = await t.rejects(partRange(new MemorySource(file, 'mem://t.rec'), 1, 2, { windowBytes: 16 }));
  t.ok(err instanceof DataFormatError);
  t.match((err as DataFormatError).message, /^mem:\/\/t\.rec: at byte offset 108: truncated RecordIO header/);
});
