/**
 * The local cluster for development: the in-memory API server (serving crds/), a
 * kubeconfig for it, the node agent that runs pods as local processes, and optionally
 * the operator as a child process — the same operator/main.ts a real cluster runs.
 * Not a real cluster: see hack/local-cluster/README.md.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import { writeKubeconfig } from './apiserver/kubeconfig.js';
import { startApiServer, type ApiServer } from './apiserver/server.js';
import { startNodeAgent, type NodeAgent, type NodeAgentOptions } from './node-agent/agent.js';
import { startChild, type RunningChild } from './node-agent/child-process.js';
import { nodeProgram, repoRoot, type TrainerSource } from './node-agent/commands.js';
import { logTail } from './node-agent/termination-message.js';

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
  agent: NodeAgent;
  operatorPid: number | undefined;
  operatorLog: string | undefined;
  /** Resolves with a message when a part of the cluster dies while it runs. */
  failed: Promise<string>;
  stop(): Promise<void>;
}

const OPERATOR_STOP_GRACE_MS = 10_000;

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
    const server: ApiServer = await startApiServer({ port: opts.port ?? 0, crdDir: opts.crdDir ?? join(root, 'crds'), ...(opts.verbose ? { log: (l: string) => opts.log(`apiserver: ${l}`) } : {}) });
    cleanups.push(() => server.stop());
    await writeKubeconfig(kubeconfigPath, server.url);
    const kc = new KubeConfig();
    kc.loadFromFile(kubeconfigPath);
    const agent = await startNodeAgent({ kubeConfig: kc, stateDir, trainerFrom: opts.trainerFrom ?? 'source', ...opts.agent, log: (l) => opts.log(`node-agent: ${l}`) });
    cleanups.push(() => agent.stop());
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
      operatorPid: operator?.pid,
      operatorLog,
      failed,
      stop: stopAll,
    };
  } catch (err) {
    await stopAll();
    throw err;
  }
}
