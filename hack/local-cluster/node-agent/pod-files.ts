/**
 * The files a kubelet writes for every pod and mounts into it (pkg/kubelet/kubelet_pods.go
 * and network/dns): /etc/hosts with the pod's own name, /etc/resolv.conf with the
 * cluster DNS search list for its namespace (dnsPolicy ClusterFirst), /etc/hostname.
 * Pure.
 */
import type { V1Pod } from '@kubernetes/client-node';
import { CLUSTER_DOMAIN } from './hosts-map.js';
import { podHostname } from './process-spec.js';

/** The kubelet's managed hosts file, with the pod's FQDN when it has a subdomain. */
export function etcHosts(pod: V1Pod, podIP: string): string {
  const hostname = podHostname(pod);
  const sub = pod.spec?.subdomain;
  const names = sub ? `${hostname}.${sub}.${pod.metadata?.namespace ?? 'default'}.svc.${CLUSTER_DOMAIN}\t${hostname}` : hostname;
  return [
    '# Kubernetes-managed hosts file.',
    '127.0.0.1\tlocalhost',
    '::1\tlocalhost ip6-localhost ip6-loopback',
    'fe00::0\tip6-localnet',
    'fe00::0\tip6-mcastprefix',
    'fe00::1\tip6-allnodes',
    'fe00::2\tip6-allrouters',
    `${podIP}\t${names}`,
    '',
  ].join('\n');
}

/** resolv.conf for ClusterFirst: the namespace's search list, ndots:5, the host's nameservers. */
export function resolvConf(pod: V1Pod, hostResolvConf: string): string {
  const ns = pod.metadata?.namespace ?? 'default';
  const nameservers = hostResolvConf.split('\n').filter((l) => /^\s*nameserver\s/.test(l)).map((l) => l.trim());
  return [`search ${ns}.svc.${CLUSTER_DOMAIN} svc.${CLUSTER_DOMAIN} ${CLUSTER_DOMAIN}`, ...nameservers, 'options ndots:5', ''].join('\n');
}
