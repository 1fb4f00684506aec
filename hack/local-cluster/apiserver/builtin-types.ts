import { getArray, getObject, getString, isObject, type JsonObject, type JsonValue } from './json.js';
import type { Column, ResourceType } from './resource-registry.js';
import { builtinChecks } from './builtin-validation/index.js';
import { ageColumn } from './table.js';

function column(name: string, cell: (o: JsonObject) => JsonValue, priority = 0, type: Column['type'] = 'string'): Column {
  return { name, type, format: '', description: name, priority, cell };
}

type Base = Pick<ResourceType, 'group' | 'version' | 'kind' | 'plural' | 'singular' | 'namespaced'> & Partial<ResourceType>;

function resource(b: Base): ResourceType {
  return { listKind: `${b.kind}List`, shortNames: [], categories: [], statusSubresource: false, custom: false, columns: [ageColumn], fieldSelectors: [], ...b };
}

function containers(pod: JsonObject): JsonObject[] {
  return (getArray(getObject(pod, 'spec'), 'containers') ?? []).filter(isObject);
}

/** A limit without a request makes the request equal to it (pkg/apis/core/v1/defaults.go, SetDefaults_Pod). */
function requestsFromLimits(c: JsonObject): void {
  const resources = getObject(c, 'resources');
  const limits = getObject(resources, 'limits');
  if (!resources || !limits) return;
  const requests = getObject(resources, 'requests') ?? {};
  for (const [k, v] of Object.entries(limits)) requests[k] ??= v;
  resources.requests = requests;
}

function podDefaults(pod: JsonObject): void {
  const spec = getObject(pod, 'spec');
  if (spec) {
    spec.restartPolicy ??= 'Always';
    spec.terminationGracePeriodSeconds ??= 30;
    spec.dnsPolicy ??= 'ClusterFirst';
    spec.schedulerName ??= 'default-scheduler';
    for (const c of containers(pod)) {
      requestsFromLimits(c);
      for (const p of (getArray(c, 'ports') ?? []).filter(isObject)) p.protocol ??= 'TCP';
      const image = typeof c.image === 'string' ? c.image : '';
      const tag = /:([^/:@]+)$/.exec(image)?.[1];
      c.imagePullPolicy ??= tag === undefined || tag === 'latest' ? 'Always' : 'IfNotPresent';
      c.terminationMessagePath ??= '/dev/termination-log';
      c.terminationMessagePolicy ??= 'File';
    }
  }
  const status = getObject(pod, 'status') ?? {};
  status.phase ??= 'Pending';
  pod.status = status;
}

function podReady(pod: JsonObject): string {
  const statuses = (getArray(getObject(pod, 'status'), 'containerStatuses') ?? []).filter(isObject);
  return `${statuses.filter((s) => s.ready === true).length}/${containers(pod).length}`;
}

function podRestarts(pod: JsonObject): number {
  const statuses = (getArray(getObject(pod, 'status'), 'containerStatuses') ?? []).filter(isObject);
  return statuses.reduce((n, s) => n + (typeof s.restartCount === 'number' ? s.restartCount : 0), 0);
}

function podStatus(pod: JsonObject): string {
  if (isObject(pod.metadata) && pod.metadata.deletionTimestamp) return 'Terminating';
  const status = getObject(pod, 'status');
  return getString(status, 'reason') ?? getString(status, 'phase') ?? 'Unknown';
}

/** Cluster IPs come from 10.96.0.0/16 in creation order; nothing routes them, they are labels here. */
function serviceDefaults(): (svc: JsonObject) => void {
  let next = 1;
  return (svc) => {
    const spec = getObject(svc, 'spec') ?? {};
    svc.spec = spec;
    spec.type ??= 'ClusterIP';
    spec.sessionAffinity ??= 'None';
    if (spec.clusterIP === undefined) {
      spec.clusterIP = `10.96.${Math.floor(next / 250)}.${(next % 250) + 1}`;
      next++;
    }
    if (spec.clusterIPs === undefined) spec.clusterIPs = [spec.clusterIP];
    for (const p of (getArray(spec, 'ports') ?? []).filter(isObject)) {
      p.protocol ??= 'TCP';
      p.targetPort ??= p.port ?? null;
    }
  };
}

function servicePorts(svc: JsonObject): string {
  const ports = (getArray(getObject(svc, 'spec'), 'ports') ?? []).filter(isObject);
  return ports.length === 0 ? '<none>' : ports.map((p) => `${String(p.port)}/${String(p.protocol ?? 'TCP')}`).join(',');
}

function secretDefaults(secret: JsonObject): void {
  secret.type ??= 'Opaque';
  // stringData is write-only: it is folded into base64 data as the real server does.
  const stringData = getObject(secret, 'stringData');
  if (stringData) {
    const data = getObject(secret, 'data') ?? {};
    for (const [k, v] of Object.entries(stringData)) if (typeof v === 'string') data[k] = Buffer.from(v, 'utf8').toString('base64');
    secret.data = data;
    delete secret.stringData;
  }
}

function dataCount(o: JsonObject): number {
  return Object.keys(getObject(o, 'data') ?? {}).length + Object.keys(getObject(o, 'binaryData') ?? {}).length;
}

function endpointAddresses(o: JsonObject): string {
  const endpoints = o.endpoints;
  const addresses = Array.isArray(endpoints) ? endpoints.flatMap((e) => (isObject(e) && Array.isArray(e.addresses) ? e.addresses.filter((a) => typeof a === 'string') : [])) : [];
  return addresses.length === 0 ? '<unset>' : addresses.join(',');
}

const EVENT_FIELDS = ['involvedObject.kind', 'involvedObject.namespace', 'involvedObject.name', 'involvedObject.uid', 'involvedObject.apiVersion', 'involvedObject.resourceVersion', 'involvedObject.fieldPath', 'reason', 'reportingComponent', 'source', 'type'];

/** The built-in resources, fresh per server (Service IP allocation is per server). */
export function builtinTypes(): ResourceType[] {
  const core = { group: '', version: 'v1' };
  return [
    resource({
      ...core,
      kind: 'Namespace',
      plural: 'namespaces',
      singular: 'namespace',
      namespaced: false,
      shortNames: ['ns'],
      statusSubresource: true,
      fieldSelectors: ['status.phase'],
      defaulter: (ns) => {
        const status = getObject(ns, 'status') ?? {};
        status.phase ??= 'Active';
        ns.status = status;
      },
      columns: [column('Status', (o) => getString(getObject(o, 'status'), 'phase') ?? ''), ageColumn],
    }),
    resource({
      ...core,
      kind: 'Pod',
      plural: 'pods',
      singular: 'pod',
      namespaced: true,
      shortNames: ['po'],
      categories: ['all'],
      statusSubresource: true,
      fieldSelectors: ['spec.nodeName', 'spec.restartPolicy', 'spec.schedulerName', 'spec.serviceAccountName', 'status.phase', 'status.podIP', 'status.nominatedNodeName'],
      defaulter: podDefaults,
      ...builtinChecks('Pod', 'v1'),
      columns: [
        column('Ready', podReady),
        column('Status', podStatus),
        column('Restarts', podRestarts, 0, 'integer'),
        ageColumn,
        column('IP', (o) => getString(getObject(o, 'status'), 'podIP') ?? '<none>', 1),
        column('Node', (o) => getString(getObject(o, 'spec'), 'nodeName') ?? '<none>', 1),
      ],
    }),
    resource({
      ...core,
      kind: 'Service',
      ...builtinChecks('Service', 'v1'),
      plural: 'services',
      singular: 'service',
      namespaced: true,
      shortNames: ['svc'],
      categories: ['all'],
      statusSubresource: true,
      defaulter: serviceDefaults(),
      columns: [
        column('Type', (o) => getString(getObject(o, 'spec'), 'type') ?? ''),
        column('Cluster-IP', (o) => getString(getObject(o, 'spec'), 'clusterIP') ?? ''),
        column('External-IP', () => '<none>'),
        column('Port(s)', servicePorts),
        ageColumn,
      ],
    }),
    resource({ ...core, kind: 'Secret', plural: 'secrets', singular: 'secret', namespaced: true, fieldSelectors: ['type'], defaulter: secretDefaults, ...builtinChecks('Secret', 'v1'), columns: [column('Type', (o) => getString(o, 'type') ?? ''), column('Data', dataCount, 0, 'integer'), ageColumn] }),
    resource({ ...core, kind: 'ConfigMap', plural: 'configmaps', singular: 'configmap', namespaced: true, shortNames: ['cm'], columns: [column('Data', dataCount, 0, 'integer'), ageColumn] }),
    resource({ ...core, kind: 'ServiceAccount', plural: 'serviceaccounts', singular: 'serviceaccount', namespaced: true, shortNames: ['sa'] }),
    resource({
      ...core,
      kind: 'Event',
      ...builtinChecks('Event', 'v1'),
      plural: 'events',
      singular: 'event',
      namespaced: true,
      shortNames: ['ev'],
      fieldSelectors: EVENT_FIELDS,
      columns: [
        column('Type', (o) => getString(o, 'type') ?? ''),
        column('Reason', (o) => getString(o, 'reason') ?? ''),
        column('Object', (o) => `${(getString(getObject(o, 'involvedObject'), 'kind') ?? '').toLowerCase()}/${getString(getObject(o, 'involvedObject'), 'name') ?? ''}`),
        column('Message', (o) => getString(o, 'message') ?? ''),
        ageColumn,
      ],
    }),
    resource({
      group: 'coordination.k8s.io',
      version: 'v1',
      kind: 'Lease',
      ...builtinChecks('Lease', 'v1'),
      plural: 'leases',
      singular: 'lease',
      namespaced: true,
      columns: [column('Holder', (o) => getString(getObject(o, 'spec'), 'holderIdentity') ?? ''), ageColumn],
    }),
    // A Service without a selector gets its addresses from EndpointSlices (the local S3 is one).
    resource({
      group: 'discovery.k8s.io',
      version: 'v1',
      kind: 'EndpointSlice',
      ...builtinChecks('EndpointSlice', 'v1'),
      plural: 'endpointslices',
      singular: 'endpointslice',
      namespaced: true,
      columns: [
        column('AddressType', (o) => getString(o, 'addressType') ?? ''),
        column('Endpoints', endpointAddresses),
        ageColumn,
      ],
    }),
  ];
}
