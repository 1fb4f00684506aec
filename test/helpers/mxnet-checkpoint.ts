/**
 * A writer of MXNet checkpoints for tests, from the format description (not from MXNet):
 * the NDArray list of src/ndarray/ndarray.cc NDArray::Save (list magic 0x112, a reserved
 * word, the arrays, the names), each array in one of the layouts MXNet has written over
 * the years, and an nnvm graph JSON for the symbol.
 */

export type WriteLayout = 'v3' | 'v2' | 'v1' | 'legacy';
export type WriteDtype = 'float32' | 'float64' | 'float16';

export interface WriteArray {
  shape: number[];
  data: ArrayLike<number>;
  dtype?: WriteDtype;
}

class Bytes {
  private chunks: Buffer[] = [];
  u32(v: number): this {
    const b = Buffer.alloc(4);
    b.writeUInt32LE(v);
    this.chunks.push(b);
    return this;
  }
  i32(v: number): this {
    const b = Buffer.alloc(4);
    b.writeInt32LE(v);
    this.chunks.push(b);
    return this;
  }
  u64(v: number | bigint): this {
    const b = Buffer.alloc(8);
    b.writeBigUInt64LE(BigInt(v));
    this.chunks.push(b);
    return this;
  }
  i64(v: number): this {
    const b = Buffer.alloc(8);
    b.writeBigInt64LE(BigInt(v));
    this.chunks.push(b);
    return this;
  }
  raw(b: Buffer): this {
    this.chunks.push(b);
    return this;
  }
  done(): Buffer {
    return Buffer.concat(this.chunks);
  }
}

const TYPE_FLAG: Record<WriteDtype, number> = { float32: 0, float64: 1, float16: 2 };

/** float -> IEEE half (round to nearest, normal range only; enough for test values). */
export function toHalf(value: number): number {
  const f = new Float32Array([value]);
  const bits = new Uint32Array(f.buffer)[0];
  const sign = (bits >>> 16) & 0x8000;
  const exponent = ((bits >>> 23) & 0xff) - 127 + 15;
  const mantissa = bits & 0x7fffff;
  if (exponent <= 0) return sign;
  if (exponent >= 31) return sign | 0x7c00;
  let half = sign | (exponent << 10) | (mantissa >>> 13);
  if (mantissa & 0x1000) half++;
  return half;
}

function payload(array: WriteArray): Buffer {
  const dtype = array.dtype ?? 'float32';
  const n = array.data.length;
  const size = { float32: 4, float64: 8, float16: 2 }[dtype];
  const b = Buffer.alloc(n * size);
  for (let i = 0; i < n; i++) {
    const v = array.data[i];
    if (dtype === 'float32') b.writeFloatLE(v, 4 * i);
    else if (dtype === 'float64') b.writeDoubleLE(v, 8 * i);
    else b.writeUInt16LE(toHalf(v), 2 * i);
  }
  return b;
}

/** One array as NDArray::Save (V2/V3), V1 or pre-1.0 MXNet wrote it. */
export function ndarrayBytes(array: WriteArray, layout: WriteLayout): Buffer {
  const out = new Bytes();
  const flag = TYPE_FLAG[array.dtype ?? 'float32'];
  if (layout === 'legacy') {
    // No magic: ndim as uint32, the dims as uint32.
    out.u32(array.shape.length);
    for (const d of array.shape) out.u32(d);
  } else {
    out.u32({ v1: 0xf993fac8, v2: 0xf993fac9, v3: 0xf993faca }[layout]);
    if (layout !== 'v1') out.i32(0); // dense storage
    out.i32(array.shape.length); // mxnet::Tuple::Save: int ndim, then int64 dims
    for (const d of array.shape) out.i64(d);
  }
  out.i32(1).i32(0); // context: cpu(0)
  out.i32(flag);
  out.raw(payload(array));
  return out.done();
}

/** An NDArray list file (mx.nd.save): names as given, e.g. 'arg:conv0_weight'. */
export function ndarrayListBytes(arrays: Map<string, WriteArray> | [string, WriteArray][], layout: WriteLayout): Buffer {
  const entries = [...arrays];
  const out = new Bytes().u64(0x112).u64(0).u64(entries.length);
  for (const [, array] of entries) out.raw(ndarrayBytes(array, layout));
  out.u64(entries.length);
  for (const [name] of entries) {
    const bytes = Buffer.from(name, 'utf8');
    out.u64(bytes.length).raw(bytes);
  }
  return out.done();
}

export interface GraphNode {
  op: string;
  name: string;
  attrs?: Record<string, string>;
  inputs?: string[];
}

/**
 * A symbol JSON for nodes given in topological order, inputs by node name. `style`
 * chooses where parameters go: 'attrs' (MXNet 1.x) or the pre-1.0 'param' key (with
 * hidden attributes under 'attr'), and whether edges carry the version field.
 */
export function symbolJson(nodes: GraphNode[], head: string, style: 'attrs' | 'param' = 'attrs'): string {
  const index = new Map<string, number>();
  const out = nodes.map((node, i) => {
    index.set(node.name, i);
    const edge = (name: string) => {
      const at = index.get(name);
      if (at === undefined) throw new Error(`test graph: ${node.name} reads ${name} before it is defined`);
      return style === 'attrs' ? [at, 0, 0] : [at, 0];
    };
    const entry: Record<string, unknown> = { op: node.op, name: node.name, inputs: (node.inputs ?? []).map(edge) };
    const params = node.attrs ?? {};
    if (style === 'attrs') {
      if (Object.keys(params).length > 0) entry.attrs = params;
    } else {
      entry.param = params;
      entry.attr = { __lr_mult__: '1.0' };
      entry.backward_source_id = -1;
    }
    return entry;
  });
  const argNodes = nodes.flatMap((n, i) => (n.op === 'null' ? [i] : []));
  const headAt = index.get(head);
  if (headAt === undefined) throw new Error(`test graph: no head ${head}`);
  return JSON.stringify({
    nodes: out,
    arg_nodes: argNodes,
    node_row_ptr: nodes.map((_, i) => i).concat([nodes.length]),
    heads: [style === 'attrs' ? [headAt, 0, 0] : [headAt, 0]],
    ...(style === 'attrs' ? { attrs: { mxnet_version: ['int', 10901] } } : {}),
  }, null, 2);
}
