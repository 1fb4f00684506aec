import { isObject, type JsonObject, type JsonValue } from './json.js';
import type { FieldCause } from './status.js';

/** One `x-kubernetes-validations` entry. */
export interface ValidationRule {
  rule: string;
  message?: string;
  messageExpression?: string;
  fieldPath?: string;
  reason?: string;
  optionalOldSelf?: boolean;
}

/** The subset of an OpenAPI v3 structural schema that this server enforces. */
export interface Schema {
  type?: 'object' | 'array' | 'string' | 'integer' | 'number' | 'boolean';
  properties?: Record<string, Schema>;
  additionalProperties?: Schema | boolean;
  items?: Schema;
  required?: string[];
  enum?: JsonValue[];
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: boolean;
  exclusiveMaximum?: boolean;
  minLength?: number;
  maxLength?: number;
  pattern?: string;
  minItems?: number;
  maxItems?: number;
  minProperties?: number;
  maxProperties?: number;
  nullable?: boolean;
  default?: JsonValue;
  preserveUnknownFields?: boolean;
  intOrString?: boolean;
  embeddedResource?: boolean;
  listType?: string;
  listMapKeys?: string[];
  mapType?: string;
  format?: string;
  validations?: ValidationRule[];
  /** The original JSON, served unchanged in OpenAPI documents. */
  source: JsonObject;
}

const TYPES = new Set(['object', 'array', 'string', 'integer', 'number', 'boolean']);

/**
 * Reads a CRD's openAPIV3Schema. Every shape error is collected with its path
 * (`spec.versions[0].schema.openAPIV3Schema.properties[spec].type`) so that the CRD's 422 names them all.
 */
export function parseSchema(json: JsonValue, path: string, causes: FieldCause[]): Schema {
  if (!isObject(json)) {
    causes.push({ reason: 'FieldValueInvalid', field: path, message: 'Invalid value: must be an object' });
    return { source: {} };
  }
  const s: Schema = { source: json };
  const bad = (key: string, what: string) => causes.push({ reason: 'FieldValueInvalid', field: `${path}.${key}`, message: `Invalid value: ${JSON.stringify(json[key])}: ${what}` });
  const num = (key: string): number | undefined => {
    const v = json[key];
    if (v === undefined) return undefined;
    if (typeof v !== 'number') bad(key, 'must be a number');
    return typeof v === 'number' ? v : undefined;
  };
  const bool = (key: string): boolean | undefined => {
    const v = json[key];
    if (v === undefined) return undefined;
    if (typeof v !== 'boolean') bad(key, 'must be a boolean');
    return typeof v === 'boolean' ? v : undefined;
  };
  if (json.type !== undefined) {
    if (typeof json.type === 'string' && TYPES.has(json.type)) s.type = json.type as Schema['type'];
    else causes.push({ reason: 'FieldValueNotSupported', field: `${path}.type`, message: `Unsupported value: ${JSON.stringify(json.type)}: supported values: ${[...TYPES].sort().map((t) => JSON.stringify(t)).join(', ')}` });
  }
  if (json.properties !== undefined) {
    if (isObject(json.properties)) {
      s.properties = {};
      for (const [k, v] of Object.entries(json.properties)) s.properties[k] = parseSchema(v, `${path}.properties[${k}]`, causes);
    } else bad('properties', 'must be an object');
  }
  if (json.additionalProperties !== undefined) {
    const ap = json.additionalProperties;
    s.additionalProperties = typeof ap === 'boolean' ? ap : parseSchema(ap, `${path}.additionalProperties`, causes);
  }
  if (json.items !== undefined) s.items = parseSchema(json.items, `${path}.items`, causes);
  if (json.required !== undefined) {
    if (Array.isArray(json.required) && json.required.every((r) => typeof r === 'string')) s.required = json.required as string[];
    else bad('required', 'must be a list of strings');
  }
  if (json.enum !== undefined) {
    if (Array.isArray(json.enum)) s.enum = json.enum;
    else bad('enum', 'must be a list');
  }
  s.minimum = num('minimum');
  s.maximum = num('maximum');
  s.exclusiveMinimum = bool('exclusiveMinimum');
  s.exclusiveMaximum = bool('exclusiveMaximum');
  s.minLength = num('minLength');
  s.maxLength = num('maxLength');
  s.minItems = num('minItems');
  s.maxItems = num('maxItems');
  s.minProperties = num('minProperties');
  s.maxProperties = num('maxProperties');
  s.nullable = bool('nullable');
  s.preserveUnknownFields = bool('x-kubernetes-preserve-unknown-fields');
  s.intOrString = bool('x-kubernetes-int-or-string');
  s.embeddedResource = bool('x-kubernetes-embedded-resource');
  if (json.pattern !== undefined) {
    if (typeof json.pattern !== 'string') bad('pattern', 'must be a string');
    else {
      try {
        new RegExp(json.pattern, 'u');
        s.pattern = json.pattern;
      } catch (err) {
        // The real server compiles patterns with Go's RE2; JavaScript's engine is the closest at hand.
        bad('pattern', `must be a valid regular expression, but isn't: ${(err as Error).message}`);
      }
    }
  }
  if (json.default !== undefined) s.default = json.default;
  if (typeof json.format === 'string') s.format = json.format;
  if (typeof json['x-kubernetes-list-type'] === 'string') s.listType = json['x-kubernetes-list-type'];
  if (typeof json['x-kubernetes-map-type'] === 'string') s.mapType = json['x-kubernetes-map-type'];
  const mapKeys = json['x-kubernetes-list-map-keys'];
  if (Array.isArray(mapKeys)) s.listMapKeys = mapKeys.filter((k): k is string => typeof k === 'string');
  const rules = json['x-kubernetes-validations'];
  if (rules !== undefined) {
    if (!Array.isArray(rules)) bad('x-kubernetes-validations', 'must be a list');
    else {
      s.validations = [];
      rules.forEach((r, i) => {
        if (!isObject(r) || typeof r.rule !== 'string') {
          causes.push({ reason: 'FieldValueRequired', field: `${path}.x-kubernetes-validations[${i}].rule`, message: 'Required value' });
          return;
        }
        const rule: ValidationRule = { rule: r.rule };
        if (typeof r.message === 'string') rule.message = r.message;
        if (typeof r.messageExpression === 'string') rule.messageExpression = r.messageExpression;
        if (typeof r.optionalOldSelf === 'boolean') rule.optionalOldSelf = r.optionalOldSelf;
        if (typeof r.fieldPath === 'string') rule.fieldPath = r.fieldPath;
        if (typeof r.reason === 'string') rule.reason = r.reason;
        s.validations?.push(rule);
      });
    }
  }
  return s;
}

/** The schema of a property, whether named in properties or allowed by additionalProperties. */
export function propertySchema(s: Schema, key: string): Schema | undefined {
  const p = s.properties?.[key];
  if (p) return p;
  return typeof s.additionalProperties === 'object' ? s.additionalProperties : undefined;
}
