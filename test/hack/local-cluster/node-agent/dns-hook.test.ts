import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import t from 'tap';
import { CLUSTER_DOMAIN } from '../../../../hack/local-cluster/node-agent/hosts-map.js';
import { CLUSTER_DOMAIN as HOOK_CLUSTER_DOMAIN, resolveHost, searchCandidates } from '../../../../hack/local-cluster/node-agent/hosts-resolve.mjs';

const HOOK = pathToFileURL(fileURLToPath(new URL('../../../../hack/local-cluster/node-agent/dns-hook.mjs', import.meta.url))).href;

t.test('search list: short names expand in the pod namespace first, as with ndots:5', async (t) => {
  t.equal(HOOK_CLUSTER_DOMAIN, CLUSTER_DOMAIN, 'the hook and the hosts map agree on the cluster domain');
  t.same(searchCandidates('w-0.workers', 'ml'), ['w-0.workers.ml.svc.cluster.local', 'w-0.workers.svc.cluster.local', 'w-0.workers.cluster.local', 'w-0.workers']);
  t.same(searchCandidates('a.b.c.d.e.f', 'ml')[0], 'a.b.c.d.e.f', 'names with 5 dots are tried as given first');
  t.same(searchCandidates('W-0.Workers.ml.svc.cluster.local.', 'ml'), ['w-0.workers.ml.svc.cluster.local'], 'a trailing dot means fully qualified; case-insensitive');
  const hosts = { 'w-0.workers.ml.svc.cluster.local': ['127.0.0.3'], 'w-0.workers.other.svc.cluster.local': ['127.0.0.4'] };
  t.same(resolveHost('w-0.workers', hosts, 'ml'), ['127.0.0.3']);
  t.same(resolveHost('w-0.workers', hosts, 'other'), ['127.0.0.4']);
  t.same(resolveHost('w-0.workers.other', hosts, 'ml'), ['127.0.0.4'], '<host>.<svc>.<ns> reaches other namespaces');
  t.same(resolveHost('w-0.workers.ml.svc', hosts, 'other'), ['127.0.0.3'], 'the MASTER_ADDR form');
  t.equal(resolveHost('example.com', hosts, 'ml'), undefined);
  t.equal(resolveHost('__proto__', hosts, 'ml'), undefined);
});

/** Runs an ESM snippet in a child with the hook preloaded; returns its stdout as JSON. */
function runWithHook(script: string, env: Record<string, string>): Promise<unknown> {
  return new Promise((resolve, reject) => {
    execFile(process.execPath, ['--import', HOOK, '--input-type=module', '-e', script], { env: { PATH: process.env.PATH ?? '', ...env }, timeout: 20_000 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`${err.message}\n${stderr}`));
      else resolve(JSON.parse(stdout) as unknown);
    });
  });
}

t.test('the preload answers dns.lookup, dns.promises.lookup and net.connect from the hosts file', async (t) => {
  const dir = t.testdir();
  const hostsFile = join(dir, 'hosts.json');
  const ip = '127.0.0.3';
  writeFileSync(hostsFile, JSON.stringify({ hosts: { 'w-0.workers.ml.svc.cluster.local': [ip], 'workers.ml.svc.cluster.local': [ip, '127.0.0.5'] } }));
  const script = `
    import dns from 'node:dns';
    import { lookup as promiseLookup } from 'node:dns/promises';
    import { renameSync, writeFileSync } from 'node:fs';
    import net from 'node:net';
    const out = {};
    out.callback = await new Promise((res, rej) => dns.lookup('w-0.workers.ml.svc', (e, a, f) => (e ? rej(e) : res([a, f]))));
    out.family4 = await new Promise((res, rej) => dns.lookup('w-0.workers', 4, (e, a) => (e ? rej(e) : res(a))));
    out.all = await dns.promises.lookup('workers', { all: true });
    out.named = await promiseLookup('w-0.workers.ml.svc.cluster.local');
    out.ipv6Only = await new Promise((res) => dns.lookup('w-0.workers', { family: 6 }, (e) => res(e ? e.code : 'resolved')));
    out.localhost = (await dns.promises.lookup('localhost', { family: 4 })).address;
    const server = net.createServer((s) => s.end('hi')).listen(0, '${ip}');
    await new Promise((r) => server.once('listening', r));
    out.connect = await new Promise((res, rej) => {
      const c = net.connect(server.address().port, 'w-0.workers.ml.svc');
      let d = '';
      c.on('data', (x) => (d += x));
      c.on('end', () => res([d, c.remoteAddress]));
      c.on('error', rej);
    });
    server.close();
    writeFileSync(${JSON.stringify(hostsFile)} + '.tmp', JSON.stringify({ hosts: { 'w-0.workers.ml.svc.cluster.local': ['127.0.0.9'] } }));
    renameSync(${JSON.stringify(hostsFile)} + '.tmp', ${JSON.stringify(hostsFile)});
    out.afterRewrite = (await dns.promises.lookup('w-0.workers')).address;
    out.removed = await new Promise((res) => dns.lookup('workers', (e, a) => res(e ? 'error' : a)));
    console.log(JSON.stringify(out));
  `;
  const out = (await runWithHook(script, { LOCAL_CLUSTER_HOSTS: hostsFile, LOCAL_CLUSTER_NAMESPACE: 'ml' })) as Record<string, unknown>;
  t.same(out.callback, [ip, 4], 'callback dns.lookup with the MASTER_ADDR form');
  t.equal(out.family4, ip, 'numeric family argument');
  t.same(out.all, [
    { address: ip, family: 4 },
    { address: '127.0.0.5', family: 4 },
  ]);
  t.same(out.named, { address: ip, family: 4 }, 'named import from node:dns/promises is wrapped too');
  t.not(out.ipv6Only, 'resolved', 'an IPv6-only lookup is not answered with an IPv4 pod IP');
  t.equal(out.localhost, '127.0.0.1', 'other names fall through to the system resolver');
  t.same(out.connect, ['hi', ip], 'net.connect by cluster DNS name reaches the pod IP');
  t.equal(out.afterRewrite, '127.0.0.9', 'an atomically replaced file is re-read');
  t.not(out.removed, ip, 'a name removed from the file no longer resolves to its old IP');
});

t.test('without LOCAL_CLUSTER_HOSTS the preload changes nothing', async (t) => {
  const out = await runWithHook(`import dns from 'node:dns'; console.log(JSON.stringify((await dns.promises.lookup('localhost', { family: 4 })).address));`, {});
  t.equal(out, '127.0.0.1');
});
