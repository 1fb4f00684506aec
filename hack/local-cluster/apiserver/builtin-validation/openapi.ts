/**
 * Built-in objects checked against the Kubernetes OpenAPI schemas that kubernetes-models
 * carries (compiled validators). The outcome follows where the real server finds each
 * problem: a wrong JSON type fails decoding into the Go types (400 BadRequest, "cannot be
 * handled as a Pod: json: cannot unmarshal ..."), while a missing required field or a value
 * outside an enum is a validation error (422, pkg/apis/core/validation/validation.go words
 * them `Required value` and `Unsupported value: "x": supported values: ...`).
 */
import { Lease } from 'kubernetes-models/coordination.k8s.io/v1/Lease';
import { EndpointSlice } from 'kubernetes-models/discovery.k8s.io/v1/EndpointSlice';
import { Event } from 'kubernetes-models/v1/Event';
import { Pod } from 'kubernetes-models/v1/Pod';
import { Secret } from 'kubernetes-models/v1/Secret';
import { Service } from 'kubernetes-models/v1/Service';
import { isObject, type JsonObject, type JsonValue } from '../json.js';
import { badRequest } from '../status.js';
import { QUANTITY_PATTERN } from './quantity.js';
import type { FieldCause } from '../status.js';

interface AjvError {
  instancePath: string;
  keyword: string;
  params: { missingProperty?: string; allowedValues?: unknown[]; type?: string; format?: string };
}

interface Validatable {
  validate(): void;
}

const MODELS: Record<string, new (data: never) => Validatable> = { Pod, Service, Secret, Event, Lease, EndpointSlice };

export function hasOpenApiModel(kind: string): boolean {
  return kind in MODELS;
}

function segments(instancePath: string): string[] {
  return instancePath
    .split('/')
    .slice(1)
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
}

/** `/spec/containers/0/image` → `spec.containers[0].image`; map keys in brackets as Kubernetes prints them. */
function valueAt(obj: JsonObject, segs: string[]): JsonValue | undefined {
  let cur: JsonValue | undefined = obj;
  for (const seg of segs) cur = Array.isArray(cur) ? cur[Number(seg)] : isObject(cur) ? cur[seg] : undefined;
  return cur;
}

function fieldPath(obj: JsonObject, instancePath: string): string {
  let out = '';
  let cur: JsonValue | undefined = obj;
  for (const seg of segments(instancePath)) {
    if (Array.isArray(cur)) out += `[${seg}]`;
    else if (out !== '' && /[^A-Za-z0-9]/.test(seg)) out += `[${seg}]`;
    else out += out === '' ? seg : `.${seg}`;
    cur = Array.isArray(cur) ? cur[Number(seg)] : cur !== null && typeof cur === 'object' ? cur[seg] : undefined;
  }
  return out;
}

function jsonKind(v: JsonValue | undefined): string {
  if (Array.isArray(v)) return 'array';
  if (v === null || v === undefined) return 'null';
  if (typeof v === 'boolean') return 'bool';
  return typeof v;
}

function goType(p: AjvError['params']): string {
  if (p.format === 'int32' || p.format === 'int64') return p.format;
  switch (p.type) {
    case 'integer':
      // The schema's type error does not carry the format; most Kubernetes integers (ports, counts) are int32.
      return 'int32';
    case 'number':
      return 'float64';
    case 'boolean':
      return 'bool';
    case 'array':
      return '[]interface {}';
    case 'object':
      return 'map[string]interface {}';
    default:
      return p.type ?? 'string';
  }
}

/**
 * Validates `obj` against its kind's OpenAPI schema. Throws the real server's 400 for the
 * first value of the wrong type; returns 422 causes for missing required fields and enums.
 */
export function openApiCauses(kind: string, version: string, obj: JsonObject): FieldCause[] {
  const Model = MODELS[kind];
  if (!Model) return [];
  let errors: AjvError[] = [];
  try {
    new Model(obj as never).validate();
  } catch (err) {
    errors = ((err as { errors?: AjvError[] }).errors ?? []).filter((e) => e.instancePath !== undefined);
  }
  // A oneOf (Quantity, IntOrString) fails as a whole: its branches' own errors are not the story.
  const oneOfPaths = new Set(errors.filter((e) => e.keyword === 'oneOf').map((e) => e.instancePath));
  const branchErrors = errors.filter((e) => oneOfPaths.has(e.instancePath) && e.keyword !== 'oneOf');
  errors = errors.filter((e) => !oneOfPaths.has(e.instancePath) || e.keyword === 'oneOf');
  const decode = errors.find((e) => e.keyword === 'type' || e.keyword === 'format' || e.keyword === 'oneOf');
  if (decode) {
    const prefix = `${kind} in version "${version}" cannot be handled as a ${kind}`;
    const value = valueAt(obj, segments(decode.instancePath));
    if (decode.keyword === 'oneOf' && branchErrors.some((e) => e.instancePath === decode.instancePath && e.params.format === 'quantity')) {
      throw badRequest(`${prefix}: quantities must match the regular expression '${QUANTITY_PATTERN.source}'`);
    }
    const where = segments(decode.instancePath).filter((s) => !/^\d+$/.test(s)).join('.');
    const type = decode.keyword === 'oneOf' ? 'intstr.IntOrString' : goType(decode.params);
    throw badRequest(`${prefix}: json: cannot unmarshal ${jsonKind(value)} into Go struct field ${kind}.${where} of type ${type}`);
  }
  const causes: FieldCause[] = [];
  for (const e of errors) {
    const field = fieldPath(obj, e.instancePath);
    if (e.keyword === 'required' && e.params.missingProperty) {
      causes.push({ reason: 'FieldValueRequired', field: field === '' ? e.params.missingProperty : `${field}.${e.params.missingProperty}`, message: 'Required value' });
    } else if (e.keyword === 'enum') {
      const value = valueAt(obj, segments(e.instancePath));
      const allowed = (e.params.allowedValues ?? []).map((a) => JSON.stringify(a)).join(', ');
      causes.push({ reason: 'FieldValueNotSupported', field, message: `Unsupported value: ${JSON.stringify(value)}: supported values: ${allowed}` });
    }
  }
  return causes;
}
