import type { JsonObject } from './json.js';
import type { GroupInfo, ResourceRegistry, ResourceType } from './resource-registry.js';

/** The Kubernetes release this server imitates: /usr/bin/kubectl dispatchers pick a matching client by it. */
export const KUBE_VERSION = { major: '1', minor: '32', gitVersion: 'v1.32.3' };

const VERBS = ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'];

export function versionInfo(): JsonObject {
  return {
    ...KUBE_VERSION,
    gitCommit: 'local-cluster',
    gitTreeState: 'clean',
    buildDate: '2025-01-01T00:00:00Z',
    goVersion: 'n/a (Node.js local cluster)',
    compiler: 'node',
    platform: `${process.platform}/${process.arch}`,
  };
}

/** GET /api: the legacy core group's versions. */
export function apiVersions(serverAddress: string): JsonObject {
  return { kind: 'APIVersions', versions: ['v1'], serverAddressByClientCIDRs: [{ clientCIDR: '0.0.0.0/0', serverAddress }] };
}

function apiGroup(g: GroupInfo): JsonObject {
  const versions = g.versions.map((v) => ({ groupVersion: `${g.name}/${v}`, version: v }));
  return { name: g.name, versions, preferredVersion: versions[0] };
}

/** GET /apis: every named group, including each served CRD group. */
export function apiGroupList(registry: ResourceRegistry): JsonObject {
  return { kind: 'APIGroupList', apiVersion: 'v1', groups: registry.groups().map(apiGroup) };
}

export function apiGroupDoc(registry: ResourceRegistry, group: string): JsonObject | undefined {
  const g = registry.groups().find((x) => x.name === group);
  return g && { kind: 'APIGroup', apiVersion: 'v1', ...apiGroup(g) };
}

function resourceEntries(t: ResourceType): JsonObject[] {
  const main: JsonObject = { name: t.plural, singularName: t.singular, namespaced: t.namespaced, kind: t.kind, verbs: VERBS };
  if (t.shortNames.length > 0) main.shortNames = t.shortNames;
  if (t.categories.length > 0) main.categories = t.categories;
  const entries = [main];
  if (t.statusSubresource) entries.push({ name: `${t.plural}/status`, singularName: '', namespaced: t.namespaced, kind: t.kind, verbs: ['get', 'patch', 'update'] });
  for (const sub of t.subresources ?? []) entries.push({ name: `${t.plural}/${sub.name}`, singularName: '', namespaced: t.namespaced, kind: sub.kind, verbs: sub.verbs });
  return entries;
}

/** GET /api/v1 or /apis/<group>/<version>. */
export function apiResourceList(registry: ResourceRegistry, group: string, version: string): JsonObject {
  const resources = registry
    .resourcesIn(group, version)
    .sort((a, b) => a.plural.localeCompare(b.plural))
    .flatMap(resourceEntries);
  return { kind: 'APIResourceList', apiVersion: 'v1', groupVersion: group === '' ? version : `${group}/${version}`, resources };
}
