/**
 * The local cluster's node agent: a kubelet for one node of a development machine. It
 * registers its Node (capacity, GPU taint, Lease heartbeat), serves container logs on a
 * kubelet endpoint, watches Pods and runs those the scheduler bound to its node, each as
 * a process in its own sandbox through a PodWorker. Pods being deleted are stopped within
 * their grace period and then deleted with grace 0, which is what removes them from the
 * API. It also computes the cluster DNS records from all Pods and Services. It is a plain
 * API client, so everything it does is visible to kubectl and the operator.
 */
import { readFileSync } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { CoreV1Api, DiscoveryV1Api, makeInformer, type Informer, type KubeConfig, type KubernetesObject, type ObjectCache, type V1EndpointSlice, type V1Pod, type V1Service } from '@kubernetes/client-node';
import { defaultCommands, repoRoot, type LocalCommand, type TrainerSource } from './commands.js';
import { HostsFile } from './hosts-file.js';
import { hostsMap } from './hosts-map.js';
import { imageLayout } from './image.js';
import { DEFAULT_POD_IP_RANGE, LoopbackIpPool, type IpRange } from './ip-pool.js';
import { startLogServer, type LogServer } from './log-server.js';
import { clientNodeApi, type NodeApi } from './node-api.js';
import { machineResources, nodeObject, registerNode, type NodeHeartbeat, type NodeResources } from './node-registration.js';
import { podRef } from './pod-ref.js';
import { nodeLostStatus } from './pod-status.js';
import { PodWorker, type WorkerDeps } from './pod-worker.js';
import { probeSandbox, type SandboxSupport } from './sandbox-probe.js';

export interface NodeAgentOptions {
  kubeConfig: KubeConfig;
  /** Cluster state directory: pods live under nodes/<node>/, container logs under logs/. */
  stateDir: string;
  nodeName?: string;
  /** The node's own address, reported as status.hostIP and the Node's InternalIP. */
  hostIP?: string;
  /** What the Node advertises; the machine's cores and memory, no GPUs, by default. */
  resources?: Partial<NodeResources>;
  podIpRange?: IpRange;
  /** Run `cifar-trainer` from TypeScript sources (tsx) or from the dist/ build. */
  trainerFrom?: TrainerSource;
  /** Commands besides `cifar-trainer` (tests register fakes here). */
  extraCommands?: ReadonlyMap<string, LocalCommand>;
  /** Pause before retrying a pod whose Secret or ConfigMap is missing; default 2 s. */
  configRetryMs?: number;
  /** Pause before relisting after a failed watch; default 1 s. */
  relistDelayMs?: number;
  /** Cap on each pod's grace period when the agent itself stops; default 10 s. */
  shutdownGraceMs?: number;
  /** Lease renewal interval; default 10 s. */
  leaseRenewMs?: number;
  /** Replaces the mount-namespace check (tests of the failure path). */
  sandbox?: SandboxSupport;
  log?: (line: string) => void;
  /** Replaces the client-node calls (tests). */
  api?: NodeApi;
}

export interface PodProcessInfo {
  pid: number | undefined;
  podIP: string | undefined;
  podDir: string;
  logFile: string;
}

export interface NodeAgent {
  readonly nodeName: string;
  readonly hostsFile: string;
  readonly logsDir: string;
  /** The kubelet endpoint's port (Node status.daemonEndpoints.kubeletEndpoint.Port). */
  readonly kubeletPort: number;
  readonly sandbox: SandboxSupport;
  /** The local process behind a pod this agent runs (debugging and tests). */
  podProcess(namespace: string, name: string): PodProcessInfo | undefined;
  stop(): Promise<void>;
}

export const DEFAULT_NODE_NAME = 'local-node';

type Cache<T extends KubernetesObject> = Informer<T> & ObjectCache<T>;

function readText(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
}

export async function startNodeAgent(opts: NodeAgentOptions): Promise<NodeAgent> {
  const log = opts.log ?? (() => undefined);
  const nodeName = opts.nodeName ?? DEFAULT_NODE_NAME;
  const nodeDir = join(opts.stateDir, 'nodes', nodeName);
  const podsDir = join(nodeDir, 'pods');
  const dnsDir = join(nodeDir, 'dns');
  const logsDir = join(opts.stateDir, 'logs');
  for (const d of [podsDir, dnsDir, logsDir]) await mkdir(d, { recursive: true, mode: 0o700 });
  const hosts = new HostsFile(join(dnsDir, 'hosts.json'));
  await hosts.write({});
  const root = repoRoot();
  const commands = new Map([...defaultCommands(root, opts.trainerFrom ?? 'source'), ...(opts.extraCommands ?? [])]);
  const api = opts.api ?? clientNodeApi(opts.kubeConfig);
  const sandbox = opts.sandbox ?? (await probeSandbox());
  if (!sandbox.ok) log(`node ${nodeName}: ${sandbox.message}; pods on this node will fail`);
  const hostIP = opts.hostIP ?? '127.0.0.1';
  const deps: WorkerDeps = {
    api,
    ipPool: new LoopbackIpPool(opts.podIpRange ?? DEFAULT_POD_IP_RANGE),
    commands,
    nodeName,
    hostIP,
    podsDir,
    logsDir,
    dnsDir,
    dnsHookUrl: pathToFileURL(join(root, 'hack/local-cluster/node-agent/dns-hook.mjs')).href,
    execPath: process.execPath,
    image: imageLayout(root, process.execPath),
    repoRoot: root,
    stateDir: resolve(opts.stateDir),
    sandbox,
    hostResolvConf: readText('/etc/resolv.conf'),
    configRetryMs: opts.configRetryMs ?? 2_000,
    log,
  };
  const shutdownGraceMs = opts.shutdownGraceMs ?? 10_000;
  const relistDelayMs = opts.relistDelayMs ?? 1_000;

  const workers = new Map<string, PodWorker>();
  const retiring = new Set<Promise<void>>();
  const markedLost = new Set<string>();
  /** Pods (by uid) whose worker is stopping or stopped: later events must not act on them again. */
  const retired = new Set<string>();
  let stopped = false;

  const logServer: LogServer = await startLogServer((ns, name) => workers.get(`${ns}/${name}`)?.logSource(), log);
  const heartbeat: NodeHeartbeat = await registerNode(api, nodeObject(nodeName, hostIP, logServer.port, { ...machineResources(), ...opts.resources }, new Date().toISOString()), {
    ...(opts.leaseRenewMs === undefined ? {} : { renewMs: opts.leaseRenewMs }),
    log,
  }).catch(async (err: unknown) => {
    await logServer.stop();
    throw err;
  });

  const retire = (worker: PodWorker, graceMs: number, deleteFromApi: boolean): void => {
    if (workers.get(worker.ref) === worker) workers.delete(worker.ref);
    retired.add(worker.uid);
    log(`pod ${worker.ref}: stopping (grace ${graceMs} ms)`);
    const done = worker.stop(graceMs, deleteFromApi).catch((err: unknown) => log(`pod ${worker.ref}: stop failed: ${String(err)}`));
    retiring.add(done);
    void done.finally(() => retiring.delete(done));
  };

  const markNodeLost = (pod: V1Pod): void => {
    const uid = pod.metadata?.uid ?? '';
    if (markedLost.has(uid)) return;
    markedLost.add(uid);
    log(`pod ${podRef(pod)}: not started by this agent; reporting NodeLost`);
    const status = nodeLostStatus(pod.spec?.containers[0]?.name ?? '', new Date().toISOString());
    api.patchPodStatus(pod.metadata?.namespace ?? 'default', pod.metadata?.name ?? '', uid, status).catch((err: unknown) => log(`pod ${podRef(pod)}: NodeLost update failed: ${String(err)}`));
  };

  /** The grace period a deletion asked for: metadata.deletionGracePeriodSeconds. */
  const deletionGraceMs = (pod: V1Pod, worker: PodWorker): number => {
    const s = pod.metadata?.deletionGracePeriodSeconds;
    return typeof s === 'number' ? s * 1000 : worker.graceMs();
  };

  const onPod = (pod: V1Pod): void => {
    if (stopped || pod.spec?.nodeName !== nodeName) return;
    const ref = podRef(pod);
    const uid = pod.metadata?.uid ?? '';
    let worker = workers.get(ref);
    // Same name, new uid: the old pod was deleted and recreated between two events.
    if (worker && worker.uid !== uid) {
      retire(worker, worker.graceMs(), false);
      worker = undefined;
    }
    if (retired.has(uid)) return;
    if (pod.metadata?.deletionTimestamp) {
      if (worker) retire(worker, deletionGraceMs(pod, worker), true);
      // A Terminating pod this agent is not running (it restarted) has nothing left to stop.
      else void api.deletePod(pod.metadata.namespace ?? 'default', pod.metadata.name ?? '', uid).catch((err: unknown) => log(`pod ${ref}: final delete failed: ${String(err)}`));
      return;
    }
    if (worker) return;
    const phase = pod.status?.phase;
    if (phase === 'Succeeded' || phase === 'Failed') return;
    if (phase === 'Running' || pod.status?.podIP) {
      markNodeLost(pod);
      return;
    }
    worker = new PodWorker(pod, deps);
    workers.set(ref, worker);
    worker.start();
  };

  const onPodDeleted = (pod: V1Pod): void => {
    retired.delete(pod.metadata?.uid ?? '');
    markedLost.delete(pod.metadata?.uid ?? '');
    const worker = workers.get(podRef(pod));
    // Force-deleted (or gone before we saw it terminate): stop with the pod's own grace period.
    if (worker && worker.uid === pod.metadata?.uid) retire(worker, worker.graceMs(), false);
  };

  const core = opts.kubeConfig.makeApiClient(CoreV1Api);
  const pods: Cache<V1Pod> = makeInformer(opts.kubeConfig, '/api/v1/pods', () => core.listPodForAllNamespaces());
  const services: Cache<V1Service> = makeInformer(opts.kubeConfig, '/api/v1/services', () => core.listServiceForAllNamespaces());
  const discovery = opts.kubeConfig.makeApiClient(DiscoveryV1Api);
  const slices: Cache<V1EndpointSlice> = makeInformer(opts.kubeConfig, '/apis/discovery.k8s.io/v1/endpointslices', () => discovery.listEndpointSliceForAllNamespaces());

  let hostsTimer: NodeJS.Timeout | undefined;
  let hostsWrite: Promise<void> = Promise.resolve();
  const refreshHosts = (): void => {
    if (hostsTimer !== undefined || stopped) return;
    // Coalesces a burst of events (a gang of pods) into one rewrite.
    hostsTimer = setTimeout(() => {
      hostsTimer = undefined;
      hostsWrite = hosts.write(hostsMap(pods.list(), services.list(), slices.list())).catch((err: unknown) => log(`hosts file ${hosts.path}: ${String(err)}`));
    }, 10);
  };

  const keepWatching = <T extends KubernetesObject>(informer: Cache<T>, what: string): void => {
    informer.on('error', (err: unknown) => {
      if (stopped) return;
      log(`watch ${what}: ${String(err)}; relisting in ${relistDelayMs} ms`);
      setTimeout(() => {
        if (!stopped) informer.start().catch(() => undefined);
      }, relistDelayMs).unref();
    });
  };

  pods.on('add', onPod);
  pods.on('update', onPod);
  pods.on('delete', onPodDeleted);
  for (const ev of ['add', 'update', 'delete'] as const) {
    pods.on(ev, refreshHosts);
    services.on(ev, refreshHosts);
    slices.on(ev, refreshHosts);
  }
  keepWatching(pods, 'pods');
  keepWatching(services, 'services');
  keepWatching(slices, 'endpointslices');

  const killAll = (): void => {
    for (const w of workers.values()) w.killNow();
  };
  process.on('exit', killAll);

  await services.start();
  await slices.start();
  await pods.start();
  refreshHosts();

  return {
    nodeName,
    hostsFile: hosts.path,
    logsDir,
    kubeletPort: logServer.port,
    sandbox,
    podProcess(namespace, name) {
      const w = workers.get(`${namespace}/${name}`);
      return w ? { pid: w.pid, podIP: w.podIP, podDir: w.podDir, logFile: w.logFile } : undefined;
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      clearTimeout(hostsTimer);
      await pods.stop();
      await services.stop();
      await slices.stop();
      for (const w of [...workers.values()]) retire(w, Math.min(w.graceMs(), shutdownGraceMs), false);
      await Promise.all([...retiring]);
      await hostsWrite;
      await heartbeat.stop('node agent stopped');
      await logServer.stop();
      process.off('exit', killAll);
      await rm(nodeDir, { recursive: true, force: true });
    },
  };
}
