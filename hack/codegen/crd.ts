/**
 * crds/cifartrainingjobs.yaml as data: its types, a loader, and a walk over its schema.
 * The CRD is the one hand-written source of the CifarTrainingJob API; the TypeScript types,
 * the defaults and the docs' field tables are derived from what this module reads.
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';

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

export function isRecord(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/** Parses CRD YAML; `where` names the source in errors. */
export function parseCrd(text: string, where: string): Crd {
  const parsed: unknown = parse(text);
  if (!isRecord(parsed) || parsed.kind !== 'CustomResourceDefinition') throw new Error(`${where}: not a CustomResourceDefinition`);
  return parsed as unknown as Crd;
}

export function loadCrd(path = CRD_PATH): Crd {
  return parseCrd(readFileSync(path, 'utf8'), path);
}

/** The one version's schema (the API has a single served and stored version). */
export function storageVersion(crd: Crd): CrdVersion {
  const version = crd.spec.versions.find((v) => v.storage);
  if (version === undefined) throw new Error(`${crd.metadata.name}: no storage version`);
  return version;
}

export function rootSchema(crd: Crd = loadCrd()): SchemaNode {
  return storageVersion(crd).schema.openAPIV3Schema;
}

export function subSchema(root: SchemaNode, name: 'spec' | 'status'): SchemaNode {
  const node = root.properties?.[name];
  if (node === undefined) throw new Error(`CRD schema has no ${name}`);
  return node;
}

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
