import t from 'tap';
import { DataFormatError } from '../../../../trainer/util/errors.js';
import { IR_HEADER_BYTES, packImageRecord, safeId, tryUnpackImageRecord, unpackImageRecord } from '../../../../trainer/data/recordio/image-record.js';

/** IRHeader {flag u32, label f32, id u64, id2 u64} assembled by hand, little-endian. */
function irHeader(flag: number, label: number, id: bigint, id2: bigint): Buffer {
  const b = Buffer.alloc(IR_HEADER_BYTES);
  b.writeUInt32LE(flag, 0);
  b.writeFloatLE(label, 4);
  b.writeBigUInt64LE(id, 8);
  b.writeBigUInt64LE(id2, 16);
  return b;
}
const floats = (...fs: number[]): Buffer => {
  const b = Buffer.alloc(4 * fs.length);
  fs.forEach((f, i) => b.writeFloatLE(f, 4 * i));
  return b;
};

t.test('one label: flag 0 and the label in the header', async (t) => {
  const image = Buffer.from([1, 2, 3, 4, 5]);
  const packed = packImageRecord({ labels: [6], id: 42, id2: 3 }, image);
  t.same(packed, Buffer.concat([irHeader(0, 6, 42n, 3n), image]));
  const rec = unpackImageRecord(packed, 'mem://x.rec', 96);
  t.same(rec, { flag: 0, labels: [6], id: 42n, id2: 3n, image });
  t.equal(rec.image.buffer, packed.buffer, 'image is a view of the payload');
  t.equal(rec.image.byteOffset, packed.byteOffset + IR_HEADER_BYTES);
});

t.test('several labels: flag = count, header label 0, float32 labels after the header', async (t) => {
  const image = Buffer.from([9]);
  const packed = packImageRecord({ labels: [1.5, -2, 0.25], id: 7n }, image);
  t.same(packed, Buffer.concat([irHeader(3, 0, 7n, 0n), floats(1.5, -2, 0.25), image]));
  t.same(unpackImageRecord(packed, 'mem://x.rec', 0), { flag: 3, labels: [1.5, -2, 0.25], id: 7n, id2: 0n, image });
  const labelsAreFloat32 = unpackImageRecord(packImageRecord({ labels: [0.1, 0.2], id: 0 }, image), 'u', 0).labels;
  t.same(labelsAreFloat32, [Math.fround(0.1), Math.fround(0.2)]);
});

t.test('readers ignore the header label when flag > 0', async (t) => {
  const payload = Buffer.concat([irHeader(2, 99, 1n, 0n), floats(4, 5), Buffer.from([0xee])]);
  const rec = unpackImageRecord(payload, 'mem://x.rec', 0);
  t.same(rec.labels, [4, 5]);
  t.same(rec.image, Buffer.from([0xee]));
});

t.test('uint64 ids: bigint kept exactly, safe number accessor', async (t) => {
  const big = 2n ** 63n + 11n;
  const rec = unpackImageRecord(packImageRecord({ labels: [0], id: big, id2: 2n ** 64n - 1n }, Buffer.alloc(0)), 'u', 0);
  t.equal(rec.id, big);
  t.equal(rec.id2, 2n ** 64n - 1n);
  t.throws(() => safeId(rec.id), /exceeds 2\^53 - 1/);
  t.throws(() => safeId(rec.id2, 'id2'), /id2/);
  t.equal(safeId(2n ** 53n - 1n), Number.MAX_SAFE_INTEGER);
  t.throws(() => packImageRecord({ labels: [0], id: 2 ** 60 }, Buffer.alloc(0)), /not a safe integer; pass a bigint/);
  t.throws(() => packImageRecord({ labels: [0], id: -1 }, Buffer.alloc(0)), /outside uint64/);
  t.throws(() => packImageRecord({ labels: [0], id: 2n ** 64n }, Buffer.alloc(0)), /outside uint64/);
  t.throws(() => packImageRecord({ labels: [], id: 1 }, Buffer.alloc(0)), /at least one label/);
});

t.test('malformed image records name the uri and record offset', async (t) => {
  const short = Buffer.alloc(IR_HEADER_BYTES - 1);
  const err = t.throws(() => unpackImageRecord(short, 'mem://bad.rec', 128));
  t.ok(err instanceof DataFormatError);
  t.match((err as DataFormatError).message, /^mem:\/\/bad\.rec: at byte offset 128: image record payload is 23 bytes/);
  const tooManyLabels = Buffer.concat([irHeader(3, 0, 0n, 0n), floats(1, 2)]);
  t.throws(() => unpackImageRecord(tooManyLabels, 'mem://bad.rec', 4), /offset 4: IRHeader flag 3 calls for 12 label bytes but only 8/);
  t.equal(tryUnpackImageRecord(short), undefined);
  t.equal(tryUnpackImageRecord(tooManyLabels), undefined);
  t.ok(tryUnpackImageRecord(irHeader(0, 1, 5n, 0n)), 'a bare header with no image parses');
});
