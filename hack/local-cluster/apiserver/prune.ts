import { clone, isObject, type JsonObject, type JsonValue } from './json.js';
import { propertySchema, type Schema } from './schema.js';

/** Root fields every object may carry whatever its schema says. */
const ROOT_FIELDS = new Set(['apiVersion', 'kind', 'metadata']);

function keepsUnknown(s: Schema): boolean {
  return s.preserveUnknownFields === true || typeof s.additionalProperties === 'object' || s.additionalProperties === true;
}

/**
 * Drops fields the structural schema does not declare, and nulls of non-nullable fields,
 * as the real server does for custom resources. Returns the dotted paths of dropped
 * unknown fields so that `fieldValidation=Strict` can reject them and `Warn` can report them.
 */
export function prune(obj: JsonObject, schema: Schema): string[] {
  const unknown: string[] = [];
  pruneObject(obj, schema, '', unknown, true);
  return unknown;
}

function join(path: string, key: string): string {
  return path === '' ? key : `${path}.${key}`;
}

function pruneValue(v: JsonValue, s: Schema, path: string, unknown: string[]): void {
  if (isObject(v)) pruneObject(v, s, path, unknown, s.embeddedResource === true);
  else if (Array.isArray(v) && s.items) v.forEach((x, i) => pruneValue(x, s.items as Schema, `${path}[${i}]`, unknown));
}

function pruneObject(obj: JsonObject, s: Schema, path: string, unknown: string[], root: boolean): void {
  for (const key of Object.keys(obj)) {
    if (root && ROOT_FIELDS.has(key)) {
      // metadata belongs to the server; only the schema's own declared sub-fields would apply.
      continue;
    }
    const child = propertySchema(s, key);
    if (!child) {
      if (!keepsUnknown(s)) {
        unknown.push(join(path, key));
        delete obj[key];
      }
      continue;
    }
    const v = obj[key];
    if (v === null && child.nullable !== true) {
      delete obj[key];
      continue;
    }
    pruneValue(v, child, join(path, key), unknown);
  }
}

/** Fills `default` values top-down, including inside defaulted values, list items and map values. */
export function applyDefaults(v: JsonValue, s: Schema): void {
  if (isObject(v)) {
    if (s.properties) {
      for (const [key, child] of Object.entries(s.properties)) {
        if (v[key] === undefined && child.default !== undefined) v[key] = clone(child.default);
      }
    }
    for (const [key, child] of Object.entries(v)) {
      const cs = propertySchema(s, key);
      if (cs && child !== null) applyDefaults(child, cs);
    }
  } else if (Array.isArray(v) && s.items) {
    for (const x of v) applyDefaults(x, s.items);
  }
}
