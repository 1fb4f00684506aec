import t from 'tap';
import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { LocalFileSink, LocalFileSource } from '../../../../trainer/io/local-source.js';
import { DataFormatError } from '../../../../trainer/util/errors.js';
import { buildIndex } from '../../../../trainer/data/recordio/build-index.js';
import { encodeRecord, RECORDIO_MAGIC } from '../../../../trainer/data/recordio/format.js';
import { packImageRecord } from '../../../../trainer/data/recordio/image-record.js';
import { formatIndex, parseIndex, readIndex, writeIndex } from '../../../../trainer/data/recordio/index-file.js';
import { IndexedRecordIO } from '../../../../trainer/data/recordio/indexed.js';
import { IndexedRecordIOWriter } from '../../../../trainer/data/recordio/indexed-writer.js';
import { MemorySink, MemorySource } from '../../../helpers/recordio-sources.js';

t.test('parse and format MXNet .idx text', async (t) => {
  const text = '5\t0\n2\t16\r\n9\t40\n\n';
  t.same(parseIndex(text, 'a.idx'), [
    { key: 5, offset: 0, line: 1 },
    { key: 2, offset: 16, line: 2 },
    { key: 9, offset: 40, line: 3 },
  ]);
  t.equal(formatIndex([{ key: 5, offset: 0 }, { key: 2, offset: 16 }]), '5\t0\n2\t16\n', 'unsorted keys kept in order');
  t.same(parseIndex('', 'a.idx'), []);
});

t.test('bad .idx lines name the file and line', async (t) => {
  const cases: [string, RegExp][] = [
    ['1\t0\n2 8\n', /^a\.idx: line 2: expected "key<TAB>offset"/],
    ['1\t0\n2\t8\t3\n', /line 2: expected/],
    ['x\t0\n', /line 1: key "x" is not an integer/],
    ['1\t0\n\n3\t-4\n', /line 3: offset "-4" is not a non-negative integer/],
    ['1\t1.5\n', /line 1: offset "1.5"/],
    ['1\t99999999999999999999\n', /line 1: offset .* within 2\^53/],
    ['4\t0\n7\t8\n4\t16\n', /line 3: key 4 repeats the key of line 1/],
  ];
  for (const [text, pattern] of cases) {
    const err = t.throws(() => parseIndex(text, 'a.idx'), pattern, JSON.stringify(text));
    t.ok(err instanceof DataFormatError);
  }
});

t.test('writeIndex is atomic through the sink', async (t) => {
  const path = join(t.testdir(), 'a.idx');
  await writeIndex(new LocalFileSink(path), [{ key: 3, offset: 0 }, { key: 1, offset: 12 }]);
  t.equal(await readFile(path, 'utf8'), '3\t0\n1\t12\n');
  const failing = new MemorySink('mem://b.idx', 'commit');
  await t.rejects(writeIndex(failing, [{ key: 1, offset: 0 }]), /commit failed/);
  t.ok(failing.aborted, 'failed write aborts');
});

t.test('indexed writer + reader: random access by key', async (t) => {
  const dir = t.testdir();
  const recPath = join(dir, 'd.rec');
  const idxPath = join(dir, 'd.idx');
  const writer = new IndexedRecordIOWriter(new LocalFileSink(recPath), new LocalFileSink(idxPath));
  const keys = [10, 3, 7, 0];
  const payloads = keys.map((k) => packImageRecord({ labels: [k % 10], id: k }, Buffer.alloc(k * 3 + 1, k)));
  payloads[2] = Buffer.concat([payloads[2], Buffer.from([0x0a, 0x23, 0xd7, 0xce])]);
  for (let i = 0; i < keys.length; i++) await writer.write(keys[i], payloads[i]);
  await t.rejects(writer.write(3, Buffer.alloc(1)), /key 3 was already written/);
  t.notOk(existsSync(idxPath), 'nothing visible before commit');
  await writer.commit();
  t.match(await readFile(idxPath, 'utf8'), /^10\t0\n3\t\d+\n7\t\d+\n0\t\d+\n$/);

  const rec = new LocalFileSource(recPath);
  const idx = new LocalFileSource(idxPath);
  t.teardown(async () => {
    await rec.close();
    await idx.close();
  });
  const io = await IndexedRecordIO.open(rec, idx);
  t.same(io.keys(), keys, 'keys in index order');
  t.ok(io.has(7));
  t.notOk(io.has(8));
  for (let i = keys.length - 1; i >= 0; i--) t.same(await io.read(keys[i]), payloads[i], `read(${keys[i]})`);
  await t.rejects(io.read(8), /key 8 is not in the index .*d\.idx/);
  await io.validate();
  t.same(await readIndex(idx), (await buildIndex(rec)).entries.map((e, i) => ({ ...e, line: i + 1 })), 'built index equals the written one');
});

function recFile(payloads: Buffer[]): Buffer {
  return Buffer.concat(payloads.map((p) => encodeRecord(p)));
}

t.test('buildIndex keys by IRHeader id when every record is an image record with a distinct id', async (t) => {
  const ids = [42, 7, 2 ** 40];
  const file = recFile(ids.map((id) => packImageRecord({ labels: [1], id }, Buffer.alloc(5))));
  const built = await buildIndex(new MemorySource(file));
  t.equal(built.keyedBy, 'id');
  t.same(built.entries.map((e) => e.key), ids);
  t.same(built.entries.map((e) => e.offset), [0, 40, 80]);

  const io = await IndexedRecordIO.open(new MemorySource(file));
  t.equal(io.idxUri, undefined, 'no .idx: index built by scanning');
  t.same(io.keys(), ids);
  t.same((await io.read(7)).subarray(8, 16), Buffer.from([7, 0, 0, 0, 0, 0, 0, 0]));
});

t.test('buildIndex falls back to file order when ids cannot be keys', async (t) => {
  const img = (id: number | bigint) => packImageRecord({ labels: [0], id }, Buffer.alloc(2));
  const cases: [string, Buffer[]][] = [
    ['a record that is not an image record', [img(5), Buffer.from('short'), img(6)]],
    ['a repeated id', [img(5), img(6), img(5)]],
    ['an id above 2^53', [img(5), img(2n ** 60n)]],
  ];
  for (const [name, payloads] of cases) {
    const built = await buildIndex(new MemorySource(recFile(payloads)));
    t.equal(built.keyedBy, 'position', name);
    t.same(built.entries.map((e) => e.key), payloads.map((_, i) => i), name);
  }
});

t.test('index offsets that do not point at a record start name the .idx line', async (t) => {
  // Record 0 at 0 (whole, 8 bytes), record 1 at 16: first part at 16, last part at 28.
  const file = recFile([Buffer.alloc(8, 1), Buffer.concat([Buffer.alloc(4, 2), Buffer.from([0x0a, 0x23, 0xd7, 0xce]), Buffer.alloc(4, 3)])]);
  t.equal(file.readUInt32LE(28), RECORDIO_MAGIC, 'fixture: a last-part header at 28');
  const bad: [number, RegExp][] = [
    [28, /line 3 \(key 2, offset 28\): mem:\/\/v\.rec: at byte offset 28: part has cflag 3 .* inside a record/],
    [8, /line 3 \(key 2, offset 8\): .*bad RecordIO magic/],
  ];
  // Offsets that cannot be record starts at all (unaligned, past the end) fail on opening.
  for (const [offset, pattern] of [
    [6, /mem:\/\/v\.idx: line 3: offset 6 cannot be a record start in mem:\/\/v\.rec \(40 bytes/],
    [file.length, /mem:\/\/v\.idx: line 3: offset 40 cannot be a record start/],
  ] as const) {
    const idx = new MemorySource(Buffer.from(`0\t0\n1\t16\n2\t${offset}\n`), 'mem://v.idx');
    await t.rejects(IndexedRecordIO.open(new MemorySource(file, 'mem://v.rec'), idx), pattern, `offset ${offset} refused on opening`);
  }
  for (const [offset, pattern] of bad) {
    const idx = new MemorySource(Buffer.from(`0\t0\n1\t16\n2\t${offset}\n`), 'mem://v.idx');
    const io = await IndexedRecordIO.open(new MemorySource(file, 'mem://v.rec'), idx);
    t.same(await io.read(1), Buffer.concat([Buffer.alloc(4, 2), Buffer.from([0x0a, 0x23, 0xd7, 0xce]), Buffer.alloc(4, 3)]), 'good entries still read');
    for (const [name, op] of [['read', () => io.read(2)], ['validate', () => io.validate()]] as const) {
      try {
        await op();
        t.fail(`${name} at ${offset}: expected an error`);
      } catch (err) {
        t.ok(err instanceof DataFormatError, `${name} at ${offset}: DataFormatError`);
        t.equal((err as DataFormatError).uri, 'mem://v.idx');
        t.match((err as Error).message, pattern, `${name} at ${offset}: ${(err as Error).message}`);
      }
    }
  }
});

t.test('an .idx on disk written by hand (as MXNet writes it) reads the right records', async (t) => {
  const dir = t.testdir();
  const payloads = [Buffer.from('zero'), Buffer.from('one!!'), Buffer.alloc(0)];
  await writeFile(join(dir, 'h.rec'), recFile(payloads));
  await writeFile(join(dir, 'h.idx'), '2\t28\n0\t0\n1\t12\n');
  const rec = new LocalFileSource(join(dir, 'h.rec'));
  const io = await IndexedRecordIO.open(rec, new LocalFileSource(join(dir, 'h.idx')));
  t.teardown(() => rec.close());
  t.same(io.keys(), [2, 0, 1]);
  t.same(await io.read(1), payloads[1]);
  t.same(await io.read(2), payloads[2]);
  t.equal(io.offsetOf(0), 0);
});
