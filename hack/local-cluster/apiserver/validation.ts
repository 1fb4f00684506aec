/**
 * The one validator of custom resources, used by the API server and by the tests: the
 * OpenAPI checks of a structural schema (kube-openapi's wording), then the
 * x-kubernetes-validations rules, compiled and run with @bufbuild/cel
 * (apiextensions-apiserver pkg/apiserver/schema/cel/validation.go).
 */
import { compiledRules, runExpression, type CompiledRule } from './cel/compile.js';
import { deepEqual, isObject, type JsonValue } from './json.js';
import { propertySchema, type Schema } from './schema.js';
import type { FieldCause } from './status.js';

const ROOT_FIELDS = new Set(['apiVersion', 'kind', 'metadata']);

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
 * The OpenAPI checks of a structural schema, one cause per problem. Messages follow the
 * real server's wording, with the field path both in `field` and inside the message
 * ("spec.replicas in body should be ...").
 */
export function validateSchema(v: JsonValue, s: Schema, path: string, causes: FieldCause[], root = false): void {
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
    if (s.items) v.forEach((x, i) => validateSchema(x, s.items as Schema, `${path}[${i}]`, causes));
  }
  if (isObject(v)) {
    const n = Object.keys(v).length;
    if (s.minProperties !== undefined && n < s.minProperties) invalid(`${path} in body should have at least ${s.minProperties} properties`);
    if (s.maxProperties !== undefined && n > s.maxProperties) causes.push({ reason: 'FieldValueTooMany', field: path, message: `Too many: ${n}: must have at most ${s.maxProperties} items` });
    for (const req of s.required ?? []) {
      if (v[req] === undefined) causes.push({ reason: 'FieldValueRequired', field: path === '' ? req : `${path}.${req}`, message: 'Required value' });
    }
    for (const [key, child] of Object.entries(v)) {
      if (root && ROOT_FIELDS.has(key)) continue;
      const cs = propertySchema(s, key);
      if (cs) validateSchema(child, cs, childPath(path, s, key), causes);
    }
  }
}

function childPath(path: string, s: Schema, key: string): string {
  if (path === '') return key;
  return s.properties?.[key] ? `${path}.${key}` : `${path}[${key}]`;
}

/** The old value of a list item, for map-type lists only (items matched by their keys), as Kubernetes correlates them. */
function oldItem(item: JsonValue, oldList: JsonValue | undefined, s: Schema): JsonValue | undefined {
  if (s.listType !== 'map' || !s.listMapKeys || !Array.isArray(oldList) || !isObject(item)) return undefined;
  const keys = s.listMapKeys;
  return oldList.find((o) => isObject(o) && keys.every((k) => deepEqual(o[k], item[k])));
}

function ruleErrorString(r: CompiledRule): string {
  return (r.rule.message ?? '').trim() || r.rule.rule.trim();
}

function joinFieldPath(path: string, fieldPath: string): string {
  if (fieldPath.startsWith('.')) return `${path}${fieldPath}`;
  if (fieldPath.startsWith('[')) return `${path}${fieldPath}`;
  return path === '' ? fieldPath : `${path}.${fieldPath}`;
}

/** The message of a failed rule: its messageExpression when that yields one, else message, else the rule. */
function failureMessage(r: CompiledRule, s: Schema, root: boolean, v: JsonValue, old: JsonValue | undefined): string {
  if (r.message) {
    const out = runExpression(r.message, s, root, v, old);
    if (out.ok && typeof out.value === 'string') {
      const text = out.value.trim();
      if (text !== '' && !/[\n\r]/.test(text) && text.length <= 5000) return text;
    }
  }
  return r.rule.message?.trim() || `failed rule: ${ruleErrorString(r)}`;
}

function ruleFailure(r: CompiledRule, path: string, typeShown: string, detail: string): FieldCause {
  const field = r.rule.fieldPath ? joinFieldPath(path, r.rule.fieldPath) : path;
  switch (r.rule.reason) {
    case 'FieldValueRequired':
      return { reason: 'FieldValueRequired', field, message: `Required value: ${detail}` };
    case 'FieldValueForbidden':
      return { reason: 'FieldValueForbidden', field, message: `Forbidden: ${detail}` };
    case 'FieldValueDuplicate':
      return { reason: 'FieldValueDuplicate', field, message: `Duplicate value: ${typeShown}` };
    default:
      return { reason: 'FieldValueInvalid', field, message: `Invalid value: ${typeShown}: ${detail}` };
  }
}

/**
 * Runs the x-kubernetes-validations rules of a node and its children on `v`. Null values
 * are not validated; transition rules (naming oldSelf) run only where an old value correlates.
 */
export function validateRules(v: JsonValue, s: Schema, path: string, causes: FieldCause[], old?: JsonValue, root = false): void {
  if (v === null) return;
  // The Go side prints the schema's type as the invalid value ("object"; "" for int-or-string).
  const typeShown = JSON.stringify(s.type ?? '');
  for (const r of compiledRules(s, root)) {
    if (r.error !== undefined) {
      causes.push({ reason: 'FieldValueInvalid', field: path, message: `Invalid value: ${typeShown}: rule compile error: ${r.error}` });
      continue;
    }
    if (!r.program) continue;
    if (r.program.usesOldSelf && old === undefined) continue;
    const out = runExpression(r.program, s, root, v, old);
    if (!out.ok) {
      const detail =
        out.error === 'no such overload'
          ? `'no such overload': call arguments did not match a supported operator, function or macro signature for rule: ${ruleErrorString(r)}`
          : `${out.error} evaluating rule: ${ruleErrorString(r)}`;
      causes.push({ reason: 'FieldValueInvalid', field: path, message: `Invalid value: ${typeShown}: ${detail}` });
      continue;
    }
    if (out.value !== true) causes.push(ruleFailure(r, path, typeShown, failureMessage(r, s, root, v, old)));
  }
  if (Array.isArray(v) && s.items) {
    const items = s.items;
    v.forEach((x, i) => validateRules(x, items, `${path}[${i}]`, causes, oldItem(x, old, s), items.embeddedResource === true));
  }
  if (isObject(v)) {
    const oldObj = isObject(old) && s.mapType !== 'atomic' ? old : undefined;
    for (const [key, child] of Object.entries(v)) {
      if (root && ROOT_FIELDS.has(key)) continue;
      const cs = propertySchema(s, key);
      if (cs) validateRules(child, cs, childPath(path, s, key), causes, oldObj?.[key], cs.embeddedResource === true);
    }
  }
}

const withRules = new WeakMap<Schema, boolean>();

/** Whether any node of the schema carries x-kubernetes-validations. */
export function hasRules(s: Schema): boolean {
  let has = withRules.get(s);
  if (has === undefined) {
    const children = [...Object.values(s.properties ?? {}), ...(s.items ? [s.items] : []), ...(typeof s.additionalProperties === 'object' ? [s.additionalProperties] : [])];
    has = (s.validations?.length ?? 0) > 0 || children.some(hasRules);
    withRules.set(s, has);
  }
  return has;
}

/** Errors that stop the rules from running: the object is not the shape the rules were typed for. */
const BLOCKING = new Set(['FieldValueNotSupported', 'FieldValueRequired', 'FieldValueTooLong', 'FieldValueTooMany', 'FieldValueTypeInvalid']);

/**
 * Validates a custom resource (or part of one) against its schema and then its rules.
 * As in the real server, rules are skipped when the schema check found a blocking error,
 * and a cause says so.
 */
export function validate(v: JsonValue, s: Schema, path: string, causes: FieldCause[], old?: JsonValue, root = false): void {
  validateSchema(v, s, path, causes, root);
  if (!hasRules(s)) return;
  // Causes found before (metadata) count too, as in the server's custom resource strategy.
  if (causes.some((c) => BLOCKING.has(c.reason))) {
    causes.push({ reason: 'FieldValueInvalid', field: '<nil>', message: 'Invalid value: "null": some validation rules were not checked because the object was invalid; correct the existing errors to complete validation' });
    return;
  }
  validateRules(v, s, path, causes, old, root);
}
