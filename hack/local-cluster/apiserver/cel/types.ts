/**
 * CEL types of a structural schema, and JSON values turned into CEL values, as the
 * Kubernetes apiextensions server builds them (apiextensions-apiserver
 * pkg/apiserver/schema/cel/model/schemas.go, SchemaDeclType; values.go, UnstructuredToVal).
 */
import type { CelInput, CelType } from '@bufbuild/cel';
import { isObject, type JsonValue } from '../json.js';
import type { Schema } from '../schema.js';

/** A type as the checker sees it. `unknown` is the element of an empty list literal, still to be unified. */
export type DeclType =
  | { readonly kind: 'scalar'; readonly name: string }
  | { readonly kind: 'list'; readonly elem: DeclType }
  | { readonly kind: 'map'; readonly key: DeclType; readonly value: DeclType }
  | { readonly kind: 'object'; readonly name: string; readonly fields: ReadonlyMap<string, DeclType> };

const scalars = new Map<string, DeclType>();
/** One object per scalar type, so types compare by identity. */
const scalar = (name: string): DeclType => {
  let t = scalars.get(name);
  if (!t) {
    t = { kind: 'scalar', name };
    scalars.set(name, t);
  }
  return t;
};
export const T = {
  int: scalar('int'),
  uint: scalar('uint'),
  double: scalar('double'),
  string: scalar('string'),
  bool: scalar('bool'),
  bytes: scalar('bytes'),
  null: scalar('null_type'),
  dyn: scalar('dyn'),
  type: scalar('type'),
  /** Set after an error so one mistake is reported once, not at every enclosing call. */
  error: scalar('*error*'),
  unknown: scalar('*unknown*'),
};

export const listOf = (elem: DeclType): DeclType => ({ kind: 'list', elem });
export const mapOf = (key: DeclType, value: DeclType): DeclType => ({ kind: 'map', key, value });

/** How cel-go prints a type in its messages: list(int), map(string, dyn), the object's name. */
export function typeName(t: DeclType): string {
  switch (t.kind) {
    case 'scalar':
      return t === T.unknown ? 'dyn' : t.name;
    case 'list':
      return `list(${typeName(t.elem)})`;
    case 'map':
      return `map(${typeName(t.key)}, ${typeName(t.value)})`;
    case 'object':
      return t.name;
  }
}

export function isDynLike(t: DeclType): boolean {
  return t === T.dyn || t === T.unknown || t === T.error;
}

/** The library's declared types (list(dyn), google.protobuf.Timestamp, ...) as checker types. */
export function fromLibraryType(t: CelType): DeclType {
  switch (t.kind) {
    case 'scalar':
      return t.name === 'dyn' ? T.dyn : scalar(t.name);
    case 'list':
      return listOf(fromLibraryType(t.element));
    case 'map':
      return mapOf(fromLibraryType(t.key), fromLibraryType(t.value));
    case 'object':
      return scalar(t.name);
  }
}

/** Whether a value of type `arg` may be passed where `param` is declared (dyn matches anything). */
export function isAssignable(param: DeclType, arg: DeclType): boolean {
  if (isDynLike(param) || isDynLike(arg)) return true;
  if (param.kind === 'list' && arg.kind === 'list') return isAssignable(param.elem, arg.elem);
  if (param.kind === 'map' && arg.kind === 'map') return isAssignable(param.key, arg.key) && isAssignable(param.value, arg.value);
  if (param.kind === 'object' && arg.kind === 'object') return param.name === arg.name;
  return param.kind === 'scalar' && arg.kind === 'scalar' && param.name === arg.name;
}

/** The common type of two branches or elements: the more specific one, or undefined when they differ. */
export function join(a: DeclType, b: DeclType): DeclType | undefined {
  if (a === T.unknown || a === T.error) return b;
  if (b === T.unknown || b === T.error) return a;
  if (a.kind === 'list' && b.kind === 'list') {
    const elem = join(a.elem, b.elem);
    return elem && listOf(elem);
  }
  if (a.kind === 'map' && b.kind === 'map') {
    const key = join(a.key, b.key);
    const value = join(a.value, b.value);
    return key && value && mapOf(key, value);
  }
  if (a === T.dyn || b === T.dyn) return T.dyn;
  return isAssignable(a, b) ? a : undefined;
}

const RESERVED = new Set(['true', 'false', 'null', 'in', 'as', 'break', 'const', 'continue', 'else', 'for', 'function', 'if', 'import', 'let', 'loop', 'package', 'namespace', 'return', 'var', 'void', 'while']);

/**
 * A property name as a CEL identifier, escaped as apiextensions does (`__dash__`, `__dot__`,
 * `__slash__`, `__underscores__`, `__{keyword}__`); undefined when it cannot be escaped.
 */
export function escapeName(name: string): string | undefined {
  if (RESERVED.has(name)) return `__${name}__`;
  if (!/^[a-zA-Z_.\-/][a-zA-Z0-9_.\-/]*$/.test(name)) return undefined;
  return name.replace(/__/g, '__underscores__').replace(/\./g, '__dot__').replace(/-/g, '__dash__').replace(/\//g, '__slash__');
}

/** apiVersion, kind and metadata (name and generateName only) of a resource root or embedded resource. */
function withTypeAndObjectMeta(fields: Map<string, DeclType>): void {
  fields.set('apiVersion', T.string);
  fields.set('kind', T.string);
  fields.set('metadata', { kind: 'object', name: 'metadata', fields: new Map([['name', T.string], ['generateName', T.string]]) });
}

/** The CEL type of the values a schema node admits. */
export function declTypeOf(s: Schema, resourceRoot = false, name = 'self'): DeclType {
  if (s.intOrString) return T.dyn;
  switch (s.type) {
    case 'integer':
      return T.int;
    case 'number':
      return T.double;
    case 'boolean':
      return T.bool;
    case 'string':
      return T.string;
    case 'array':
      return listOf(s.items ? declTypeOf(s.items, s.items.embeddedResource === true, `${name}.@idx`) : T.dyn);
    case 'object': {
      if (typeof s.additionalProperties === 'object') return mapOf(T.string, declTypeOf(s.additionalProperties, false, `${name}.@elem`));
      if (!s.properties && !resourceRoot && !s.embeddedResource && s.preserveUnknownFields) return T.dyn;
      const fields = new Map<string, DeclType>();
      for (const [k, child] of Object.entries(s.properties ?? {})) {
        const escaped = escapeName(k);
        if (escaped !== undefined) fields.set(escaped, declTypeOf(child, child.embeddedResource === true, `${name}.${k}`));
      }
      if (resourceRoot || s.embeddedResource) withTypeAndObjectMeta(fields);
      return { kind: 'object', name, fields };
    }
    default:
      return T.dyn;
  }
}

/** An untyped JSON value: whole numbers are ints, as Kubernetes decodes JSON into int64. */
function dynValue(v: JsonValue): CelInput {
  if (typeof v === 'number') return Number.isInteger(v) ? BigInt(v) : v;
  if (Array.isArray(v)) return v.map(dynValue);
  if (isObject(v)) return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, dynValue(x)]));
  return v;
}

/** A JSON value as the CEL value of its schema node: ints are bigint, doubles number, object keys escaped. */
export function celValueOf(v: JsonValue, s: Schema, resourceRoot = false): CelInput {
  if (v === null) return null;
  if (s.intOrString || s.type === undefined) return dynValue(v);
  if (s.type === 'integer' && typeof v === 'number') return BigInt(Math.trunc(v));
  if (Array.isArray(v)) return v.map((x) => (s.items ? celValueOf(x, s.items, s.items.embeddedResource === true) : dynValue(x)));
  if (!isObject(v)) return v;
  if (typeof s.additionalProperties === 'object') {
    const ap = s.additionalProperties;
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, celValueOf(x, ap)]));
  }
  if (!s.properties && !resourceRoot && !s.embeddedResource && s.preserveUnknownFields) return dynValue(v);
  const out: Record<string, CelInput> = {};
  for (const [k, x] of Object.entries(v)) {
    const child = s.properties?.[k];
    const escaped = escapeName(k);
    if (escaped === undefined) continue;
    if (child) out[escaped] = celValueOf(x, child, child.embeddedResource === true);
    else if ((resourceRoot || s.embeddedResource) && (k === 'apiVersion' || k === 'kind')) out[k] = dynValue(x);
    else if ((resourceRoot || s.embeddedResource) && k === 'metadata' && isObject(x)) {
      // Rules see only the name and generateName of an object's metadata.
      const meta: Record<string, CelInput> = {};
      if (typeof x.name === 'string') meta.name = x.name;
      if (typeof x.generateName === 'string') meta.generateName = x.generateName;
      out.metadata = meta;
    } else if (s.preserveUnknownFields) out[escaped] = dynValue(x);
  }
  return out;
}
