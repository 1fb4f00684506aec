import { DataFormatError, errorMessage } from '../../../util/errors.js';

/** An edge of the graph: output `output` of node `node`. */
export interface NodeRef {
  node: number;
  output: number;
}

export interface SymbolNode {
  id: number;
  /** Operator name; 'null' for variables (the input, weights, labels). */
  op: string;
  name: string;
  /** Operator parameters and attributes, values as MXNet writes them ("(3, 3)", "True"). */
  attrs: Record<string, string>;
  inputs: NodeRef[];
}

export interface MxSymbol {
  nodes: SymbolNode[];
  heads: NodeRef[];
}

/**
 * Parses a `PREFIX-symbol.json` (nnvm's graph JSON, as `sym.save` writes it): `nodes` in
 * topological order, each with `op`, `name`, `inputs` as [node, output(, version)] and its
 * parameters under `attrs` (MXNet 1.x), `attr` or `param` (older files; nnvm's loader reads
 * all three into one map), and `heads`, the graph's outputs.
 */
export function parseSymbolJson(text: string, uri: string): MxSymbol {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw new DataFormatError(uri, undefined, `not JSON: ${errorMessage(err)}`);
  }
  const fail = (detail: string): DataFormatError => new DataFormatError(uri, undefined, detail);
  if (!isObject(parsed)) throw fail('not a JSON object');
  if (!Array.isArray(parsed.nodes) || parsed.nodes.length === 0) throw fail("has no 'nodes' list: not an MXNet symbol file");
  const nodes = parsed.nodes.map((raw: unknown, id: number): SymbolNode => {
    if (!isObject(raw)) throw fail(`node ${id} is not an object`);
    const { op, name } = raw;
    if (typeof op !== 'string' || op === '') throw fail(`node ${id} has no 'op'`);
    if (typeof name !== 'string' || name === '') throw fail(`node ${id} (${op}) has no 'name'`);
    const where = `node ${id} '${name}' (${op})`;
    const attrs: Record<string, string> = {};
    for (const key of ['param', 'attr', 'attrs'] as const) {
      const group = raw[key];
      if (group === undefined) continue;
      if (!isObject(group)) throw fail(`${where}: '${key}' is not an object`);
      for (const [k, v] of Object.entries(group)) {
        if (typeof v !== 'string') throw fail(`${where}: attribute '${k}' is not a string`);
        attrs[k] = v;
      }
    }
    const inputs = raw.inputs === undefined ? [] : raw.inputs;
    if (!Array.isArray(inputs)) throw fail(`${where}: 'inputs' is not a list`);
    return { id, op, name, attrs, inputs: inputs.map((ref: unknown, k: number) => nodeRef(ref, id, `${where} input ${k}`, fail)) };
  });
  if (!Array.isArray(parsed.heads) || parsed.heads.length === 0) throw fail("has no 'heads' (the graph's outputs)");
  const heads = parsed.heads.map((ref: unknown, k: number) => nodeRef(ref, nodes.length, `head ${k}`, fail));
  return { nodes, heads };
}

function nodeRef(ref: unknown, before: number, where: string, fail: (d: string) => Error): NodeRef {
  if (!Array.isArray(ref) || ref.length < 2 || ref.length > 3 || !ref.every((v) => Number.isInteger(v) && v >= 0)) {
    throw fail(`${where} is not [node, output] or [node, output, version]: ${JSON.stringify(ref)}`);
  }
  const [node, output] = ref as number[];
  // Nodes are stored in topological order: an input always comes earlier.
  if (node >= before) throw fail(`${where} refers to node ${node}, which does not come before it`);
  return { node, output };
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
