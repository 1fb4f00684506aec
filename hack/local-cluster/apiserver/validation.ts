import { celFromJson, compileCel, type CelProgram } from './cel.js';
import { deepEqual, isObject, type JsonValue } from './json.js';
import { propertySchema, type Schema, type ValidationRule } from './schema.js';
import type { FieldCause } from './status.js';

const ROOT_FIELDS = new Set(['apiVersion', 'kind', 'metadata']);

const programs = new Map<string, CelProgram>();

/** Compiled once per distinct rule text; compile errors surface at CRD registration. */
export function programFor(rule: string): CelProgram {
  let p = programs.get(rule);
  if (!p) {
    p = compileCel(rule);
    programs.set(rule, p);
  }
  return p;
}

/** Compiles every rule in a schema tree, returning one cause per rule that this evaluator cannot run. */
export function compileRules(s: Schema, path: string): FieldCause[] {
  const causes: FieldCause[] = [];
  s.validations?.forEach((r, i) => {
    try {
      programFor(r.rule);
    } catch (err) {
      causes.push({ reason: 'FieldValueInvalid', field: `${path}.x-kubernetes-validations[${i}].rule`, message: `Invalid value: ${JSON.stringify(r.rule)}: compilation failed: ${(err as Error).message}` });
    }
  });
  for (const [k, c] of Object.entries(s.properties ?? {})) causes.push(...compileRules(c, `${path}.properties[${k}]`));
  if (typeof s.additionalProperties === 'object') causes.push(...compileRules(s.additionalProperties, `${path}.additionalProperties`));
  if (s.items) causes.push(...compileRules(s.items, `${path}.items`));
  return causes;
}

function jsonType(v: JsonValue): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  if (typeof v === 'number') return Number.isInteger(v) ? 'integer' : 'number';
  return isObject(v) ? 'object' : typeof v;
}

function show(v: JsonValue): string {
  return typeof v === 'object' && v !== null ? JSON.stringify(jsonType(v)) : JSON.stringify(v);
}

function typeMatches(v: JsonValue, s: Schema): boolean {
  if (s.intOrString) return typeof v === 'string' || (typeof v === 'number' && Number.isInteger(v));
  switch (s.type) {
    case undefined:
      return true;
    case 'integer':
      return typeof v === 'number' && Number.isInteger(v);
    case 'number':
      return typeof v === 'number';
    case 'array':
      return Array.isArray(v);
    case 'object':
      return isObject(v);
    default:
      return typeof v === s.type;
  }
}

/**
 * Validates a value against a structural schema and its CEL rules, appending one cause
 * per problem. Messages follow the real server's wording, with the field path both in
 * `field` and inside the message ("spec.replicas in body should be ...").
 */
export function validate(v: JsonValue, s: Schema, path: string, causes: FieldCause[], old?: JsonValue, root = false): void {
  const invalid = (detail: string) => causes.push({ reason: 'FieldValueInvalid', field: path, message: `Invalid value: ${show(v)}: ${detail}` });
  if (v === null) {
    if (s.nullable || (!s.type && !s.intOrString)) return;
    causes.push({ reason: 'FieldValueTypeInvalid', field: path, message: `Invalid value: "null": ${path} in body must be of type ${s.type ?? 'integer or string'}: "null"` });
    return;
  }
  if (!typeMatches(v, s)) {
    const want = s.intOrString ? 'integer or string' : s.type;
    causes.push({ reason: 'FieldValueTypeInvalid', field: path, message: `Invalid value: ${JSON.stringify(jsonType(v))}: ${path} in body must be of type ${want}: ${JSON.stringify(jsonType(v))}` });
    return;
  }
  if (s.enum && !s.enum.some((e) => deepEqual(e, v))) {
    causes.push({ reason: 'FieldValueNotSupported', field: path, message: `Unsupported value: ${show(v)}: supported values: ${s.enum.map((e) => JSON.stringify(e)).join(', ')}` });
  }
  if (typeof v === 'number') {
    if (s.minimum !== undefined && (s.exclusiveMinimum ? v <= s.minimum : v < s.minimum)) invalid(`${path} in body should be greater than ${s.exclusiveMinimum ? '' : 'or equal to '}${s.minimum}`);
    if (s.maximum !== undefined && (s.exclusiveMaximum ? v >= s.maximum : v > s.maximum)) invalid(`${path} in body should be less than ${s.exclusiveMaximum ? '' : 'or equal to '}${s.maximum}`);
  }
  if (typeof v === 'string') {
    const len = [...v].length;
    if (s.minLength !== undefined && len < s.minLength) invalid(`${path} in body should be at least ${s.minLength} chars long`);
    if (s.maxLength !== undefined && len > s.maxLength) causes.push({ reason: 'FieldValueTooLong', field: path, message: `Too long: may not be more than ${s.maxLength} bytes` });
    if (s.pattern !== undefined && !new RegExp(s.pattern, 'u').test(v)) invalid(`${path} in body should match '${s.pattern}'`);
  }
  if (Array.isArray(v)) {
    if (s.minItems !== undefined && v.length < s.minItems) invalid(`${path} in body should have at least ${s.minItems} items`);
    if (s.maxItems !== undefined && v.length > s.maxItems) causes.push({ reason: 'FieldValueTooMany', field: path, message: `Too many: ${v.length}: must have at most ${s.maxItems} items` });
    // Items are not correlated with old items (no list-map keys here), so transition rules inside lists are skipped.
    if (s.items) v.forEach((x, i) => validate(x, s.items as Schema, `${path}[${i}]`, causes));
  }
  if (isObject(v)) {
    const n = Object.keys(v).length;
    if (s.minProperties !== undefined && n < s.minProperties) invalid(`${path} in body should have at least ${s.minProperties} properties`);
    if (s.maxProperties !== undefined && n > s.maxProperties) causes.push({ reason: 'FieldValueTooMany', field: path, message: `Too many: ${n}: must have at most ${s.maxProperties} items` });
    for (const req of s.required ?? []) {
      if (v[req] === undefined) causes.push({ reason: 'FieldValueRequired', field: path === '' ? req : `${path}.${req}`, message: 'Required value' });
    }
    const oldObj = isObject(old) ? old : undefined;
    for (const [key, child] of Object.entries(v)) {
      if (root && ROOT_FIELDS.has(key)) continue;
      const cs = propertySchema(s, key);
      const childPath = path === '' ? key : s.properties?.[key] ? `${path}.${key}` : `${path}[${key}]`;
      if (cs) validate(child, cs, childPath, causes, oldObj?.[key]);
    }
  }
  for (const rule of s.validations ?? []) runRule(rule, v, s, path, causes, old);
}

function runRule(rule: ValidationRule, v: JsonValue, s: Schema, path: string, causes: FieldCause[], old: JsonValue | undefined): void {
  const program = programFor(rule.rule);
  if (program.usesOldSelf && old === undefined) return;
  const vars = { self: celFromJson(v, s.type === 'number'), ...(old === undefined ? {} : { oldSelf: celFromJson(old, s.type === 'number') }) };
  const field = rule.fieldPath ? `${path}${rule.fieldPath.startsWith('.') || rule.fieldPath.startsWith('[') ? '' : '.'}${rule.fieldPath}` : path;
  const shown = JSON.stringify(s.type ?? jsonType(v));
  let ok: boolean;
  try {
    const result = program.evaluate(vars);
    if (typeof result !== 'boolean') throw new Error(`rule returned ${typeof result}, not bool`);
    ok = result;
  } catch (err) {
    causes.push({ reason: 'FieldValueInvalid', field, message: `Invalid value: ${shown}: ${(err as Error).message} evaluating rule: ${rule.rule}` });
    return;
  }
  if (ok) return;
  const message = rule.message ?? `failed rule: ${rule.rule}`;
  switch (rule.reason) {
    case 'FieldValueRequired':
      causes.push({ reason: rule.reason, field, message: `Required value: ${message}` });
      break;
    case 'FieldValueForbidden':
      causes.push({ reason: rule.reason, field, message: `Forbidden: ${message}` });
      break;
    case 'FieldValueDuplicate':
      causes.push({ reason: rule.reason, field, message: `Duplicate value: ${message}` });
      break;
    default:
      causes.push({ reason: 'FieldValueInvalid', field, message: `Invalid value: ${shown}: ${message}` });
  }
}
