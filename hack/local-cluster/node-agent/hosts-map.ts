/**
 * Cluster DNS records for the local cluster, computed from Pods and Services the way
 * CoreDNS computes them from EndpointSlices: a Service name resolves to the IPs of the
 * pods it selects (ready ones, or all with publishNotReadyAddresses), and a pod with
 * `hostname` and `subdomain` gets `<hostname>.<subdomain>.<ns>.svc.<domain>` only when a
 * headless Service named like the subdomain selects it — as in a cluster, so a missing
 * Service shows up here and not first on a real cluster. A Service without a selector
 * resolves to the addresses of its EndpointSlices (label kubernetes.io/service-name), ready
 * ones only, as CoreDNS serves them. Pure.
 */
import type { V1EndpointSlice, V1Pod, V1Service } from '@kubernetes/client-node';

export type HostsMap = Record<string, string[]>;

/** Must match CLUSTER_DOMAIN in hosts-resolve.mjs (a test checks); not imported so dist/ builds need no .mjs copy. */
export const CLUSTER_DOMAIN = 'cluster.local';

function selects(selector: Readonly<Record<string, string>>, labels: Readonly<Record<string, string>> | undefined): boolean {
  return Object.entries(selector).every(([k, v]) => labels?.[k] === v);
}

function isReady(pod: V1Pod): boolean {
  return (pod.status?.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True');
}

/** A pod that can take traffic at all: has an IP, is not finished and not being deleted. */
function isServing(pod: V1Pod): boolean {
  const phase = pod.status?.phase;
  return Boolean(pod.status?.podIP) && phase !== 'Succeeded' && phase !== 'Failed' && !pod.metadata?.deletionTimestamp;
}

function add(map: HostsMap, name: string, ip: string): void {
  const list = (map[name.toLowerCase()] ??= []);
  if (!list.includes(ip)) list.push(ip);
}

/** The label that ties an EndpointSlice to its Service. */
export const SERVICE_NAME_LABEL = 'kubernetes.io/service-name';

function sliceAddresses(slices: readonly V1EndpointSlice[], namespace: string, service: string): string[] {
  return slices
    .filter((s) => (s.metadata?.namespace ?? 'default') === namespace && s.metadata?.labels?.[SERVICE_NAME_LABEL] === service && s.addressType === 'IPv4')
    .flatMap((s) => s.endpoints.filter((e) => e.conditions?.ready !== false).flatMap((e) => e.addresses));
}

export function hostsMap(pods: readonly V1Pod[], services: readonly V1Service[], endpointSlices: readonly V1EndpointSlice[] = [], clusterDomain: string = CLUSTER_DOMAIN): HostsMap {
  const map: HostsMap = {};
  for (const svc of services) {
    const selector = svc.spec?.selector;
    const name = svc.metadata?.name;
    const namespace = svc.metadata?.namespace ?? 'default';
    if (!name) continue;
    const fqdn = `${name}.${namespace}.svc.${clusterDomain}`;
    if (!selector || Object.keys(selector).length === 0) {
      for (const ip of sliceAddresses(endpointSlices, namespace, name)) add(map, fqdn, ip);
      continue;
    }
    const headless = svc.spec?.clusterIP === 'None';
    for (const pod of pods) {
      if ((pod.metadata?.namespace ?? 'default') !== namespace || !isServing(pod) || !selects(selector, pod.metadata?.labels)) continue;
      if (!isReady(pod) && !svc.spec?.publishNotReadyAddresses) continue;
      const ip = pod.status?.podIP ?? '';
      // ClusterIPs route nowhere here; resolving the Service to its pods works when port == targetPort.
      add(map, fqdn, ip);
      if (headless && pod.spec?.subdomain === name && pod.spec.hostname) add(map, `${pod.spec.hostname}.${fqdn}`, ip);
    }
  }
  for (const ips of Object.values(map)) ips.sort();
  return map;
}
