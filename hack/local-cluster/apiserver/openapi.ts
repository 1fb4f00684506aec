import { createHash } from 'node:crypto';
import type { JsonObject } from './json.js';
import type { ResourceRegistry, ResourceType } from './resource-registry.js';
import { KUBE_VERSION } from './discovery.js';

/** `api/v1` or `apis/<group>/<version>`: the keys of the OpenAPI v3 root document. */
export function groupVersionPath(group: string, version: string): string {
  return group === '' ? `api/${version}` : `apis/${group}/${version}`;
}

/** Kubernetes names definitions by reversed group: cifar.example.com/v1 Kind → com.example.cifar.v1.Kind. */
export function definitionName(t: ResourceType): string {
  if (t.group === '') return `io.k8s.api.core.${t.version}.${t.kind}`;
  if (!t.custom) return `io.k8s.api.${t.group.split('.')[0]}.${t.version}.${t.kind}`;
  return `${t.group.split('.').reverse().join('.')}.${t.version}.${t.kind}`;
}

function permissiveSchema(t: ResourceType): JsonObject {
  return {
    type: 'object',
    description: `${t.kind} (schema not enforced by the local cluster)`,
    properties: { apiVersion: { type: 'string' }, kind: { type: 'string' }, metadata: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true } },
    'x-kubernetes-preserve-unknown-fields': true,
    'x-kubernetes-group-version-kind': [{ group: t.group, version: t.version, kind: t.kind }],
  };
}

const QUERY = (name: string, description: string): JsonObject => ({ name, in: 'query', description, schema: { type: 'string', uniqueItems: true } });

/**
 * Patch bodies this server accepts. Strategic merge patch is deliberately not advertised
 * for built-in types: kubectl then computes it from its compiled-in Go types, which are
 * exact, instead of from these permissive schemas.
 */
function patchContent(ref: JsonObject): JsonObject {
  return { 'application/json-patch+json': { schema: ref }, 'application/merge-patch+json': { schema: ref } };
}

function operations(t: ResourceType, item: boolean, status: boolean): JsonObject {
  const gvk = { group: t.group, version: t.version, kind: t.kind };
  const ref = { $ref: `#/components/schemas/${definitionName(t)}` };
  const ok = { '200': { description: 'OK', content: { 'application/json': { schema: ref } } } };
  const id = (verb: string) => `${verb}${t.namespaced ? 'Namespaced' : ''}${t.kind}${status ? 'Status' : ''}`;
  const op = (verb: string, action: string, extra: JsonObject = {}): JsonObject => ({ operationId: id(verb), responses: ok, 'x-kubernetes-action': action, 'x-kubernetes-group-version-kind': gvk, ...extra });
  const fieldValidation = QUERY('fieldValidation', 'Strict, Warn or Ignore: what to do with unknown fields of custom resources.');
  const dryRun = QUERY('dryRun', 'All: validate without persisting.');
  if (!item) {
    return {
      get: op('list', 'list', { parameters: [QUERY('labelSelector', ''), QUERY('fieldSelector', ''), QUERY('resourceVersion', ''), QUERY('watch', '')] }),
      post: op('create', 'post', { parameters: [dryRun, fieldValidation], requestBody: { content: { 'application/json': { schema: ref } } } }),
    };
  }
  const ops: JsonObject = {
    get: op('read', 'get'),
    put: op('replace', 'put', { parameters: [dryRun, fieldValidation], requestBody: { content: { 'application/json': { schema: ref } } } }),
    patch: op('patch', 'patch', { parameters: [dryRun, fieldValidation, QUERY('fieldManager', ''), QUERY('force', '')], requestBody: { content: patchContent(ref) } }),
  };
  if (!status) ops.delete = op('delete', 'delete', { parameters: [dryRun, QUERY('propagationPolicy', '')] });
  return ops;
}

function paths(t: ResourceType): JsonObject {
  const base = `/${groupVersionPath(t.group, t.version)}${t.namespaced ? '/namespaces/{namespace}' : ''}/${t.plural}`;
  const params = [...(t.namespaced ? [{ name: 'namespace', in: 'path', required: true, schema: { type: 'string' } }] : [])];
  const nameParam = { name: 'name', in: 'path', required: true, schema: { type: 'string' } };
  const out: JsonObject = {
    [base]: { parameters: params, ...operations(t, false, false) },
    [`${base}/{name}`]: { parameters: [...params, nameParam], ...operations(t, true, false) },
  };
  if (t.statusSubresource) out[`${base}/{name}/status`] = { parameters: [...params, nameParam], ...operations(t, true, true) };
  return out;
}

/** The OpenAPI v3 document of one group version: paths with their GVK extensions, and schemas. */
export function groupVersionDocument(registry: ResourceRegistry, group: string, version: string): JsonObject {
  const types = registry.resourcesIn(group, version).sort((a, b) => a.plural.localeCompare(b.plural));
  const schemas: JsonObject = {};
  let allPaths: JsonObject = {};
  for (const t of types) {
    schemas[definitionName(t)] = t.openapiSchema ?? permissiveSchema(t);
    allPaths = { ...allPaths, ...paths(t) };
  }
  return { openapi: '3.0.0', info: { title: 'Kubernetes (local cluster)', version: KUBE_VERSION.gitVersion }, paths: allPaths, components: { schemas } };
}

function hashOf(doc: JsonObject): string {
  return createHash('sha256').update(JSON.stringify(doc)).digest('hex').slice(0, 16).toUpperCase();
}

/** GET /openapi/v3: where each group version's document is, with a hash that changes with it. */
export function openApiRoot(registry: ResourceRegistry): JsonObject {
  const entries: JsonObject = {};
  const gvs = new Set(registry.all().map((t) => `${t.group}\u0000${t.version}`));
  for (const gv of [...gvs].sort()) {
    const [group, version] = gv.split('\u0000');
    const path = groupVersionPath(group, version);
    entries[path] = { serverRelativeURL: `/openapi/v3/${path}?hash=${hashOf(groupVersionDocument(registry, group, version))}` };
  }
  return { paths: entries };
}
