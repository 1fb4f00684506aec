/**
 * Test helpers around crds/cifartrainingjobs.yaml: load it, walk its schema, apply its
 * defaults the way the API server does, validate a manifest against the structural schema
 * and the x-kubernetes-validations rules (the CEL subset the CRD promises to stay within),
 * and render the field tables of docs/api.md.
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse, parseAllDocuments } from 'yaml';

export const REPO_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const CRD_PATH = join(REPO_ROOT, 'crds', 'cifartrainingjobs.yaml');

export interface CelRule {
  rule: string;
  message?: string;
}

export interface SchemaNode {
  type?: string;
  description?: string;
  default?: unknown;
  enum?: unknown[];
  required?: string[];
  properties?: Record<string, SchemaNode>;
  items?: SchemaNode;
  additionalProperties?: SchemaNode | boolean;
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: boolean;
  exclusiveMaximum?: boolean;
  minLength?: number;
  minItems?: number;
  maxItems?: number;
  format?: string;
  'x-kubernetes-preserve-unknown-fields'?: boolean;
  'x-kubernetes-int-or-string'?: boolean;
  'x-kubernetes-validations'?: CelRule[];
  'x-kubernetes-list-type'?: string;
  'x-kubernetes-list-map-keys'?: string[];
}

export interface CrdVersion {
  name: string;
  served: boolean;
  storage: boolean;
  subresources?: { status?: unknown };
  additionalPrinterColumns?: Array<{ name: string; type: string; jsonPath: string }>;
  schema: { openAPIV3Schema: SchemaNode };
}

export interface Crd {
  apiVersion: string;
  kind: string;
  metadata: { name: string };
  spec: {
    group: string;
    scope: string;
    names: { kind: string; plural: string; singular: string; shortNames?: string[]; categories?: string[] };
    versions: CrdVersion[];
  };
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

export function loadCrd(): Crd {
  const parsed: unknown = parse(readFileSync(CRD_PATH, 'utf8'));
  if (!isRecord(parsed) || parsed.kind !== 'CustomResourceDefinition') throw new Error(`${CRD_PATH}: not a CustomResourceDefinition`);
  return parsed as unknown as Crd;
}

export function rootSchema(crd: Crd = loadCrd()): SchemaNode {
  const version = crd.spec.versions.find((v) => v.name === 'v1alpha1');
  if (version === undefined) throw new Error(`${CRD_PATH}: no v1alpha1 version`);
  return version.schema.openAPIV3Schema;
}

export function subSchema(root: SchemaNode, name: 'spec' | 'status'): SchemaNode {
  const node = root.properties?.[name];
  if (node === undefined) throw new Error(`${CRD_PATH}: schema has no ${name}`);
  return node;
}

/** Reads a YAML file with one or more documents. */
export function loadManifests(path: string): unknown[] {
  return parseAllDocuments(readFileSync(path, 'utf8')).map((doc) => doc.toJS() as unknown);
}

// ---------------------------------------------------------------- schema walking

export interface SchemaField {
  /** Dotted path; array items add `[]`, e.g. tolerations[].key. */
  path: string;
  node: SchemaNode;
  required: boolean;
}

/** Every property below `node`, parents before children. */
export function schemaFields(node: SchemaNode, prefix = ''): SchemaField[] {
  const out: SchemaField[] = [];
  for (const [name, child] of Object.entries(node.properties ?? {})) {
    const path = prefix === '' ? name : `${prefix}.${name}`;
    out.push({ path, node: child, required: node.required?.includes(name) ?? false });
    if (child.properties !== undefined) out.push(...schemaFields(child, path));
    if (child.items?.properties !== undefined) out.push(...schemaFields(child.items, `${path}[]`));
  }
  return out;
}

/** Defaulting as the API server does it: top-down, into objects that exist or were just defaulted. */
export function applySchemaDefaults(node: SchemaNode, value: unknown): unknown {
  if (Array.isArray(value)) return node.items === undefined ? value : value.map((v) => applySchemaDefaults(node.items as SchemaNode, v));
  if (!isRecord(value) || node.properties === undefined) return value;
  const out: Record<string, unknown> = { ...value };
  for (const [name, child] of Object.entries(node.properties)) {
    if (out[name] === undefined && child.default !== undefined) out[name] = structuredClone(child.default);
    if (out[name] !== undefined) out[name] = applySchemaDefaults(child, out[name]);
  }
  return out;
}

// ---------------------------------------------------------------- validation

/** Structural checks (types, enums, bounds, required) and then the CEL rules; errors name the field. */
export function validateAgainstSchema(node: SchemaNode, value: unknown, path: string): string[] {
  const errors: string[] = [];
  const fail = (detail: string): void => {
    errors.push(`${path}: ${detail}`);
  };
  if (node['x-kubernetes-int-or-string'] === true) {
    if (typeof value !== 'string' && !Number.isInteger(value)) fail('must be an integer or a string');
    return errors;
  }
  switch (node.type) {
    case 'object': {
      if (!isRecord(value)) return [`${path}: must be an object`];
      for (const name of node.required ?? []) if (value[name] === undefined) fail(`Required value: ${name}`);
      for (const [name, child] of Object.entries(value)) {
        const schema = node.properties?.[name] ?? (isRecord(node.additionalProperties) ? node.additionalProperties : undefined);
        if (schema !== undefined) errors.push(...validateAgainstSchema(schema, child, `${path}.${name}`));
        else if (node['x-kubernetes-preserve-unknown-fields'] !== true && node.properties !== undefined) fail(`unknown field "${name}"`);
      }
      break;
    }
    case 'array':
      if (!Array.isArray(value)) return [`${path}: must be an array`];
      if (node.minItems !== undefined && value.length < node.minItems) fail(`must have at least ${node.minItems} items`);
      if (node.maxItems !== undefined && value.length > node.maxItems) fail(`must have at most ${node.maxItems} items`);
      value.forEach((item, i) => {
        if (node.items !== undefined) errors.push(...validateAgainstSchema(node.items, item, `${path}[${i}]`));
      });
      break;
    case 'string':
      if (typeof value !== 'string') return [`${path}: must be a string`];
      if (node.minLength !== undefined && value.length < node.minLength) fail(`must be at least ${node.minLength} characters`);
      break;
    case 'integer':
    case 'number': {
      if (typeof value !== 'number' || (node.type === 'integer' && !Number.isInteger(value))) return [`${path}: must be ${node.type === 'integer' ? 'an integer' : 'a number'}`];
      if (node.minimum !== undefined && (node.exclusiveMinimum === true ? value <= node.minimum : value < node.minimum)) {
        fail(`must be ${node.exclusiveMinimum === true ? 'greater than' : 'at least'} ${node.minimum}`);
      }
      if (node.maximum !== undefined && (node.exclusiveMaximum === true ? value >= node.maximum : value > node.maximum)) {
        fail(`must be ${node.exclusiveMaximum === true ? 'less than' : 'at most'} ${node.maximum}`);
      }
      break;
    }
    case 'boolean':
      if (typeof value !== 'boolean') fail('must be a boolean');
      break;
  }
  if (node.enum !== undefined && !node.enum.includes(value)) fail(`Unsupported value ${JSON.stringify(value)}: supported values: ${node.enum.map((v) => JSON.stringify(v)).join(', ')}`);
  if (errors.length === 0) {
    for (const rule of node['x-kubernetes-validations'] ?? []) {
      let ok: unknown;
      try {
        ok = evaluateCel(rule.rule, value);
      } catch (err) {
        fail(`rule ${JSON.stringify(rule.rule)} could not be evaluated: ${err instanceof Error ? err.message : String(err)}`);
        continue;
      }
      if (ok !== true) fail(rule.message ?? `failed rule: ${rule.rule}`);
    }
  }
  return errors;
}

/** Defaults then validates a whole CifarTrainingJob manifest, as `kubectl apply` would meet it. */
export function admitJob(manifest: unknown, root: SchemaNode = rootSchema()): { errors: string[]; defaulted: unknown } {
  const defaulted = applySchemaDefaults(root, manifest);
  if (!isRecord(defaulted)) return { errors: ['manifest is not an object'], defaulted };
  const spec = root.properties?.spec;
  if (spec === undefined || defaulted.spec === undefined) return { errors: ['spec: Required value'], defaulted };
  return { errors: validateAgainstSchema(spec, defaulted.spec, 'spec'), defaulted };
}

// ---------------------------------------------------------------- the CEL subset

type Token = { kind: 'num'; value: number } | { kind: 'str'; value: string } | { kind: 'id'; value: string } | { kind: 'op'; value: string };

const OPERATORS = ['==', '!=', '<=', '>=', '&&', '||', '<', '>', '!', '+', '-', '*', '/', '%', '?', ':', '(', ')', '[', ']', ',', '.'];

function tokenize(src: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < src.length) {
    const c = src[i];
    if (/\s/.test(c)) {
      i++;
    } else if (/[0-9]/.test(c)) {
      const m = /^[0-9]+(\.[0-9]+)?/.exec(src.slice(i)) as RegExpExecArray;
      tokens.push({ kind: 'num', value: Number(m[0]) });
      i += m[0].length;
    } else if (c === "'" || c === '"') {
      const end = src.indexOf(c, i + 1);
      if (end < 0) throw new Error(`unterminated string at ${i}`);
      tokens.push({ kind: 'str', value: src.slice(i + 1, end).replace(/\\\\/g, '\\') });
      i = end + 1;
    } else if (/[A-Za-z_]/.test(c)) {
      const m = /^[A-Za-z_][A-Za-z0-9_]*/.exec(src.slice(i)) as RegExpExecArray;
      tokens.push({ kind: 'id', value: m[0] });
      i += m[0].length;
    } else {
      const op = OPERATORS.find((o) => src.startsWith(o, i));
      if (op === undefined) throw new Error(`unexpected character ${JSON.stringify(c)} at ${i} (outside the supported CEL subset)`);
      tokens.push({ kind: 'op', value: op });
      i += op.length;
    }
  }
  return tokens;
}

type Expr = (self: unknown) => unknown;
const MISSING = Symbol('missing');

function field(base: unknown, name: string): unknown {
  if (!isRecord(base)) throw new Error(`cannot select .${name} from a non-object`);
  if (!(name in base) || base[name] === undefined) throw new Error(`no such key: ${name}`);
  return base[name];
}

class CelParser {
  private pos = 0;
  constructor(private readonly tokens: Token[]) {}

  parseAll(): Expr {
    const expr = this.ternary();
    if (this.pos !== this.tokens.length) throw new Error(`unexpected token at position ${this.pos}`);
    return expr;
  }

  private peek(value: string): boolean {
    const t = this.tokens[this.pos];
    return t !== undefined && (t.kind === 'op' || t.kind === 'id') && t.value === value;
  }

  private expect(value: string): void {
    if (!this.peek(value)) throw new Error(`expected ${value} at token ${this.pos}`);
    this.pos++;
  }

  private ternary(): Expr {
    const cond = this.or();
    if (!this.peek('?')) return cond;
    this.pos++;
    const a = this.ternary();
    this.expect(':');
    const b = this.ternary();
    return (s) => (cond(s) === true ? a(s) : b(s));
  }

  private or(): Expr {
    let left = this.and();
    while (this.peek('||')) {
      this.pos++;
      const l = left;
      const r = this.and();
      left = (s) => l(s) === true || r(s) === true;
    }
    return left;
  }

  private and(): Expr {
    let left = this.relation();
    while (this.peek('&&')) {
      this.pos++;
      const l = left;
      const r = this.relation();
      left = (s) => l(s) === true && r(s) === true;
    }
    return left;
  }

  private relation(): Expr {
    const left = this.additive();
    for (const op of ['==', '!=', '<=', '>=', '<', '>', 'in']) {
      if (!this.peek(op)) continue;
      this.pos++;
      const right = this.additive();
      return (s) => compare(op, left(s), right(s));
    }
    return left;
  }

  private additive(): Expr {
    let left = this.multiplicative();
    while (this.peek('+') || this.peek('-')) {
      const op = (this.tokens[this.pos++] as Token).value as string;
      const l = left;
      const r = this.multiplicative();
      left = (s) => arithmetic(op, l(s), r(s));
    }
    return left;
  }

  private multiplicative(): Expr {
    let left = this.unary();
    while (this.peek('*') || this.peek('/') || this.peek('%')) {
      const op = (this.tokens[this.pos++] as Token).value as string;
      const l = left;
      const r = this.unary();
      left = (s) => arithmetic(op, l(s), r(s));
    }
    return left;
  }

  private unary(): Expr {
    if (this.peek('!')) {
      this.pos++;
      const e = this.unary();
      return (s) => e(s) !== true;
    }
    if (this.peek('-')) {
      this.pos++;
      const e = this.unary();
      return (s) => -(e(s) as number);
    }
    return this.member();
  }

  private member(): Expr {
    let expr = this.primary();
    while (this.peek('.')) {
      this.pos++;
      const name = this.tokens[this.pos++];
      if (name?.kind !== 'id') throw new Error('expected a field or method name after "."');
      if (this.peek('(')) {
        this.pos++;
        const arg = this.ternary();
        this.expect(')');
        const target = expr;
        expr = (s) => method(name.value, target(s), arg(s));
      } else {
        const base = expr;
        expr = (s) => field(base(s), name.value);
      }
    }
    return expr;
  }

  private primary(): Expr {
    const t = this.tokens[this.pos++];
    if (t === undefined) throw new Error('unexpected end of rule');
    if (t.kind === 'num' || t.kind === 'str') return () => t.value;
    if (t.kind === 'op' && t.value === '(') {
      const e = this.ternary();
      this.expect(')');
      return e;
    }
    if (t.kind === 'op' && t.value === '[') {
      const items: Expr[] = [];
      while (!this.peek(']')) {
        items.push(this.ternary());
        if (this.peek(',')) this.pos++;
      }
      this.pos++;
      return (s) => items.map((e) => e(s));
    }
    if (t.kind === 'id') {
      if (t.value === 'true' || t.value === 'false') return () => t.value === 'true';
      if (t.value === 'null') return () => null;
      if (t.value === 'self') return (s) => s;
      if (t.value === 'has' || t.value === 'size') {
        this.expect('(');
        const fn = t.value;
        const arg = fn === 'has' ? this.hasArgument() : this.ternary();
        this.expect(')');
        return fn === 'has' ? arg : (s) => sizeOf(arg(s));
      }
    }
    throw new Error(`unsupported token ${JSON.stringify(t.value)} (outside the supported CEL subset)`);
  }

  /** has(x.y.z): every step but the last must exist; the last is tested. */
  private hasArgument(): Expr {
    const base = this.primary();
    const names: string[] = [];
    while (this.peek('.')) {
      this.pos++;
      const name = this.tokens[this.pos++];
      if (name?.kind !== 'id') throw new Error('has() takes a field selection');
      names.push(name.value);
    }
    if (names.length === 0) throw new Error('has() takes a field selection');
    return (s) => {
      let v = base(s);
      for (const n of names.slice(0, -1)) v = field(v, n);
      if (!isRecord(v)) throw new Error('has() on a non-object');
      const last = names[names.length - 1] as string;
      return (v[last] ?? MISSING) !== MISSING;
    };
  }
}

function sizeOf(v: unknown): number {
  if (typeof v === 'string' || Array.isArray(v)) return v.length;
  if (isRecord(v)) return Object.keys(v).length;
  throw new Error('size() of a scalar');
}

function compare(op: string, a: unknown, b: unknown): boolean {
  switch (op) {
    case '==':
      return JSON.stringify(a) === JSON.stringify(b);
    case '!=':
      return JSON.stringify(a) !== JSON.stringify(b);
    case 'in':
      if (!Array.isArray(b)) throw new Error('"in" needs a list');
      return b.some((x) => JSON.stringify(x) === JSON.stringify(a));
  }
  if (typeof a !== typeof b || (typeof a !== 'number' && typeof a !== 'string')) throw new Error(`cannot compare ${typeof a} ${op} ${typeof b}`);
  const x = a as number | string;
  const y = b as number | string;
  return op === '<' ? x < y : op === '<=' ? x <= y : op === '>' ? x > y : x >= y;
}

function arithmetic(op: string, a: unknown, b: unknown): unknown {
  if (op === '+' && typeof a === 'string' && typeof b === 'string') return a + b;
  if (typeof a !== 'number' || typeof b !== 'number') throw new Error(`arithmetic ${op} on non-numbers`);
  switch (op) {
    case '+':
      return a + b;
    case '-':
      return a - b;
    case '*':
      return a * b;
    case '/':
      if (b === 0) throw new Error('division by zero');
      return Number.isInteger(a) && Number.isInteger(b) ? Math.trunc(a / b) : a / b;
    default:
      if (b === 0) throw new Error('modulus by zero');
      return a % b;
  }
}

function method(name: string, target: unknown, arg: unknown): boolean {
  if (typeof target !== 'string' || typeof arg !== 'string') throw new Error(`${name}() needs strings`);
  switch (name) {
    case 'startsWith':
      return target.startsWith(arg);
    case 'endsWith':
      return target.endsWith(arg);
    case 'contains':
      return target.includes(arg);
    case 'matches':
      return new RegExp(arg).test(target);
  }
  throw new Error(`unsupported method ${name}() (outside the supported CEL subset)`);
}

/** Evaluates one rule of the supported CEL subset against `self`. Throws on anything outside it. */
export function evaluateCel(rule: string, self: unknown): unknown {
  return new CelParser(tokenize(rule)).parseAll()(self);
}

// ---------------------------------------------------------------- docs/api.md tables

function typeLabel(node: SchemaNode): string {
  if (node['x-kubernetes-int-or-string'] === true) return 'int or string';
  if (node.type === 'array') return `array of ${node.items?.properties !== undefined ? 'object' : typeLabel(node.items ?? {})}`;
  if (node.type === 'object' && isRecord(node.additionalProperties)) return `map of ${typeLabel(node.additionalProperties)}`;
  if (node.enum !== undefined) return `enum: ${node.enum.map(String).join(' | ')}`;
  const bounds: string[] = [];
  if (node.minimum !== undefined) bounds.push(`${node.exclusiveMinimum === true ? '>' : '≥'} ${node.minimum}`);
  if (node.maximum !== undefined) bounds.push(`${node.exclusiveMaximum === true ? '<' : '≤'} ${node.maximum}`);
  return bounds.length === 0 ? (node.type ?? 'any') : `${node.type} (${bounds.join(', ')})`;
}

function cell(text: string): string {
  return text.replace(/\|/g, '\\|').replace(/\n/g, ' ');
}

/** The field table for spec or status, one row per property. */
export function renderFieldTable(node: SchemaNode): string {
  const rows = schemaFields(node).map((f) => {
    const dflt = f.node.default === undefined ? (f.required ? 'required' : '') : `\`${JSON.stringify(f.node.default)}\``;
    return `| \`${f.path}\` | ${cell(typeLabel(f.node))} | ${dflt} | ${cell(f.node.description ?? '')} |`;
  });
  return ['| Field | Type | Default | Meaning |', '| --- | --- | --- | --- |', ...rows].join('\n');
}

/** Every x-kubernetes-validations rule below `node`, by the field it sits on. */
export function renderRuleTable(node: SchemaNode, path = 'spec'): string {
  const rows: string[] = [];
  const visit = (n: SchemaNode, p: string): void => {
    for (const r of n['x-kubernetes-validations'] ?? []) rows.push(`| \`${p}\` | ${cell(r.message ?? '')} | \`${cell(r.rule)}\` |`);
    for (const [name, child] of Object.entries(n.properties ?? {})) visit(child, `${p}.${name}`);
  };
  visit(node, path);
  return ['| On | Rejected with | Rule |', '| --- | --- | --- |', ...rows].join('\n');
}
