/**
 * The local cluster for development: the in-memory API server (serving crds/), a
 * kubeconfig for it, the node agent that runs pods as local processes, and optionally
 * the operator as a child process — the same operator/main.ts a real cluster runs.
 * Not a real cluster: see hack/local-cluster/README.md.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { CoreV1Api, DiscoveryV1Api, KubeConfig } from '@kubernetes/client-node';
import { writeKubeconfig } from './apiserver/kubeconfig.js';
import { startApiServer, type ApiServer } from './apiserver/server.js';
import { DEFAULT_NODE_NAME, startNodeAgent, type NodeAgent, type NodeAgentOptions } from './node-agent/agent.js';
import { startChild, type RunningChild } from './node-agent/child-process.js';
import { nodeProgram, repoRoot, type TrainerSource } from './node-agent/commands.js';
import { logTail } from './node-agent/termination-message.js';
import { DEFAULT_POD_IP_RANGE, ipv4ToNumber, numberToIpv4, type IpRange } from './node-agent/ip-pool.js';
import { packCifarOnce, type CifarSource } from './cifar-data.js';
import { startLocalS3, type LocalS3 } from './local-s3.js';

export interface LocalClusterOptions {
  kubeconfigPath: string;
  /** Pod directories, logs, hosts file; a fresh temporary directory (removed on stop) when absent. */
  stateDir?: string;
  /** API server port on 127.0.0.1; any free port when 0 or absent. */
  port?: number;
  /** CRD manifests to serve; default <repo>/crds. */
  crdDir?: string;
  withOperator: boolean;
  /** Extra operator flags after --kubeconfig and --leader-elect=false. */
  operatorArgs?: string[];
  operatorFrom?: TrainerSource;
  /** Node.js arguments that start something else as the operator (tests). */
  operatorNodeArgs?: string[];
  /** An operator that exits within this time failed to start; default 3 s. */
  operatorStartupMs?: number;
  trainerFrom?: TrainerSource;
  /** How many nodes (one node agent each); default 1. */
  nodes?: number;
  /** nvidia.com/gpu each node advertises (GPU nodes are tainted nvidia.com/gpu:NoSchedule); default 0. */
  gpusPerNode?: number;
  /** Cores and memory each node advertises; the machine's by default (nodes share the machine). */
  cpusPerNode?: number;
  memoryPerNodeBytes?: number;
  /**
   * The local S3 (s3rver) at local-s3.default.svc:4568 for pods, with the examples' Secret;
   * its objects live in <stateDir>/s3. With `source`, CIFAR-10 is packed into
   * s3://cifar/data/ unless it is there already.
   */
  s3?: { source?: () => Promise<CifarSource> };
  /** Log every API request too. */
  verbose?: boolean;
  /** Node agent settings for tests (fake commands, a private IP range, short grace). */
  agent?: Pick<NodeAgentOptions, 'podIpRange' | 'extraCommands' | 'shutdownGraceMs'>;
  log: (line: string) => void;
}

export interface LocalCluster {
  url: string;
  kubeconfigPath: string;
  stateDir: string;
  /** The first node's agent. */
  agent: NodeAgent;
  agents: NodeAgent[];
  operatorPid: number | undefined;
  operatorLog: string | undefined;
  /** The local S3 when started (options.s3). */
  s3: LocalS3 | undefined;
  /** Resolves with a message when a part of the cluster dies while it runs. */
  failed: Promise<string>;
  stop(): Promise<void>;
}

const OPERATOR_STOP_GRACE_MS = 10_000;

/** kind-style names: local-node, then local-node2, local-node3, ... */
export function nodeName(index: number): string {
  return index === 0 ? DEFAULT_NODE_NAME : `${DEFAULT_NODE_NAME}${index + 1}`;
}

/** Splits a pod IP range so that each node hands out its own addresses. */
function nodeIpRange(base: IpRange, index: number, count: number): IpRange {
  if (count === 1) return base;
  const first = ipv4ToNumber(base.first);
  const size = Math.floor((ipv4ToNumber(base.last) - first + 1) / count);
  return { first: numberToIpv4(first + index * size), last: numberToIpv4(first + (index + 1) * size - 1) };
}

/** Takes the first address of the range for the local S3; pods get the rest. */
function reserveFirst(range: IpRange): { reserved: string; rest: IpRange } {
  let next = ipv4ToNumber(range.first) + 1;
  // The pool skips .0 and .255 too: keep the reserved one a plain host address.
  while (next % 256 === 0 || next % 256 === 255) next++;
  return { reserved: range.first, rest: { first: numberToIpv4(next), last: range.last } };
}

function describeExit(exit: { code: number | null; signal: NodeJS.Signals | null }): string {
  return exit.signal ? `signal ${exit.signal}` : `code ${String(exit.code)}`;
}

async function startOperator(opts: LocalClusterOptions, root: string, logFile: string): Promise<RunningChild> {
  const program = opts.operatorNodeArgs ?? nodeProgram(root, 'operator/main.ts', opts.operatorFrom ?? 'source').nodeArgs;
  const env = Object.fromEntries(Object.entries(process.env).filter((e): e is [string, string] => e[1] !== undefined));
  const extra = opts.operatorArgs ?? [];
  // Loopback and an ephemeral port: the operator's default :8080 would clash and face the network.
  const metricsAddr = extra.some((a) => a.startsWith('--metrics-addr')) ? [] : ['--metrics-addr', '127.0.0.1:0'];
  const child = await startChild({ file: process.execPath, args: [...program, '--kubeconfig', opts.kubeconfigPath, '--leader-elect=false', ...metricsAddr, ...extra], env, cwd: root }, logFile);
  const startupMs = opts.operatorStartupMs ?? 3_000;
  const early = await Promise.race([child.exited, new Promise<undefined>((r) => setTimeout(() => r(undefined), startupMs).unref())]);
  if (early !== undefined) {
    const tail = logTail(child.stderrTail(), 20);
    throw new Error(`local cluster: the operator (${program.join(' ')}) exited at once with ${describeExit(early)}${tail ? `:\n${tail}` : ''}\n(log: ${logFile}; start without it with --no-operator)`);
  }
  return child;
}

export async function startLocalCluster(opts: LocalClusterOptions): Promise<LocalCluster> {
  const root = repoRoot();
  const ownsStateDir = opts.stateDir === undefined;
  const stateDir = opts.stateDir ? resolve(opts.stateDir) : await mkdtemp(join(tmpdir(), 'cifar-local-cluster-'));
  const kubeconfigPath = resolve(opts.kubeconfigPath);
  const cleanups: Array<() => Promise<void>> = [];
  const stopAll = async (): Promise<void> => {
    for (const fn of cleanups.reverse()) await fn().catch((err: unknown) => opts.log(`stop: ${String(err)}`));
    cleanups.length = 0;
    if (ownsStateDir) await rm(stateDir, { recursive: true, force: true });
  };
  let failure: (message: string) => void = () => undefined;
  const failed = new Promise<string>((r) => (failure = r));
  try {
    const count = opts.nodes ?? 1;
    if (!Number.isInteger(count) || count < 1) throw new Error(`local cluster: nodes must be a whole number of at least 1; got ${count}`);
    const server: ApiServer = await startApiServer({
      port: opts.port ?? 0,
      crdDir: opts.crdDir ?? join(root, 'crds'),
      scheduler: true,
      log: (l: string) => {
        // Controllers' decisions are worth seeing; every request only with --verbose.
        if (opts.verbose || /^(scheduler|gc|namespace controller|node lifecycle|volume binder):/.test(l)) opts.log(`control-plane: ${l}`);
      },
    });
    cleanups.push(() => server.stop());
    await writeKubeconfig(kubeconfigPath, server.url);
    const kc = new KubeConfig();
    kc.loadFromFile(kubeconfigPath);
    let podIps = opts.agent?.podIpRange ?? DEFAULT_POD_IP_RANGE;
    let s3: LocalS3 | undefined;
    if (opts.s3) {
      const { reserved, rest } = reserveFirst(podIps);
      podIps = rest;
      s3 = await startLocalS3({ address: reserved, dataDir: join(stateDir, 's3'), core: kc.makeApiClient(CoreV1Api), discovery: kc.makeApiClient(DiscoveryV1Api) });
      cleanups.push(s3.stop);
      opts.log(`local S3 at ${s3.endpoint}, in the cluster ${s3.inClusterEndpoint}`);
      if (opts.s3.source) await packCifarOnce(s3.config, opts.s3.source, opts.log);
    }
    const agents: NodeAgent[] = [];
    for (let i = 0; i < count; i++) {
      const name = nodeName(i);
      const range = nodeIpRange(podIps, i, count);
      const agent = await startNodeAgent({
        kubeConfig: kc,
        stateDir,
        nodeName: name,
        trainerFrom: opts.trainerFrom ?? 'source',
        resources: {
          gpus: opts.gpusPerNode ?? 0,
          ...(opts.cpusPerNode === undefined ? {} : { cpu: opts.cpusPerNode }),
          ...(opts.memoryPerNodeBytes === undefined ? {} : { memoryBytes: opts.memoryPerNodeBytes }),
        },
        ...opts.agent,
        podIpRange: range,
        log: (l) => opts.log(`${name}: ${l}`),
      });
      agents.push(agent);
      cleanups.push(() => agent.stop());
    }
    const agent = agents[0];
    let operator: RunningChild | undefined;
    let operatorLog: string | undefined;
    if (opts.withOperator) {
      operatorLog = join(stateDir, 'operator.log');
      operator = await startOperator({ ...opts, kubeconfigPath }, root, operatorLog);
      let stopping = false;
      const child = operator;
      void child.exited.then((exit) => {
        if (!stopping) failure(`the operator (pid ${child.pid}) exited with ${describeExit(exit)}; see ${operatorLog}`);
      });
      cleanups.push(async () => {
        stopping = true;
        await child.stop(OPERATOR_STOP_GRACE_MS);
      });
    }
    return {
      url: server.url,
      kubeconfigPath,
      stateDir,
      agent,
      agents,
      operatorPid: operator?.pid,
      operatorLog,
      s3,
      failed,
      stop: stopAll,
    };
  } catch (err) {
    await stopAll();
    throw err;
  }
}
