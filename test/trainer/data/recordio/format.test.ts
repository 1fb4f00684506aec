import t, { type Test } from 'tap';
import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { LocalFileSink, LocalFileSource } from '../../../../trainer/io/local-source.js';
import { DataFormatError } from '../../../../trainer/util/errors.js';
import { Rng } from '../../../../trainer/util/rng.js';
import { encodeRecord, MAX_RECORD_BYTES, RECORDIO_MAGIC } from '../../../../trainer/data/recordio/format.js';
import { packImageRecord } from '../../../../trainer/data/recordio/image-record.js';
import { readRecordAt, readRecordBatches, readRecords, type RecordEntry } from '../../../../trainer/data/recordio/reader.js';
import { RecordIOWriter } from '../../../../trainer/data/recordio/writer.js';
import { MemorySink, MemorySource } from '../../../helpers/recordio-sources.js';

const M = RECORDIO_MAGIC;
/** Little-endian uint32 words, assembled by hand (independent of the writer). */
function words(...ws: number[]): Buffer {
  const b = Buffer.alloc(4 * ws.length);
  ws.forEach((w, i) => b.writeUInt32LE(w >>> 0, 4 * i));
  return b;
}
const bytes = (...bs: number[]): Buffer => Buffer.from(bs);
const cat = (...parts: Buffer[]): Buffer => Buffer.concat(parts);

async function collect(records: AsyncIterable<RecordEntry>): Promise<RecordEntry[]> {
  const out: RecordEntry[] = [];
  for await (const r of records) out.push(r);
  return out;
}

/** What dmlc's RecordIOWriter::WriteRecord emits for each payload, word by word. */
const reference: { name: string; payload: Buffer; encoded: Buffer }[] = [
  { name: 'empty payload', payload: Buffer.alloc(0), encoded: words(M, 0) },
  {
    name: 'magic at aligned offset 4 splits into first+last',
    payload: bytes(1, 2, 3, 4, 0x0a, 0x23, 0xd7, 0xce, 5, 6, 7),
    encoded: cat(words(M, (1 << 29) | 4), bytes(1, 2, 3, 4), words(M, (3 << 29) | 3), bytes(5, 6, 7, 0)),
  },
  {
    name: 'two magics: first, middle and last parts of length 0',
    payload: words(M, M),
    encoded: words(M, 1 << 29, M, 2 << 29, M, 3 << 29),
  },
  {
    name: 'magic at an unaligned offset is not split',
    payload: bytes(0xaa, 0x0a, 0x23, 0xd7, 0xce, 0xbb, 0xbb, 0xbb),
    encoded: cat(words(M, 8), bytes(0xaa, 0x0a, 0x23, 0xd7, 0xce, 0xbb, 0xbb, 0xbb)),
  },
  { name: 'payload that is exactly the magic', payload: words(M), encoded: words(M, 1 << 29, M, 3 << 29) },
  {
    name: 'image record with two labels (flag 2, header label 0)',
    payload: packImageRecord({ labels: [1.5, 2], id: 7 }, bytes(9, 8, 7)),
    encoded: cat(words(M, 35, 2, 0, 7, 0, 0, 0, 0x3fc00000, 0x40000000), bytes(9, 8, 7, 0)),
  },
  {
    name: 'image record with one label in the header and a 2^40+5 id',
    payload: packImageRecord({ labels: [3], id: 2n ** 40n + 5n, id2: 9 }, Buffer.alloc(0)),
    encoded: words(M, 24, 0, 0x40400000, 5, 0x100, 9, 0),
  },
  {
    name: 'image record whose id equals the magic is split at the id',
    payload: packImageRecord({ labels: [1], id: M }, bytes(0xff)),
    encoded: cat(words(M, (1 << 29) | 8, 0, 0x3f800000, M, (3 << 29) | 13, 0, 0, 0), bytes(0xff, 0, 0, 0)),
  },
];
const referenceFile = Buffer.concat(reference.map((r) => r.encoded));
const referenceOffsets = reference.map((_, i) => reference.slice(0, i).reduce((n, r) => n + r.encoded.length, 0));

t.test('reference layout: encodeRecord and the writer produce dmlc bytes exactly', async (t) => {
  for (const r of reference) t.same(encodeRecord(r.payload), r.encoded, r.name);
  const path = join(t.testdir(), 'ref.rec');
  const writer = new RecordIOWriter(new LocalFileSink(path));
  const offsets: number[] = [];
  for (const r of reference) offsets.push(await writer.write(r.payload));
  await writer.commit();
  t.same(offsets, referenceOffsets, 'write returns the offset of each first header');
  t.same(await readFile(path), referenceFile, 'file bytes equal the hand-assembled layout');
});

t.test('reference layout: the reader returns every payload and offset exactly', async (t) => {
  const path = join(t.testdir(), 'ref.rec');
  await writeFile(path, referenceFile);
  const source = new LocalFileSource(path);
  t.teardown(() => source.close());
  const expected = reference.map((r, i) => ({ offset: referenceOffsets[i], payload: r.payload }));
  t.same(await collect(readRecords(source)), expected, 'streaming reader');
  for (const chunk of [1, 3, 4, 5, 8, 13]) {
    t.same(await collect(readRecords(new MemorySource(referenceFile, 'mem://ref', chunk))), expected, `chunks of ${chunk} bytes`);
  }
  for (const e of expected) t.same(await readRecordAt(source, e.offset), e, `readRecordAt(${e.offset})`);
});

/** Random payloads, many carrying the magic at aligned and unaligned offsets. */
function randomPayloads(rng: Rng, count: number): Buffer[] {
  const out: Buffer[] = [];
  for (let i = 0; i < count; i++) {
    const len = rng.int(5) === 0 ? rng.int(8) : rng.int(3000);
    const p = Buffer.alloc(len);
    for (let j = 0; j < len; j++) p[j] = rng.int(256);
    const magics = len >= 4 ? rng.int(4) : 0;
    for (let k = 0; k < magics; k++) p.writeUInt32LE(M, rng.int(len - 3));
    if (len >= 8 && rng.int(3) === 0) p.writeUInt32LE(M, 4 * rng.int(Math.floor(len / 4)));
    out.push(p);
  }
  return out;
}

t.test('round trip of random payloads with aligned and unaligned magics', async (t) => {
  const payloads = randomPayloads(new Rng(1234), 300);
  const alignedSplits = payloads.filter((p) => encodeRecord(p).length > ((p.length + 3) & ~3) + 8).length;
  t.ok(alignedSplits > 50, `${alignedSplits} payloads exercise magic splitting`);
  t.ok(payloads.some((p) => p.length === 0), 'includes empty payloads');
  const sink = new MemorySink();
  const writer = new RecordIOWriter(sink);
  const offsets = [];
  for (const p of payloads) offsets.push(await writer.write(p));
  await writer.commit();
  const file = sink.committed ?? Buffer.alloc(0);
  t.equal(file.length, writer.position);
  for (const chunk of [61, 256, 1 << 20]) {
    const got = await collect(readRecords(new MemorySource(file, 'mem://rt', chunk)));
    t.same(got.map((r) => r.offset), offsets, `offsets, chunks of ${chunk}`);
    t.ok(got.every((r, i) => r.payload.equals(payloads[i])), `payloads, chunks of ${chunk}`);
  }
  const source = new MemorySource(file);
  for (let i = 0; i < payloads.length; i += 17) t.ok((await readRecordAt(source, offsets[i])).payload.equals(payloads[i]), `readRecordAt #${i}`);
});

t.test('readRecordBatches hands over every record parsed from the chunks at hand', async (t) => {
  const payloads = randomPayloads(new Rng(5), 200);
  const file = Buffer.concat(payloads.map((p) => encodeRecord(p)));
  const batches: RecordEntry[][] = [];
  for await (const b of readRecordBatches(new MemorySource(file, 'mem://b', 64 << 10))) batches.push(b);
  t.ok(batches.length <= Math.ceil(file.length / (64 << 10)) + 1, `${batches.length} batches for ${payloads.length} records`);
  t.ok(batches.every((b) => b.length > 0), 'no empty batches');
  t.same(batches.flat(), await collect(readRecords(new MemorySource(file, 'mem://b', 64 << 10))));
  t.ok(batches.flat().every((r, i) => r.payload.equals(payloads[i])));
});

t.test('payloads inside one chunk are views; only chunk-spanning records are copied', async (t) => {
  const payloads = [Buffer.alloc(100, 1), Buffer.alloc(100, 2), Buffer.alloc(900, 3), Buffer.alloc(10, 4)];
  // Buffer.alloc never uses the shared pool, so only views of the file share its ArrayBuffer.
  const encoded = Buffer.concat(payloads.map((p) => encodeRecord(p)));
  const file = Buffer.alloc(encoded.length);
  encoded.copy(file);
  const source = new MemorySource(file, 'mem://views', 1024);
  const got = await collect(readRecords(source));
  t.equal(got[0].payload.buffer, file.buffer, 'record 0 is a view of the chunk');
  t.equal(got[1].payload.buffer, file.buffer, 'record 1 is a view of the chunk');
  t.not(got[2].payload.buffer, file.buffer, 'record 2 spans the 1024-byte chunk boundary, so it is copied');
  t.ok(got.every((r, i) => r.payload.equals(payloads[i])));
});

t.test('ranges: records whose first header lies in [start, end)', async (t) => {
  const payloads = [Buffer.alloc(40, 1), words(0, M, 0), Buffer.alloc(3, 3), Buffer.alloc(0), Buffer.alloc(50, 5)];
  const offsets: number[] = [];
  let at = 0;
  const file = Buffer.concat(
    payloads.map((p) => {
      offsets.push(at);
      const e = encodeRecord(p);
      at += e.length;
      return e;
    }),
  );
  const source = new MemorySource(file, 'mem://range', 16);
  const range = await collect(readRecords(source, { start: offsets[1], end: offsets[3] + 4 }));
  t.same(range.map((r) => r.offset), [offsets[1], offsets[2], offsets[3]], 'includes the record starting before end');
  t.same(range[0].payload, payloads[1], 'multi-part record in a range');
  t.same(await collect(readRecords(source, { start: offsets[2], end: offsets[2] })), [], 'empty range');
  const mid = await collect(readRecords(source, { start: offsets[1], end: offsets[1] + 12 }));
  t.same(mid.map((r) => r.offset), [offsets[1]], 'a range ending inside a record still finishes it');
  await t.rejects(collect(readRecords(source, { start: offsets[1] + 16 })), DataFormatError, 'start at a middle part is rejected');
});

t.test('writer: nothing visible until commit; abort discards; limits', async (t) => {
  const dir = t.testdir();
  const path = join(dir, 'a.rec');
  const writer = new RecordIOWriter(new LocalFileSink(path));
  t.equal(await writer.write(Buffer.from('abc')), 0);
  t.equal(await writer.write(Buffer.alloc(2 << 20, 7)), 12, 'second record after the padded first');
  t.notOk(existsSync(path), 'not visible before commit, even after a 2 MiB flush');
  await writer.commit();
  t.ok(existsSync(path), 'visible after commit');
  await t.rejects(writer.write(Buffer.alloc(1)), /already committed/);

  const abortedPath = join(dir, 'b.rec');
  const aborted = new RecordIOWriter(new LocalFileSink(abortedPath));
  await aborted.write(Buffer.alloc(2 << 20));
  await aborted.abort();
  t.notOk(existsSync(abortedPath), 'abort leaves nothing');

  const failing = new MemorySink('mem://fail', 'commit');
  const w = new RecordIOWriter(failing);
  await w.write(Buffer.alloc(4));
  await t.rejects(w.commit(), /commit failed/);
  t.ok(failing.aborted, 'a failed commit aborts the sink');

  t.throws(() => encodeRecord(new Uint8Array(MAX_RECORD_BYTES)), /2\^29/, 'records of 2^29 bytes are rejected');
});

/** Asserts that reading `file` fails with a DataFormatError at `offset` matching `pattern`. */
async function rejectsAt(t: Test, file: Buffer, offset: number, pattern: RegExp, name: string, read?: (s: MemorySource) => Promise<unknown>): Promise<void> {
  const source = new MemorySource(file, 'mem://bad.rec', 5);
  try {
    await (read ? read(source) : collect(readRecords(source)));
    t.fail(`${name}: expected a DataFormatError`);
  } catch (err) {
    t.ok(err instanceof DataFormatError, `${name}: DataFormatError`);
    const e = err as DataFormatError;
    t.equal(e.uri, 'mem://bad.rec', `${name}: names the uri`);
    t.equal(e.offset, offset, `${name}: names offset ${offset}`);
    t.match(e.message, pattern, `${name}: ${e.message}`);
  }
}

t.test('corrupt input fails with DataFormatError naming uri and offset', async (t) => {
  const ok = words(M, 4, 0x01020304);
  await rejectsAt(t, cat(ok, words(0xdeadbeef, 0)), 12, /bad RecordIO magic/, 'bad magic');
  await rejectsAt(t, cat(ok, words(M)), 12, /truncated RecordIO header: 4 of 8/, 'truncated header');
  await rejectsAt(t, cat(ok, words(M, 9, 1)), 12, /truncated RecordIO part: header says 9/, 'truncated payload');
  await rejectsAt(t, words(M, (1 << 29) | 4, 1, M, 4, 2), 12, /not closed/, 'cflag 1 then 0');
  await rejectsAt(t, words(M, (1 << 29) | 0, M, 1 << 29), 8, /not closed/, 'cflag 1 then 1');
  await rejectsAt(t, cat(ok, words(M, (2 << 29) | 4, 1)), 12, /where a record must start/, 'cflag 2 without 1');
  await rejectsAt(t, words(M, (3 << 29) | 0), 0, /where a record must start/, 'cflag 3 without 1');
  await rejectsAt(t, words(M, (1 << 29) | 4, 1), 12, /file ends inside the record that starts at 0.*cflag 1/, 'EOF after cflag 1');
  await rejectsAt(t, words(M, 1 << 29, M, 2 << 29), 16, /file ends inside the record that starts at 0.*cflag 2/, 'EOF after cflag 2');
  await rejectsAt(t, cat(ok, words(M, 0x80000004, 1)), 12, /cflag 4.*2\^29/, 'length field of 2^29 or more');
  await rejectsAt(t, words(M, (1 << 29) | 4, 1, 0x12345678, 0), 12, /inside the record that starts at 0/, 'bad magic in a continuation');

  const file = cat(ok, words(M, (1 << 29) | 4, 1, M, (3 << 29) | 4, 2));
  const at = (offset: number) => (s: MemorySource) => readRecordAt(s, offset);
  await rejectsAt(t, file, 24, /where a record must start.*inside a record/, 'readRecordAt at a last part', at(24));
  await rejectsAt(t, file, 8, /bad RecordIO magic/, 'readRecordAt into a payload', at(8));
  await rejectsAt(t, file, 6, /not 4-byte aligned/, 'readRecordAt unaligned', at(6));
  await rejectsAt(t, file, 36, /past the end/, 'readRecordAt at the end', at(36));
  await rejectsAt(t, file, 400, /past the end/, 'readRecordAt past the end', at(400));
  await rejectsAt(t, words(M, (1 << 29) | 4, 1), 12, /file ends inside/, 'readRecordAt EOF after cflag 1', at(0));
  await rejectsAt(t, words(M, 20, 1), 0, /truncated RecordIO part/, 'readRecordAt truncated payload', at(0));
});
