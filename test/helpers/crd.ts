/**
 * Test helpers around crds/cifartrainingjobs.yaml: load it, walk its schema, and admit a
 * manifest through the local API server's own pruning, defaulting and validation (schema
 * and CEL rules), so that tests and server cannot disagree.
 */
import { readFileSync } from 'node:fs';
import { parseAllDocuments } from 'yaml';
import { CRD_PATH, isRecord, rootSchema, type SchemaNode } from '../../hack/codegen/crd.js';
import type { JsonObject, JsonValue } from '../../hack/local-cluster/apiserver/json.js';
import { applyDefaults, prune } from '../../hack/local-cluster/apiserver/prune.js';
import { parseSchema, type Schema } from '../../hack/local-cluster/apiserver/schema.js';
import type { FieldCause } from '../../hack/local-cluster/apiserver/status.js';
import { validate } from '../../hack/local-cluster/apiserver/validation.js';

export { CRD_PATH, REPO_ROOT, loadCrd, rootSchema, schemaFields, subSchema } from '../../hack/codegen/crd.js';
export type { CelRule, Crd, CrdVersion, SchemaField, SchemaNode } from '../../hack/codegen/crd.js';

/** Reads a YAML file with one or more documents. */
export function loadManifests(path: string): unknown[] {
  return parseAllDocuments(readFileSync(path, 'utf8')).map((doc) => doc.toJS() as unknown);
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
