// Preloaded into every pod process (`node --import <this file>`): cluster DNS for the
// local cluster. Names in the node agent's hosts map (a JSON file it rewrites atomically,
// mounted read-only in every pod at /run/local-cluster/dns/hosts.json) resolve to pod IPs,
// searched with the pod's resolv.conf search list (its namespace first); every other name
// goes to the system resolver. net.connect, http and fetch all resolve through
// dns.lookup, so programs need no changes. LOCAL_CLUSTER_HOSTS and LOCAL_CLUSTER_NAMESPACE
// override both (for running the hook outside a pod).
import dns from 'node:dns';
import { readFileSync, statSync } from 'node:fs';
import { syncBuiltinESMExports } from 'node:module';
import process from 'node:process';
import { resolveHost } from './hosts-resolve.mjs';

const hostsFile = process.env.LOCAL_CLUSTER_HOSTS || '/run/local-cluster/dns/hosts.json';
const namespace = process.env.LOCAL_CLUSTER_NAMESPACE || namespaceFromResolvConf() || 'default';

/** The pod's namespace from the first search domain the kubelet writes: <ns>.svc.cluster.local. */
function namespaceFromResolvConf() {
  try {
    const search = readFileSync('/etc/resolv.conf', 'utf8').split('\n').find((l) => l.startsWith('search '));
    const m = search && /^search\s+([^.\s]+)\.svc\./.exec(search);
    return m ? m[1] : undefined;
  } catch {
    return undefined;
  }
}
let cache = { key: '', hosts: {} };

/** The current map; re-read only when the file was replaced (new inode or mtime). */
function currentHosts() {
  if (!hostsFile) return cache.hosts;
  try {
    const st = statSync(hostsFile);
    const key = `${st.ino}:${st.mtimeMs}:${st.size}`;
    if (key !== cache.key) {
      const parsed = JSON.parse(readFileSync(hostsFile, 'utf8'));
      cache = { key, hosts: parsed && typeof parsed.hosts === 'object' && parsed.hosts !== null ? parsed.hosts : {} };
    }
  } catch {
    // Missing or unreadable: keep the last map we read rather than fail the lookup.
  }
  return cache.hosts;
}

function wantsIPv4(family) {
  return family === undefined || family === 0 || family === 4 || family === 'IPv4';
}

function localAnswer(hostname, options) {
  const opts = typeof options === 'number' ? { family: options } : options || {};
  if (typeof hostname !== 'string' || !wantsIPv4(opts.family)) return undefined;
  const ips = resolveHost(hostname, currentHosts(), namespace);
  return ips ? { ips, all: opts.all === true } : undefined;
}

const systemLookup = dns.lookup;
dns.lookup = function lookup(hostname, options, callback) {
  const cb = typeof options === 'function' ? options : callback;
  const answer = localAnswer(hostname, typeof options === 'function' ? undefined : options);
  if (answer === undefined || typeof cb !== 'function') return systemLookup.apply(dns, arguments);
  process.nextTick(() => {
    if (answer.all) cb(null, answer.ips.map((address) => ({ address, family: 4 })));
    else cb(null, answer.ips[0], 4);
  });
  return {};
};

const systemPromiseLookup = dns.promises.lookup;
dns.promises.lookup = async function lookup(hostname, options) {
  const answer = localAnswer(hostname, options);
  if (answer === undefined) return systemPromiseLookup.call(dns.promises, hostname, options);
  return answer.all ? answer.ips.map((address) => ({ address, family: 4 })) : { address: answer.ips[0], family: 4 };
};

// Makes `import { lookup } from 'node:dns'` see the wrapped functions too.
syncBuiltinESMExports();
