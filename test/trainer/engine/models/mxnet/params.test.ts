import t from 'tap';
import { parseNDArrayList, halfToFloat } from '../../../../../trainer/engine/models/mxnet/ndarray-list.js';
import { ndarrayListBytes, toHalf, type WriteArray, type WriteLayout } from '../../../../helpers/mxnet-checkpoint.js';

const ARRAYS: [string, WriteArray][] = [
  ['arg:conv0_weight', { shape: [2, 3, 1, 2], data: [1, -2, 3.5, 4, 5, 6, 7, 8, 9, 10, 11, -12.25] }],
  ['arg:fc_bias', { shape: [3], data: [0.5, -0.5, 0.125] }],
  ['aux:bn_moving_var', { shape: [1, 2], data: [1e-3, 2e3] }],
];

t.test('every array layout MXNet wrote reads back the same names, shapes and values', async (t) => {
  for (const layout of ['v3', 'v2', 'v1', 'legacy'] as WriteLayout[]) {
    const list = parseNDArrayList(ndarrayListBytes(ARRAYS, layout), `x-${layout}.params`);
    t.same([...list.keys()], ARRAYS.map(([name]) => name), `${layout}: names in order, prefixes kept`);
    for (const [name, array] of ARRAYS) {
      const got = list.get(name)!;
      t.equal(got.layout, layout);
      t.same(got.shape, array.shape, `${layout} ${name}: shape`);
      t.same([...got.data], Array.from(array.data, Math.fround), `${layout} ${name}: values`);
    }
  }
});

t.test('float64 and float16 arrays become float32; a V3 scalar has one value', async (t) => {
  const list = parseNDArrayList(
    ndarrayListBytes(
      [
        ['arg:a', { shape: [2], data: [0.1, -1e10], dtype: 'float64' }],
        ['arg:b', { shape: [3], data: [1.5, -0.000061035, 65504], dtype: 'float16' }],
        ['arg:s', { shape: [], data: [7] }],
      ],
      'v3',
    ),
    'x.params',
  );
  t.same([...list.get('arg:a')!.data], [Math.fround(0.1), Math.fround(-1e10)]);
  t.same(list.get('arg:a')!.dtype, 'float64');
  t.same([...list.get('arg:b')!.data], [1.5, halfToFloat(toHalf(-0.000061035)), 65504]);
  t.same(list.get('arg:s')!.shape, []);
  t.same([...list.get('arg:s')!.data], [7]);
  t.equal(halfToFloat(0x3c00), 1);
  t.equal(halfToFloat(0xc000), -2);
  t.equal(halfToFloat(0x0001), 2 ** -24, 'subnormal');
  t.equal(halfToFloat(0x7c00), Infinity);
});

t.test('a bad params file is an error naming the file and byte offset', async (t) => {
  const good = ndarrayListBytes(ARRAYS, 'v2');
  t.throws(() => parseNDArrayList(Buffer.from('{"nodes": []}'), 'sym.json'), /sym\.json: at byte offset 0: not an MXNet NDArray list: header 0x/);
  t.throws(() => parseNDArrayList(good.subarray(0, 90), 'cut.params'), /cut\.params: at byte offset \d+: file ends inside array 0 data \(12 float32 values\)/);
  t.throws(() => parseNDArrayList(Buffer.concat([good, Buffer.alloc(3)]), 'tail.params'), /tail\.params: .*3 bytes after the last name/);

  const sparse = Buffer.from(good);
  sparse.writeInt32LE(1, 28); // storage type of array 0: row_sparse
  t.throws(() => parseNDArrayList(sparse, 's.params'), /s\.params: at byte offset 28: array 0 has storage type 1 \(row_sparse\); only dense arrays can be weights/);

  const dtype = Buffer.from(good);
  // array 0 (V2): magic 4, stype 4, ndim 4, 4 dims x 8, context 8, then the dtype.
  dtype.writeInt32LE(99, 24 + 4 + 4 + 4 + 32 + 8);
  t.throws(() => parseNDArrayList(dtype, 'd.params'), /d\.params: at byte offset 76: array 0 has unknown dtype flag 99/);

  const magic = Buffer.from(good);
  magic.writeUInt32LE(0x12345678, 24);
  t.throws(() => parseNDArrayList(magic, 'm.params'), /m\.params: at byte offset 24: array 0 starts with 0x12345678: neither an NDArray magic/);

  const none = ndarrayListBytes([['arg:x', { shape: [], data: [] }]], 'v2');
  t.throws(() => parseNDArrayList(none, 'n.params'), /n\.params: at byte offset 24: array 0 is empty \(no shape\)/);

  const mismatch = ndarrayListBytes(ARRAYS, 'v2');
  // the name count sits right after the arrays; claim one name too many
  const namesAt = mismatch.length - ARRAYS.reduce((n, [name]) => n + 8 + Buffer.byteLength(name), 0) - 8;
  mismatch.writeBigUInt64LE(4n, namesAt);
  t.throws(() => parseNDArrayList(mismatch, 'c.params'), /c\.params: .*3 arrays but 4 names/);
});
