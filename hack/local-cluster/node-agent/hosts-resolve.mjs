// Name lookup in the local cluster's hosts map, with the search list a pod's resolv.conf
// would have in a cluster (ndots:5). Plain JavaScript: dns-hook.mjs loads it into every
// pod process, whatever runs there.

export const CLUSTER_DOMAIN = 'cluster.local';
const NDOTS = 5;

/** The fully qualified names to try for `name`, in resolver order. */
export function searchCandidates(name, namespace, clusterDomain = CLUSTER_DOMAIN) {
  const bare = name.toLowerCase();
  if (bare.endsWith('.')) return [bare.slice(0, -1)];
  const search = [`${namespace}.svc.${clusterDomain}`, `svc.${clusterDomain}`, clusterDomain].map((suffix) => `${bare}.${suffix}`);
  const dots = bare.split('.').length - 1;
  return dots >= NDOTS ? [bare, ...search] : [...search, bare];
}

/** The addresses `name` has in `hosts` (FQDN → IPv4 list), or undefined to fall through. */
export function resolveHost(name, hosts, namespace, clusterDomain = CLUSTER_DOMAIN) {
  for (const candidate of searchCandidates(name, namespace, clusterDomain)) {
    const ips = Object.hasOwn(hosts, candidate) ? hosts[candidate] : undefined;
    if (Array.isArray(ips) && ips.length > 0) return ips;
  }
  return undefined;
}
