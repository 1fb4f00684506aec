/**
 * The values a pickle can produce in this reader. Python objects that have no direct
 * JavaScript counterpart are tagged classes; nothing here can run code.
 *
 * - None, bool, int (when safe), float: null, boolean, number
 * - py2 str, py3 bytes: Buffer (a view of the pickle's bytes, never copied)
 * - unicode / py3 str: string
 * - list: array; tuple: PyTuple; dict: Map (bytes keys become latin1 strings)
 * - a global reference (module.name): PyGlobal; numpy arrays and dtypes: NdArray, NumpyDType
 */
export type PickleValue =
  | null
  | boolean
  | number
  | string
  | Buffer
  | PickleValue[]
  | PyTuple
  | PickleDict
  | PyGlobal
  | NdArray
  | NumpyDType;

export type PickleKey = string | number | boolean | null;
export type PickleDict = Map<PickleKey, PickleValue>;

export class PyTuple {
  constructor(readonly items: readonly PickleValue[]) {}
}

/** A reference to a Python global, kept as a name: it is never imported or called. */
export class PyGlobal {
  constructor(
    readonly module: string,
    readonly name: string,
  ) {}

  get qualifiedName(): string {
    return `${this.module}.${this.name}`;
  }
}

/** A numpy dtype for plain numbers: kind b(ool), i(nt), u(int) or f(loat), and its size. */
export class NumpyDType {
  /** '|' (not applicable), '<' little, '>' big or '=' native; set by the pickle's BUILD. */
  byteOrder = '|';

  constructor(
    readonly kind: 'b' | 'i' | 'u' | 'f',
    readonly itemSize: number,
  ) {}

  /** numpy's short name, e.g. "u1". */
  get descr(): string {
    return `${this.kind}${this.itemSize}`;
  }
}

/** A numpy ndarray: shape, dtype and the raw element bytes (a view into the pickle). */
export class NdArray {
  constructor(
    public shape: number[],
    public dtype: NumpyDType,
    public fortranOrder: boolean,
    public data: Buffer,
  ) {}
}

/** Converts a dict key as pickled (py2 str is bytes) to the key used in the Map. */
export function toPickleKey(value: PickleValue): PickleKey | undefined {
  if (Buffer.isBuffer(value)) return value.toString('latin1');
  if (value === null || typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') return value;
  return undefined;
}

/** Text from a py2 str (bytes, decoded as UTF-8) or a unicode string; undefined for anything else. */
export function pickleText(value: PickleValue | undefined): string | undefined {
  if (typeof value === 'string') return value;
  if (Buffer.isBuffer(value)) return value.toString('utf8');
  return undefined;
}

/** Python type name of a value, for error messages. */
export function pickleTypeName(value: PickleValue | undefined): string {
  if (value === undefined) return 'nothing';
  if (value === null) return 'None';
  if (typeof value === 'boolean') return 'bool';
  if (typeof value === 'number') return Number.isInteger(value) ? 'int' : 'float';
  if (typeof value === 'string') return 'unicode';
  if (Buffer.isBuffer(value)) return 'str';
  if (Array.isArray(value)) return 'list';
  if (value instanceof Map) return 'dict';
  if (value instanceof PyTuple) return 'tuple';
  if (value instanceof PyGlobal) return `global ${value.qualifiedName}`;
  if (value instanceof NdArray) return 'numpy.ndarray';
  return 'numpy.dtype';
}
