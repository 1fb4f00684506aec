import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { builtinTypes } from './builtin-types.js';
import { readCrdFiles } from './crd-loader.js';
import { crdResourceType } from './crd.js';
import { syncCrds } from './crd-sync.js';
import { startGarbageCollector } from './gc.js';
import { createHandler, typeForKey } from './handlers.js';
import { startNodeLifecycle } from './node-lifecycle.js';
import { nodeResourceType, POD_SUBRESOURCES } from './node-type.js';
import { Operations } from './operations.js';
import { ResourceRegistry } from './resource-registry.js';
import { startScheduler } from './scheduler.js';
import { storageResourceTypes } from './storage-types.js';
import { startVolumeBinder } from './volume-binder.js';
import { Store } from './store.js';

export interface ApiServerOptions {
  /** Loopback only: the server has no authentication. */
  host?: string;
  port?: number;
  /** CustomResourceDefinitions (YAML or JSON files) to serve from the start. */
  crdDir?: string;
  /** One line per request and per notable event; silent when absent. */
  log?: (line: string) => void;
  /** Watch history length; a watch from an older resourceVersion gets 410 Expired. */
  historySize?: number;
  /**
   * Run the scheduler (a kube-scheduler of the control plane): pods without a node get
   * bound to Nodes, or marked Unschedulable. Off for an API server alone, as a real
   * kube-apiserver does not schedule either.
   */
  scheduler?: boolean;
  /** How long a node's Lease may go unrenewed before its conditions turn Unknown; default 40 s. */
  nodeMonitorGracePeriodMs?: number;
}

export interface ApiServer {
  url: string;
  port: number;
  store: Store;
  registry: ResourceRegistry;
  ops: Operations;
  /** Resolves when pending garbage collection has run. */
  gcIdle(): Promise<void>;
  /** Resolves when a pending scheduling pass has run (immediately without a scheduler). */
  schedulerIdle(): Promise<void>;
  stop(): Promise<void>;
}

const LOOPBACK = new Set(['127.0.0.1', '::1', 'localhost']);
const INITIAL_NAMESPACES = ['default', 'kube-system', 'kube-public', 'kube-node-lease'];

/**
 * Starts the local development API server: an in-memory Kubernetes REST API good enough
 * for @kubernetes/client-node and kubectl. Not a cluster: no auth, no persistence.
 */
export async function startApiServer(opts: ApiServerOptions = {}): Promise<ApiServer> {
  const host = opts.host ?? '127.0.0.1';
  if (!LOOPBACK.has(host)) throw new Error(`local API server: refusing to listen on ${host}: it has no authentication, so it only listens on loopback`);
  const log = opts.log ?? (() => undefined);
  const store = new Store({ historySize: opts.historySize ?? 10_000 });
  const registry = new ResourceRegistry();
  const types = builtinTypes().map((t) => (t.group === '' && t.plural === 'pods' ? { ...t, subresources: [...(t.subresources ?? []), ...POD_SUBRESOURCES] } : t));
  for (const t of [...types, nodeResourceType(), ...storageResourceTypes(), crdResourceType()]) registry.register(t);
  const unsyncCrds = syncCrds(store, registry);
  const ops = new Operations(store, registry);
  const gc = startGarbageCollector(ops, (key) => typeForKey(registry, key), log);
  const lifecycle = startNodeLifecycle(ops, { log, ...(opts.nodeMonitorGracePeriodMs === undefined ? {} : { gracePeriodMs: opts.nodeMonitorGracePeriodMs }) });
  const binder = startVolumeBinder(ops, log);
  const scheduler = opts.scheduler ? startScheduler(ops, log) : undefined;
  const nsType = registry.lookup('', 'v1', 'namespaces');
  const crdType = registry.lookup('apiextensions.k8s.io', 'v1', 'customresourcedefinitions');
  if (!nsType || !crdType) throw new Error('local API server: built-in types missing');
  for (const name of INITIAL_NAMESPACES) ops.create(nsType, '', { metadata: { name } }, { dryRun: false, fieldValidation: 'Strict' });
  if (opts.crdDir) {
    const { crds, skipped } = await readCrdFiles(opts.crdDir);
    for (const s of skipped) log(`crds: skipped ${s}: not a CustomResourceDefinition`);
    for (const { file, crd } of crds) {
      try {
        ops.create(crdType, '', crd, { dryRun: false, fieldValidation: 'Strict' });
        log(`crds: serving ${String((crd.metadata as { name?: string } | undefined)?.name)} from ${file}`);
      } catch (err) {
        throw new Error(`${file}: ${(err as Error).message}`);
      }
    }
  }
  let address = '';
  const server: Server = createServer(createHandler({ ops, registry, serverAddress: () => address, log }));
  // Watches are long-lived; without this, a busy client could hold the process open after stop().
  server.keepAliveTimeout = 5_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  const urlHost = host.includes(':') ? `[${host}]` : host;
  address = `${urlHost}:${port}`;
  return {
    url: `http://${address}`,
    port,
    store,
    registry,
    ops,
    gcIdle: async () => {
      await binder.idle();
      await gc.idle();
    },
    schedulerIdle: async () => scheduler?.idle(),
    async stop() {
      gc.stop();
      lifecycle.stop();
      binder.stop();
      scheduler?.stop();
      unsyncCrds();
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      await closed;
    },
  };
}
