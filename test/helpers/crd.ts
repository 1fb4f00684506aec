/**
 * Test helpers around crds/cifartrainingjobs.yaml: load it, walk its schema, and admit a
 * manifest through the local API server's own pruning, defaulting and validation (schema
 * and CEL rules), so that tests and server cannot disagree; and render the field tables
 * of docs/api.md.
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse, parseAllDocuments } from 'yaml';
import type { JsonObject, JsonValue } from '../../hack/local-cluster/apiserver/json.js';
import { applyDefaults, prune } from '../../hack/local-cluster/apiserver/prune.js';
import { parseSchema, type Schema } from '../../hack/local-cluster/apiserver/schema.js';
import type { FieldCause } from '../../hack/local-cluster/apiserver/status.js';
import { validate } from '../../hack/local-cluster/apiserver/validation.js';

export const REPO_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const CRD_PATH = join(REPO_ROOT, 'crds', 'cifartrainingjobs.yaml');

export interface CelRule {
  rule: string;
  message?: string;
  messageExpression?: string;
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

/** The parsed schema of a raw node, as the local API server reads it; throws naming the bad field. */
const parsedNodes = new WeakMap<SchemaNode, Schema>();

function parsed(node: SchemaNode): Schema {
  let schema = parsedNodes.get(node);
  if (schema) return schema;
  const causes: FieldCause[] = [];
  schema = parseSchema(node as unknown as JsonValue, 'schema', causes);
  if (causes.length > 0) throw new Error(`${CRD_PATH}: ${causes.map((c) => `${c.field}: ${c.message}`).join('; ')}`);
  // Kept per node so the server's per-schema cache of compiled rules is reused across calls.
  parsedNodes.set(node, schema);
  return schema;
}

/** Defaulting by the API server's own code: top-down, into objects that exist or were just defaulted. */
export function applySchemaDefaults(node: SchemaNode, value: unknown): unknown {
  const copy = structuredClone(value) as JsonValue;
  applyDefaults(copy, parsed(node));
  return copy;
}

// ---------------------------------------------------------------- admission

/**
 * What the local API server does with a CifarTrainingJob manifest on create: prune unknown
 * fields, apply defaults, then validate schema and CEL rules with its one validator.
 * Errors read as the server's causes: `spec.replicas: Invalid value: 0: ...`; pruned fields
 * are reported as `unknown field "spec.x"` (what fieldValidation=Strict refuses).
 */
export function admitJob(manifest: unknown, root: SchemaNode = rootSchema()): { errors: string[]; defaulted: unknown } {
  if (!isRecord(manifest)) return { errors: ['manifest is not an object'], defaulted: manifest };
  const obj = structuredClone(manifest) as JsonObject;
  const schema = parsed(root);
  const unknown = prune(obj, schema).map((u) => `unknown field "${u}"`);
  applyDefaults(obj, schema);
  const causes: FieldCause[] = [];
  validate(obj, schema, '', causes, undefined, true);
  return { errors: [...unknown, ...causes.map((c) => (c.field ? `${c.field}: ${c.message}` : c.message))], defaulted: obj };
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
