import t from 'tap';
import { DataFormatError } from '../../../../trainer/util/errors.js';
import { unpickle } from '../../../../trainer/data/cifar/pickle.js';
import { NdArray, PyTuple, type PickleValue } from '../../../../trainer/data/cifar/pickle-values.js';

// Pickles are built byte by byte here, in the shapes Python 2's cPickle (protocol 2) writes.
const b = (...parts: (number | string | Buffer)[]): Buffer =>
  Buffer.concat(parts.map((p) => (typeof p === 'number' ? Buffer.from([p]) : typeof p === 'string' ? Buffer.from(p, 'latin1') : p)));
const u16 = (n: number): Buffer => {
  const x = Buffer.alloc(2);
  x.writeUInt16LE(n);
  return x;
};
const i32 = (n: number): Buffer => {
  const x = Buffer.alloc(4);
  x.writeInt32LE(n);
  return x;
};
const shortStr = (s: string): Buffer => b(0x55, Buffer.byteLength(s, 'latin1'), s); // SHORT_BINSTRING
const PROTO2 = b(0x80, 2);

/** `numpy.core.multiarray._reconstruct(numpy.ndarray, (0,), 'b')` then BUILD with the given state pieces. */
function ndarray(shape: number[], raw: Buffer, descr = 'u1'): Buffer {
  const shapeOps = b(0x28, ...shape.map((n) => b(0x4d, u16(n))), 0x74); // MARK BININT2.. TUPLE
  const dtype = b('cnumpy\ndtype\n', shortStr(descr), 0x4b, 0, 0x4b, 1, 0x87, 0x52, 0x28, 0x4b, 3, shortStr('|'), 'NNN', 0x4a, i32(-1), 0x4a, i32(-1), 0x4b, 0, 0x74, 0x62);
  return b(
    'cnumpy.core.multiarray\n_reconstruct\n', 0x71, 1, // GLOBAL, BINPUT 1
    'cnumpy\nndarray\n', 0x4b, 0, 0x85, shortStr('b'), 0x87, 0x52, // (ndarray, (0,), 'b') REDUCE
    0x28, 0x4b, 1, shapeOps, dtype, 0x89, 0x54, i32(raw.length), raw, 0x74, 0x62, // (1, shape, dtype, False, raw) BUILD
  );
}

t.test('reads a protocol-2 dict with a numpy array, ints, strings, memo references', async (t) => {
  const raw = Buffer.from([1, 2, 3, 4, 5, 6]);
  const bytes = b(
    PROTO2, 0x7d, 0x71, 0, 0x28, // EMPTY_DICT BINPUT 0 MARK
    shortStr('data'), ndarray([2, 3], raw),
    shortStr('labels'), 0x5d, 0x71, 2, 0x28, 0x4b, 7, 0x4d, u16(300), 0x4a, i32(-5), 0x4a, i32(70000), 0x65, // [7, 300, -5, 70000]
    shortStr('names'), 0x5d, 0x28, shortStr('a.png'), 0x58, i32(3), Buffer.from('é!', 'utf8'), 0x65,
    shortStr('again'), 0x68, 2, // BINGET 2: the labels list again
    shortStr('misc'), 0x28, 0x4e, 0x88, 0x8a, 6, Buffer.from([0, 0, 0, 0, 0, 1]), 0x8a, 1, Buffer.from([0xff]), 0x47, Buffer.from([0x3f, 0xf8, 0, 0, 0, 0, 0, 0]), 0x74,
    0x75, 0x2e, // SETITEMS STOP
  );
  const value = unpickle(bytes, 'tiny.pkl');
  t.ok(value instanceof Map);
  const dict = value as Map<string, PickleValue>;
  const data = dict.get('data');
  t.ok(data instanceof NdArray);
  const array = data as NdArray;
  t.same(array.shape, [2, 3]);
  t.equal(array.dtype.descr, 'u1');
  t.equal(array.dtype.byteOrder, '|');
  t.same([...array.data], [1, 2, 3, 4, 5, 6]);
  t.equal(array.data.buffer, bytes.buffer, 'array data is a view of the pickle bytes, not a copy');
  t.same(dict.get('labels'), [7, 300, -5, 70000]);
  t.equal(dict.get('again'), dict.get('labels'), 'BINGET returns the memoised object itself');
  const names = dict.get('names') as PickleValue[];
  t.ok(Buffer.isBuffer(names[0]) && names[0].toString() === 'a.png', 'py2 str stays bytes');
  t.equal(names[1], 'é!', 'BINUNICODE is decoded as UTF-8');
  const misc = dict.get('misc');
  t.ok(misc instanceof PyTuple);
  t.same((misc as PyTuple).items, [null, true, 2 ** 40, -1, 1.5]);
});

function errorOf(f: () => unknown): DataFormatError {
  try {
    f();
  } catch (err) {
    if (err instanceof DataFormatError) return err;
    throw err;
  }
  throw new Error('expected a DataFormatError');
}

t.test('an unsupported opcode is an error naming the file, opcode and offset', async (t) => {
  // INST would import and call a class: never supported.
  const bytes = b(PROTO2, 0x5d, 0x28, 0x4b, 1, 'ios\nsystem\n', 0x2e);
  const err = errorOf(() => unpickle(bytes, 'evil.pkl'));
  t.equal(err.offset, 6);
  t.equal(err.message, 'evil.pkl: at byte offset 6: pickle opcode INST (0x69): is not supported by this reader (it only reads plain data and numpy arrays)');
});

t.test('REDUCE and BUILD are refused outside the numpy whitelist', async (t) => {
  const reduce = b(PROTO2, 'cos\nsystem\n', shortStr('echo hi'), 0x85, 0x52, 0x2e);
  const err = errorOf(() => unpickle(reduce, 'evil.pkl'));
  t.equal(err.offset, 2 + 11 + 9 + 1);
  t.match(err.message, /pickle opcode REDUCE \(0x52\): REDUCE of os\.system is not allowed/);

  const build = b(PROTO2, 0x5d, 0x7d, 0x62, 0x2e); // BUILD on a list
  t.match(errorOf(() => unpickle(build, 'x.pkl')).message, /at byte offset 4: pickle opcode BUILD \(0x62\): BUILD state must be a tuple/);

  const objectArray = b(PROTO2, ndarray([1], Buffer.alloc(8), 'O8'), 0x2e);
  t.match(errorOf(() => unpickle(objectArray, 'x.pkl')).message, /numpy dtype "O8" is not supported/);
});

t.test('truncated and inconsistent pickles are errors with offsets', async (t) => {
  const truncated = b(PROTO2, 0x54, i32(100), 'abc');
  const err = errorOf(() => unpickle(truncated, 't.pkl'));
  t.equal(err.offset, 2);
  t.match(err.message, /BINSTRING \(0x54\): truncated: needs 100 bytes, 3 left/);

  const noStop = b(PROTO2, 0x4e);
  t.match(errorOf(() => unpickle(noStop, 't.pkl')).message, /t\.pkl: at byte offset 3: pickle ends without a STOP opcode/);

  const wrongSize = b(PROTO2, ndarray([2, 3], Buffer.alloc(5)), 0x2e);
  t.match(errorOf(() => unpickle(wrongSize, 't.pkl')).message, /numpy array of shape \(2, 3\) and dtype u1 needs 6 bytes, the pickle holds 5/);

  const badMemo = b(PROTO2, 0x68, 9, 0x2e);
  t.match(errorOf(() => unpickle(badMemo, 't.pkl')).message, /at byte offset 2: pickle opcode BINGET \(0x68\): memo entry 9 is not defined/);

  const underflow = b(PROTO2, 0x85, 0x2e);
  t.match(errorOf(() => unpickle(underflow, 't.pkl')).message, /TUPLE1 \(0x85\): stack underflow/);
});
