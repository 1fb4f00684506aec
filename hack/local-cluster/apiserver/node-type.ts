/**
 * The Node resource (core/v1, cluster-scoped, status subresource) with the columns
 * `kubectl get nodes` prints, and the pod subresources the scheduler and `kubectl logs`
 * use (pods/binding, pods/log).
 */
import { getArray, getObject, getString, isObject, type JsonObject, type JsonValue } from './json.js';
import type { Column, ResourceType } from './resource-registry.js';
import { ageColumn } from './table.js';

function column(name: string, cell: (o: JsonObject) => JsonValue, priority = 0): Column {
  return { name, type: 'string', format: '', description: name, priority, cell };
}

/** Ready / NotReady / Unknown, with SchedulingDisabled for a cordoned node, as kubectl prints it. */
export function nodeStatusText(node: JsonObject): string {
  const ready = (getArray(getObject(node, 'status'), 'conditions') ?? []).filter(isObject).find((c) => c.type === 'Ready');
  const s = getString(ready, 'status');
  const text = s === 'True' ? 'Ready' : s === 'False' ? 'NotReady' : 'Unknown';
  return getObject(node, 'spec')?.unschedulable === true ? `${text},SchedulingDisabled` : text;
}

function roles(node: JsonObject): string {
  const labels = getObject(getObject(node, 'metadata'), 'labels') ?? {};
  const found = Object.keys(labels).filter((k) => k.startsWith('node-role.kubernetes.io/')).map((k) => k.slice('node-role.kubernetes.io/'.length));
  return found.length > 0 ? found.sort().join(',') : '<none>';
}

function address(node: JsonObject, type: string): string {
  const a = (getArray(getObject(node, 'status'), 'addresses') ?? []).filter(isObject).find((x) => x.type === type);
  return getString(a, 'address') ?? '<none>';
}

function info(node: JsonObject, key: string): string {
  return getString(getObject(getObject(node, 'status'), 'nodeInfo'), key) ?? '';
}

export function nodeResourceType(): ResourceType {
  return {
    group: '',
    version: 'v1',
    kind: 'Node',
    listKind: 'NodeList',
    plural: 'nodes',
    singular: 'node',
    namespaced: false,
    shortNames: ['no'],
    categories: [],
    statusSubresource: true,
    custom: false,
    fieldSelectors: ['spec.unschedulable'],
    columns: [
      column('Status', nodeStatusText),
      column('Roles', roles),
      ageColumn,
      column('Version', (o) => info(o, 'kubeletVersion')),
      column('Internal-IP', (o) => address(o, 'InternalIP'), 1),
      column('External-IP', (o) => address(o, 'ExternalIP'), 1),
      column('OS-Image', (o) => info(o, 'osImage'), 1),
      column('Kernel-Version', (o) => info(o, 'kernelVersion'), 1),
      column('Container-Runtime', (o) => info(o, 'containerRuntimeVersion'), 1),
    ],
  };
}

/** pods/binding (create, kind Binding) and pods/log (get), as discovery lists them. */
export const POD_SUBRESOURCES = [
  { name: 'binding', kind: 'Binding', verbs: ['create'] },
  { name: 'log', kind: 'Pod', verbs: ['get'] },
];
