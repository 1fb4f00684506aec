import { DataFormatError } from '../../../util/errors.js';

/**
 * MXNet's NDArray list file (`mx.nd.save`, the `.params` of a checkpoint), as written by
 * NDArray::Save in src/ndarray/ndarray.cc, little-endian throughout:
 *
 *   uint64 0x112 (list magic), uint64 reserved (0),
 *   uint64 array count, then each array,
 *   uint64 name count, then each name as uint64 length + bytes.
 *
 * Each array is one of:
 *   V2 (0xF993FAC9) and V3 (0xF993FACA): uint32 magic, int32 storage type, [storage shape
 *     when sparse], shape, then unless the shape is "none": context (int32 dev_type, int32
 *     dev_id), int32 dtype, [aux types and shapes when sparse], the data.
 *     A shape is int32 ndim then ndim int64 dims (mxnet::Tuple::Save). V2 marks "none" with
 *     ndim 0, V3 (numpy shape semantics) with ndim -1, where ndim 0 is a scalar.
 *   V1 (0xF993FAC8): shape as above, context, int32 dtype, data (no storage type).
 *   legacy (before 1.0, no magic): the first uint32 is ndim, then ndim uint32 dims, and
 *     (unless ndim is 0) context, int32 dtype, data.
 */

export const LIST_MAGIC = 0x112n;
export const V1_MAGIC = 0xf993fac8;
export const V2_MAGIC = 0xf993fac9;
export const V3_MAGIC = 0xf993faca;

/** mshadow type flags with the sizes of their elements; only floats can be weights here. */
const DTYPES: Record<number, { name: string; bytes: number }> = {
  0: { name: 'float32', bytes: 4 },
  1: { name: 'float64', bytes: 8 },
  2: { name: 'float16', bytes: 2 },
  3: { name: 'uint8', bytes: 1 },
  4: { name: 'int32', bytes: 4 },
  5: { name: 'int8', bytes: 1 },
  6: { name: 'int64', bytes: 8 },
};

export type ArrayLayout = 'v1' | 'v2' | 'v3' | 'legacy';

export interface NDArray {
  shape: number[];
  /** The values converted to float32, row-major (C order) as MXNet stores them. */
  data: Float32Array;
  dtype: string;
  layout: ArrayLayout;
}

/** Name -> array; names keep MXNet's `arg:` / `aux:` prefixes. */
export type NDArrayList = Map<string, NDArray>;

// Larger than any real checkpoint array; keeps a corrupt count or dim from allocating the machine away.
const MAX_ELEMENTS = 2 ** 31;
const MAX_NDIM = 32;

class Reader {
  pos = 0;
  constructor(
    private readonly buf: Buffer,
    private readonly uri: string,
  ) {}

  fail(detail: string, at = this.pos): never {
    throw new DataFormatError(this.uri, at, detail);
  }

  need(n: number, what: string): void {
    if (this.pos + n > this.buf.length) this.fail(`file ends inside ${what}: needs ${n} bytes, ${this.buf.length - this.pos} left`);
  }

  u32(what: string): number {
    this.need(4, what);
    const v = this.buf.readUInt32LE(this.pos);
    this.pos += 4;
    return v;
  }

  i32(what: string): number {
    this.need(4, what);
    const v = this.buf.readInt32LE(this.pos);
    this.pos += 4;
    return v;
  }

  u64(what: string): bigint {
    this.need(8, what);
    const v = this.buf.readBigUInt64LE(this.pos);
    this.pos += 8;
    return v;
  }

  i64(what: string): bigint {
    this.need(8, what);
    const v = this.buf.readBigInt64LE(this.pos);
    this.pos += 8;
    return v;
  }

  count(what: string, max: number): number {
    const at = this.pos;
    const v = this.u64(what);
    if (v > BigInt(max)) this.fail(`${what} ${v} is larger than ${max}`, at);
    return Number(v);
  }

  bytes(n: number, what: string): Buffer {
    this.need(n, what);
    const out = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }

  get remaining(): number {
    return this.buf.length - this.pos;
  }
}

/** Parses a whole `.params` file; `uri` names it in errors, which give the byte offset. */
export function parseNDArrayList(bytes: Uint8Array, uri: string): NDArrayList {
  const r = new Reader(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength), uri);
  const magic = r.u64('the list header');
  if (magic !== LIST_MAGIC) r.fail(`not an MXNet NDArray list: header 0x${magic.toString(16)}, expected 0x112`, 0);
  r.u64('the reserved header field');
  const arrayCount = r.count('array count', r.remaining);
  const arrays: NDArray[] = [];
  for (let i = 0; i < arrayCount; i++) arrays.push(readArray(r, i));
  const nameCount = r.count('name count', r.remaining);
  if (nameCount !== arrayCount) r.fail(`${arrayCount} arrays but ${nameCount} names; a checkpoint names every array`);
  const list: NDArrayList = new Map();
  for (let i = 0; i < nameCount; i++) {
    const at = r.pos;
    const length = r.count(`length of name ${i}`, r.remaining);
    const name = r.bytes(length, `name ${i}`).toString('utf8');
    if (list.has(name)) r.fail(`name '${name}' appears twice`, at);
    list.set(name, arrays[i]);
  }
  if (r.remaining !== 0) r.fail(`${r.remaining} bytes after the last name`);
  return list;
}

function readArray(r: Reader, index: number): NDArray {
  const start = r.pos;
  const what = `array ${index}`;
  const first = r.u32(`${what} header`);
  let layout: ArrayLayout;
  let shape: number[] | undefined;
  if (first === V2_MAGIC || first === V3_MAGIC) {
    layout = first === V2_MAGIC ? 'v2' : 'v3';
    const stype = r.i32(`${what} storage type`);
    if (stype !== 0) r.fail(`${what} has storage type ${stype} (${stype === 1 ? 'row_sparse' : stype === 2 ? 'csr' : 'unknown'}); only dense arrays can be weights`, start + 4);
    shape = readShape(r, what, layout);
  } else if (first === V1_MAGIC) {
    layout = 'v1';
    shape = readShape(r, what, layout);
  } else {
    layout = 'legacy';
    if (first > MAX_NDIM) r.fail(`${what} starts with 0x${first.toString(16)}: neither an NDArray magic (0xF993FAC8/9/A) nor a legacy dimension count`, start);
    shape = [];
    for (let d = 0; d < first; d++) shape.push(r.u32(`${what} dimension ${d}`));
    if (first === 0) shape = undefined;
  }
  if (shape === undefined) r.fail(`${what} is empty (no shape); a checkpoint holds only initialised arrays`, start);
  r.i32(`${what} device type`);
  r.i32(`${what} device id`);
  const dtypeAt = r.pos;
  const flag = r.i32(`${what} dtype`);
  const dtype = DTYPES[flag];
  if (dtype === undefined) r.fail(`${what} has unknown dtype flag ${flag}`, dtypeAt);
  const size = shape.reduce((a, b) => a * b, 1);
  if (size > MAX_ELEMENTS) r.fail(`${what} has ${size} elements, more than ${MAX_ELEMENTS}`, start);
  const raw = r.bytes(size * dtype.bytes, `${what} data (${size} ${dtype.name} values)`);
  return { shape, data: toFloat32(raw, flag, size), dtype: dtype.name, layout };
}

function readShape(r: Reader, what: string, layout: ArrayLayout): number[] | undefined {
  const at = r.pos;
  const ndim = r.i32(`${what} ndim`);
  if (ndim < -1 || ndim > MAX_NDIM) r.fail(`${what} has ndim ${ndim}`, at);
  // V2 (and V1) mean "no array" by ndim 0; V3 by -1, where 0 is a scalar.
  if (ndim === -1 || (ndim === 0 && layout !== 'v3')) return undefined;
  const shape: number[] = [];
  for (let d = 0; d < ndim; d++) {
    const dimAt = r.pos;
    const dim = r.i64(`${what} dimension ${d}`);
    if (dim < 0n || dim > BigInt(MAX_ELEMENTS)) r.fail(`${what} dimension ${d} is ${dim}`, dimAt);
    shape.push(Number(dim));
  }
  return shape;
}

function toFloat32(raw: Buffer, flag: number, size: number): Float32Array {
  const out = new Float32Array(size);
  for (let i = 0; i < size; i++) {
    switch (flag) {
      case 0: out[i] = raw.readFloatLE(4 * i); break;
      case 1: out[i] = raw.readDoubleLE(8 * i); break;
      case 2: out[i] = halfToFloat(raw.readUInt16LE(2 * i)); break;
      case 3: out[i] = raw[i]; break;
      case 4: out[i] = raw.readInt32LE(4 * i); break;
      case 5: out[i] = raw.readInt8(i); break;
      case 6: out[i] = Number(raw.readBigInt64LE(8 * i)); break;
    }
  }
  return out;
}

/** IEEE 754 half precision to a number. */
export function halfToFloat(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exponent = (h >> 10) & 0x1f;
  const fraction = h & 0x3ff;
  if (exponent === 0) return sign * 2 ** -14 * (fraction / 1024);
  if (exponent === 0x1f) return fraction === 0 ? sign * Infinity : NaN;
  return sign * 2 ** (exponent - 15) * (1 + fraction / 1024);
}
