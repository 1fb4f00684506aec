import { NdArray, NumpyDType, PyGlobal, PyTuple, pickleText, pickleTypeName, type PickleValue } from './pickle-values.js';

/** Throws an error that names the opcode and offset; supplied by the unpickler. */
export type Fail = (detail: string) => never;

const RECONSTRUCT = new Set(['numpy.core.multiarray._reconstruct', 'numpy._core.multiarray._reconstruct']);

/**
 * REDUCE restricted to the constructors numpy uses to pickle arrays (plus the
 * `_codecs.encode` that Python 3 uses to pickle bytes at protocol 2). Each is
 * re-implemented here on inert data; any other callable is refused.
 */
export function reduceWhitelisted(callable: PickleValue, args: PickleValue, fail: Fail): PickleValue {
  if (!(callable instanceof PyGlobal)) return fail(`REDUCE of a ${pickleTypeName(callable)} is not allowed`);
  if (!(args instanceof PyTuple)) return fail(`REDUCE arguments must be a tuple, got ${pickleTypeName(args)}`);
  const name = callable.qualifiedName;
  if (RECONSTRUCT.has(name)) {
    const cls = args.items[0];
    if (!(cls instanceof PyGlobal) || cls.qualifiedName !== 'numpy.ndarray') {
      return fail(`${name} may only build numpy.ndarray, got ${pickleTypeName(cls)}`);
    }
    // An empty placeholder; BUILD supplies shape, dtype and data.
    return new NdArray([0], new NumpyDType('u', 1), false, Buffer.alloc(0));
  }
  if (name === 'numpy.dtype') return parseDType(pickleText(args.items[0]), fail);
  if (name === '_codecs.encode') {
    const text = args.items[0];
    const encoding = pickleText(args.items[1])?.toLowerCase().replace(/[-_]/g, '');
    if (typeof text !== 'string' || (encoding !== 'latin1' && encoding !== 'iso88591')) {
      return fail('_codecs.encode is only supported for latin1-encoded bytes');
    }
    return Buffer.from(text, 'latin1');
  }
  return fail(`REDUCE of ${name} is not allowed (only numpy array constructors are)`);
}

function parseDType(descr: string | undefined, fail: Fail): NumpyDType {
  const match = descr === undefined ? null : /^[<>=|]?([biuf])(\d+)$/.exec(descr);
  if (!match) return fail(`numpy dtype ${JSON.stringify(descr ?? null)} is not supported (only bool, int, uint and float)`);
  return new NumpyDType(match[1] as NumpyDType['kind'], Number(match[2]));
}

function intsOf(value: PickleValue | undefined): number[] | undefined {
  if (!(value instanceof PyTuple)) return undefined;
  const out: number[] = [];
  for (const item of value.items) {
    if (typeof item !== 'number' || !Number.isInteger(item) || item < 0) return undefined;
    out.push(item);
  }
  return out;
}

/** BUILD (__setstate__) for numpy dtypes and arrays; refused for anything else. */
export function buildWhitelisted(target: PickleValue, state: PickleValue, fail: Fail): void {
  if (!(state instanceof PyTuple)) return fail(`BUILD state must be a tuple, got ${pickleTypeName(state)}`);
  if (target instanceof NumpyDType) {
    // (version, byteorder, subarray, names, fields, elsize, alignment, flags[, metadata])
    const [, byteOrder, subarray, names, fields] = state.items;
    const order = pickleText(byteOrder);
    if (order === undefined || !/^[<>=|]$/.test(order)) return fail(`numpy dtype byte order ${pickleTypeName(byteOrder)} is invalid`);
    if (subarray !== null || names !== null || fields !== null) return fail('structured numpy dtypes are not supported');
    target.byteOrder = order;
    return;
  }
  if (target instanceof NdArray) {
    // (version, shape, dtype, is_fortran, rawdata); very old numpy omits the version.
    const items = state.items.length === 5 ? state.items.slice(1) : state.items;
    const [shapeValue, dtype, fortran, raw] = items;
    const shape = intsOf(shapeValue);
    if (shape === undefined) return fail('numpy array shape must be a tuple of non-negative ints');
    if (!(dtype instanceof NumpyDType)) return fail(`numpy array dtype must be a dtype, got ${pickleTypeName(dtype)}`);
    if (!Buffer.isBuffer(raw)) return fail(`numpy array data must be a byte string, got ${pickleTypeName(raw)} (object arrays are not supported)`);
    const expected = shape.reduce((a, b) => a * b, 1) * dtype.itemSize;
    if (raw.length !== expected) {
      return fail(`numpy array of shape (${shape.join(', ')}) and dtype ${dtype.descr} needs ${expected} bytes, the pickle holds ${raw.length}`);
    }
    target.shape = shape;
    target.dtype = dtype;
    target.fortranOrder = fortran === true || fortran === 1;
    target.data = raw;
    return;
  }
  return fail(`BUILD of ${pickleTypeName(target)} is not allowed`);
}
