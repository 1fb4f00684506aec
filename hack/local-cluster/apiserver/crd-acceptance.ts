/**
 * The checks apiextensions applies to a version's openAPIV3Schema when a CRD is created
 * or updated, in the real server's order (apiextensions-apiserver
 * pkg/apis/apiextensions/validation/validation.go, validateCustomResourceDefinitionValidation):
 *
 * 1. structural schema rules (pkg/apiserver/schema/validation.go, ValidateStructural);
 * 2. only if those pass: every `default`, as written, must be pruned, valid against its
 *    node's schema and pass its node's x-kubernetes-validations, nested defaults not applied
 *    (pkg/apiserver/schema/defaulting/validation.go, ValidateDefaults);
 * 3. the OpenAPI rules for CRD schemas and the static checks of each rule;
 * 4. only if all of that passes: every rule and messageExpression compiles and type-checks.
 *
 * Not reproduced: CEL cost estimation (rules the real server refuses as too expensive pass
 * here), allOf/anyOf/oneOf/not (not read), and Go RE2 for `pattern` (JavaScript's engine).
 */
import { compileRule, ruleVariables } from './cel/compile.js';
import { goValidationRule, goValue } from './go-values.js';
import { clone, type JsonObject, type JsonValue } from './json.js';
import { prune } from './prune.js';
import type { Schema } from './schema.js';
import type { FieldCause } from './status.js';
import { validateRules, validateSchema } from './validation.js';

const META_FIELDS = new Set(['metadata', 'kind', 'apiVersion']);
const REASONS = ['FieldValueDuplicate', 'FieldValueForbidden', 'FieldValueInvalid', 'FieldValueRequired'];

type Level = 'root' | 'item' | 'field';

const required = (field: string, detail: string): FieldCause => ({ reason: 'FieldValueRequired', field, message: detail === '' ? 'Required value' : `Required value: ${detail}` });
const forbidden = (field: string, detail: string): FieldCause => ({ reason: 'FieldValueForbidden', field, message: `Forbidden: ${detail}` });
const invalid = (field: string, value: string, detail: string): FieldCause => ({ reason: 'FieldValueInvalid', field, message: `Invalid value: ${value}: ${detail}` });
const notSupported = (field: string, value: JsonValue, allowed: string[]): FieldCause => ({
  reason: 'FieldValueNotSupported',
  field,
  message: `Unsupported value: ${JSON.stringify(value)}: supported values: ${allowed.map((a) => JSON.stringify(a)).join(', ')}`,
});

/** The children a check visits: properties, items and additionalProperties, with their paths. */
function children(s: Schema, path: string): Array<{ s: Schema; path: string; key?: string; via: 'properties' | 'items' | 'additionalProperties' }> {
  const out: Array<{ s: Schema; path: string; key?: string; via: 'properties' | 'items' | 'additionalProperties' }> = [];
  for (const [k, c] of Object.entries(s.properties ?? {})) out.push({ s: c, path: `${path}.properties[${k}]`, key: k, via: 'properties' });
  if (s.items) out.push({ s: s.items, path: `${path}.items`, via: 'items' });
  if (typeof s.additionalProperties === 'object') out.push({ s: s.additionalProperties, path: `${path}.additionalProperties`, via: 'additionalProperties' });
  return out;
}

/** 1. Structural schema rules. */
function structural(s: Schema, level: Level, path: string, causes: FieldCause[]): void {
  if (s.type === 'array' && !s.items) causes.push(required(`${path}.items`, 'must be specified'));
  for (const c of children(s, path)) structural(c.s, c.via === 'items' ? 'item' : 'field', c.path, causes);
  if (s.additionalProperties !== undefined && level === 'root') causes.push(forbidden(`${path}.additionalProperties`, 'must not be used at the root'));
  if (s.intOrString && s.preserveUnknownFields) causes.push(invalid(`${path}.x-kubernetes-preserve-unknown-fields`, 'true', 'must be false if x-kubernetes-int-or-string is true'));
  if (s.intOrString && s.embeddedResource) causes.push(invalid(`${path}.x-kubernetes-embedded-resource`, 'true', 'must be false if x-kubernetes-int-or-string is true'));
  if (s.embeddedResource && s.type !== 'object') {
    if (s.type === undefined) causes.push(required(`${path}.type`, 'must be object if x-kubernetes-embedded-resource is true'));
    else causes.push(invalid(`${path}.type`, JSON.stringify(s.type), 'must be object if x-kubernetes-embedded-resource is true'));
  } else if (s.type === undefined && !s.intOrString && !s.preserveUnknownFields) {
    const where = { root: 'at the root', item: 'for specified array items', field: 'for specified object fields' }[level];
    causes.push(required(`${path}.type`, `must not be empty ${where}`));
  }
  if (s.embeddedResource && s.additionalProperties !== undefined) causes.push(forbidden(`${path}.additionalProperties`, 'must not be used if x-kubernetes-embedded-resource is set'));
  if (level === 'root' && s.type !== undefined && s.type !== 'object') causes.push(invalid(`${path}.type`, JSON.stringify(s.type), 'must be object at the root'));
  const checkMeta = level === 'root' || s.embeddedResource === true;
  for (const k of ['kind', 'apiVersion']) {
    const p = s.properties?.[k];
    if (p && checkMeta && p.type !== 'string') causes.push(invalid(`${path}.properties[${k}].type`, JSON.stringify(p.type ?? ''), 'must be string'));
  }
  const meta = s.properties?.metadata;
  if (meta) {
    const metaPath = `${path}.properties[metadata]`;
    if (checkMeta && meta.type !== 'object') causes.push(invalid(`${metaPath}.type`, JSON.stringify(meta.type ?? ''), 'must be object'));
    if (level === 'root') {
      const props = Object.keys(meta.properties ?? {});
      const onlyNames = props.every((p) => p === 'name' || p === 'generateName');
      const other = Object.keys(meta.source).filter((k) => k !== 'type' && k !== 'default' && !(k === 'properties' && onlyNames));
      if (other.length > 0) causes.push(forbidden(metaPath, 'must not specify anything other than name and generateName, but metadata is implicitly specified'));
    }
  }
  if (s.embeddedResource && !s.preserveUnknownFields && Object.keys(s.properties ?? {}).length === 0) {
    causes.push(required(`${path}.properties`, 'must not be empty if x-kubernetes-embedded-resource is true without x-kubernetes-preserve-unknown-fields'));
  }
}

/** Unknown fields a default carries, found by pruning a copy of it. */
function unprunedDefault(s: Schema, value: JsonValue): boolean {
  const wrapper: JsonObject = { v: clone(value) };
  return prune(wrapper, { properties: { v: s }, source: {} }).length > 0;
}

/** 2. Each default, as written, against its node's schema and rules (nested defaults not applied). */
function defaults(s: Schema, path: string, causes: FieldCause[], insideMeta: boolean): void {
  if (s.default !== undefined && !insideMeta) {
    const at = `${path}.default`;
    const before = causes.length;
    if (unprunedDefault(s, s.default)) causes.push(invalid(at, goValue(s.default), 'must not have unknown fields'));
    const schemaCauses: FieldCause[] = [];
    validateSchema(s.default, s, at, schemaCauses);
    causes.push(...schemaCauses);
    // The rules run with the default as both self and oldSelf, as the real server passes it.
    if (causes.length === before) validateRules(s.default, s, at, causes, s.default);
  }
  // additionalProperties are not followed: defaults are forbidden there.
  if (s.items) defaults(s.items, `${path}.items`, causes, insideMeta);
  for (const [k, c] of Object.entries(s.properties ?? {})) defaults(c, `${path}.properties[${k}]`, causes, insideMeta);
}

/** A rule's fieldPath must name a field of the node's schema (`.a.b`, `['a.b']`). */
function validFieldPath(s: Schema, fieldPath: string): boolean {
  const steps = fieldPath.match(/\.[^.[\]]+|\['(?:[^'\\]|\\.)*'\]/g);
  if (!steps || steps.join('') !== fieldPath) return false;
  let cur: Schema | undefined = s;
  for (const step of steps) {
    const name = step.startsWith('.') ? step.slice(1) : step.slice(2, -2).replace(/\\(.)/g, '$1');
    if (!cur) return false;
    if (cur.properties) cur = cur.properties[name];
    else if (typeof cur.additionalProperties === 'object') cur = cur.additionalProperties;
    else return false;
  }
  return cur !== undefined;
}

/** 3. The OpenAPI rules for CRD schemas and the static checks of each rule. */
function openApi(s: Schema, path: string, causes: FieldCause[], ctx: { root: boolean; inMeta: boolean; forbidDefaults?: string }): void {
  const raw = s.source;
  for (const [key, what] of [
    ['$ref', '$ref is not supported'],
    ['definitions', 'definitions is not supported'],
    ['dependencies', 'dependencies is not supported'],
    ['patternProperties', 'patternProperties is not supported'],
    ['additionalItems', 'additionalItems is not supported'],
    ['id', 'id is not supported'],
  ] as const) {
    if (raw[key] !== undefined) causes.push(forbidden(`${path}.${key}`, what));
  }
  if (raw.type === 'null') causes.push(forbidden(`${path}.type`, 'type cannot be set to null, use nullable as an alternative'));
  if (Array.isArray(raw.items)) causes.push(forbidden(`${path}.items`, 'items must be a schema object and not an array'));
  if (s.default !== undefined && ctx.forbidDefaults) causes.push(forbidden(`${path}.default`, `must not be set ${ctx.forbidDefaults}`));
  if (raw.uniqueItems === true) causes.push(forbidden(`${path}.uniqueItems`, 'uniqueItems cannot be set to true since the runtime complexity becomes quadratic'));
  if (s.additionalProperties !== undefined && Object.keys(s.properties ?? {}).length > 0 && s.additionalProperties !== true) {
    causes.push(forbidden(`${path}.additionalProperties`, 'additionalProperties and properties are mutual exclusive'));
  }
  if (raw['x-kubernetes-preserve-unknown-fields'] === false) causes.push(invalid(`${path}.x-kubernetes-preserve-unknown-fields`, 'false', 'must be true or undefined'));
  if (s.mapType !== undefined && s.type !== 'object') {
    if (s.type === undefined) causes.push(required(`${path}.type`, 'must be object if x-kubernetes-map-type is specified'));
    else causes.push(invalid(`${path}.type`, JSON.stringify(s.type), 'must be object if x-kubernetes-map-type is specified'));
  }
  if (s.mapType !== undefined && s.mapType !== 'atomic' && s.mapType !== 'granular') causes.push(notSupported(`${path}.x-kubernetes-map-type`, s.mapType, ['atomic', 'granular']));
  listChecks(s, path, causes);
  s.validations?.forEach((r, i) => {
    const at = `${path}.x-kubernetes-validations[${i}]`;
    const msg = (r.message ?? '').trim();
    if (r.rule.trim() === '') causes.push(required(`${at}.rule`, 'rule is not specified'));
    else if (r.message !== undefined && r.message !== '' && msg === '') causes.push(invalid(`${at}.message`, JSON.stringify(r.message), 'message must be non-empty if specified'));
    else if (/[\n\r]/.test(msg)) causes.push(invalid(`${at}.message`, JSON.stringify(r.message), 'message must not contain line breaks'));
    else if (/[\n\r]/.test(r.rule.trim()) && msg === '') causes.push(required(`${at}.message`, 'message must be specified if rule contains line breaks'));
    if (r.messageExpression !== undefined && r.messageExpression !== '' && r.messageExpression.trim() === '') causes.push(required(`${at}.messageExpression`, 'messageExpression must be non-empty if specified'));
    if (r.reason !== undefined && !REASONS.includes(r.reason)) causes.push(notSupported(`${at}.reason`, r.reason, REASONS));
    if (r.fieldPath !== undefined && r.fieldPath !== '') {
      if (r.fieldPath.trim() === '') causes.push(invalid(`${at}.fieldPath`, JSON.stringify(r.fieldPath), 'fieldPath must be non-empty if specified'));
      else if (/[\n\r]/.test(r.fieldPath)) causes.push(invalid(`${at}.fieldPath`, JSON.stringify(r.fieldPath), 'fieldPath must not contain line breaks'));
      else if (!validFieldPath(s, r.fieldPath)) causes.push(invalid(`${at}.fieldPath`, JSON.stringify(r.fieldPath), 'fieldPath must be a valid path'));
    }
  });
  for (const c of children(s, path)) {
    const meta = (ctx.root || s.embeddedResource === true) && c.via === 'properties' && META_FIELDS.has(c.key ?? '');
    let forbid = ctx.forbidDefaults;
    if (meta && ctx.root) forbid = `in top-level ${c.key}`;
    else if (c.via === 'additionalProperties' && ctx.inMeta) forbid = 'inside additionalProperties applying to object metadata';
    openApi(c.s, c.path, causes, { root: false, inMeta: ctx.inMeta || meta, ...(forbid ? { forbidDefaults: forbid } : {}) });
  }
}

function listChecks(s: Schema, path: string, causes: FieldCause[]): void {
  if (s.listType !== undefined && s.type !== 'array') {
    if (s.type === undefined) causes.push(required(`${path}.type`, 'must be array if x-kubernetes-list-type is specified'));
    else causes.push(invalid(`${path}.type`, JSON.stringify(s.type), 'must be array if x-kubernetes-list-type is specified'));
  } else if (s.listType === 'set' && s.items?.type === 'object' && s.items.mapType !== 'atomic') {
    causes.push(invalid(`${path}.items.x-kubernetes-map-type`, JSON.stringify(s.listType), 'must be atomic as item of a list with x-kubernetes-list-type=set'));
  }
  if (s.listType !== undefined && !['atomic', 'set', 'map'].includes(s.listType)) causes.push(notSupported(`${path}.x-kubernetes-list-type`, s.listType, ['atomic', 'set', 'map']));
  const keys = s.listMapKeys ?? [];
  if (keys.length > 0 && s.listType === undefined) causes.push(required(`${path}.x-kubernetes-list-type`, 'must be map if x-kubernetes-list-map-keys is non-empty'));
  else if (keys.length > 0 && s.listType !== 'map') causes.push(invalid(`${path}.x-kubernetes-list-type`, JSON.stringify(s.listType), 'must be map if x-kubernetes-list-map-keys is non-empty'));
  if (s.listType !== 'map') return;
  if (keys.length === 0) causes.push(required(`${path}.x-kubernetes-list-map-keys`, 'must not be empty if x-kubernetes-list-type is map'));
  if (!s.items) {
    causes.push(required(`${path}.items`, 'must have a schema if x-kubernetes-list-type is map'));
    return;
  }
  if (s.items.type !== 'object') {
    causes.push(invalid(`${path}.items.type`, JSON.stringify(s.items.type ?? ''), "must be object if parent array's x-kubernetes-list-type is map"));
    return;
  }
  for (const k of keys) {
    const p = s.items.properties?.[k];
    if (!p) causes.push(invalid(`${path}.x-kubernetes-list-map-keys`, goValue(keys), 'entries must all be names of item properties'));
    else if (!(s.items.required ?? []).includes(k) && p.default === undefined) {
      causes.push(required(`${path}.items.properties[${k}].default`, 'this property is in x-kubernetes-list-map-keys, so it must have a default or be a required property'));
    }
  }
}

/** 4. Every rule and messageExpression compiles against its node's types. */
function celCompile(s: Schema, path: string, causes: FieldCause[], resourceRoot: boolean, uncorrelatable: string | undefined): void {
  if (s.validations?.length) {
    const vars = ruleVariables(s, resourceRoot);
    s.validations.forEach((r, i) => {
      const at = `${path}.x-kubernetes-validations[${i}]`;
      const c = compileRule(r, vars);
      if (c.error !== undefined) causes.push(invalid(`${at}.rule`, goValidationRule(r), c.error));
      if (c.messageError !== undefined) causes.push(invalid(`${at}.messageExpression`, goValidationRule(r), c.messageError));
      if (c.program?.usesOldSelf && uncorrelatable !== undefined) {
        causes.push(invalid(`${at}.rule`, JSON.stringify(r.rule), `oldSelf cannot be used on the uncorrelatable portion of the schema within ${uncorrelatable}`));
      } else if (c.program && !c.program.usesOldSelf && r.optionalOldSelf !== undefined) {
        causes.push(invalid(`${at}.optionalOldSelf`, String(r.optionalOldSelf), 'may not be set if oldSelf is not used in rule'));
      }
    });
  }
  for (const c of children(s, path)) {
    // Items of lists other than map-lists, and fields of atomic maps, have no old value to compare with.
    const breaks = (c.via === 'items' && s.listType !== 'map') || (c.via !== 'items' && s.mapType === 'atomic');
    celCompile(c.s, c.path, causes, c.s.embeddedResource === true, uncorrelatable ?? (breaks ? path : undefined));
  }
}

/** Causes for one version's parsed schema at `path` (`spec.versions[0].schema.openAPIV3Schema`). */
export function acceptSchema(s: Schema, path: string, statusSubresource: boolean): FieldCause[] {
  const causes: FieldCause[] = [];
  if (statusSubresource) {
    const allowed = new Set(['description', 'type', 'format', 'title', 'maximum', 'exclusiveMaximum', 'minimum', 'exclusiveMinimum', 'maxLength', 'minLength', 'pattern', 'maxItems', 'minItems', 'uniqueItems', 'multipleOf', 'required', 'items', 'properties', 'externalDocs', 'example', 'x-kubernetes-preserve-unknown-fields', 'x-kubernetes-validations']);
    if (s.type !== undefined && s.type !== 'object') causes.push(invalid(`${path}.type`, JSON.stringify(s.type), 'only "object" is allowed as the type at the root of the schema if the status subresource is enabled'));
    else if (Object.keys(s.source).some((k) => !allowed.has(k))) causes.push(invalid(path, goValue(s.source), 'only [Description Type Format Title Maximum ExclusiveMaximum Minimum ExclusiveMinimum MaxLength MinLength Pattern MaxItems MinItems UniqueItems MultipleOf Required Items Properties ExternalDocs Example XPreserveUnknownFields XValidations] fields are allowed at the root of the schema if the status subresource is enabled'));
  }
  if (s.nullable) causes.push(forbidden(`${path}.nullable`, 'nullable cannot be true at the root'));
  const structuralCauses: FieldCause[] = [];
  structural(s, 'root', path, structuralCauses);
  causes.push(...structuralCauses);
  let celReady = false;
  if (structuralCauses.length === 0) {
    const defaultCauses: FieldCause[] = [];
    defaults(s, path, defaultCauses, false);
    causes.push(...defaultCauses);
    celReady = defaultCauses.length === 0;
  }
  const schemaCauses: FieldCause[] = [];
  openApi(s, path, schemaCauses, { root: true, inMeta: false });
  causes.push(...schemaCauses);
  if (celReady && schemaCauses.length === 0) celCompile(s, path, causes, true, undefined);
  return causes;
}
