/**
 * One round of the operator benchmark: a fresh in-memory API server, optionally the node
 * agent with the trainer replaced by a process that exits 0 at once, the real operator as
 * a child process, then N CifarTrainingJobs created as fast as the API takes them.
 *
 * Times come from the API server's store, in this process: a job's creation is its ADDED
 * event, its pods' creation the ADDED event of its last pod. So the latency is the
 * operator's (watch delivery, queueing, reconcile, writes), not the benchmark client's.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { KubeConfig } from '@kubernetes/client-node';
import { API_GROUP, API_VERSION, API_VERSION_NAME, KIND, type CifarTrainingJob, type JobPhase } from '../../../operator/api/types.js';
import { LABEL_JOB_NAME } from '../../../operator/core/labels.js';
import { isObject, type JsonObject } from '../../local-cluster/apiserver/json.js';
import { writeKubeconfig } from '../../local-cluster/apiserver/kubeconfig.js';
import { storageKey } from '../../local-cluster/apiserver/resource-registry.js';
import { startApiServer, type ApiServer } from '../../local-cluster/apiserver/server.js';
import type { StoreEvent } from '../../local-cluster/apiserver/store.js';
import { startNodeAgent, type NodeAgent } from '../../local-cluster/node-agent/agent.js';
import { TRAINER_COMMAND_NAME } from '../../local-cluster/node-agent/commands.js';
import { diffCounts, startCountingEndpoint, type CountingEndpoint, type RequestCounts } from './counting-endpoint.js';
import { startOperatorProcess, type OperatorMemory, type OperatorProcess } from './operator-process.js';
import { summarize, type Summary } from './stats.js';

export interface RoundOptions {
  root: string;
  jobs: number;
  replicas: number;
  /** Run pods (node agent + short-lived fake trainer), or leave them Pending. */
  runPods: boolean;
  workers: number;
  /** A compiled operator main.js to run instead of operator/main.ts through tsx. */
  operatorJs?: string;
  /** Job creations in flight at once. */
  concurrency: number;
  /** Sequential pod creates timed from this process: the raw API reference. */
  referenceCreates: number;
  log: (line: string) => void;
}

export interface RoundResult {
  jobs: number;
  replicas: number;
  runPods: boolean;
  /** Wall time for the benchmark to create all N jobs. */
  createWallMs: number;
  /** Per job: store ADDED of the job → store ADDED of its last pod. */
  latency: Summary;
  /** Jobs whose pods did not all appear within the bound. */
  incomplete: number;
  /** Operator requests from the first job create until every job had all its pods. */
  requestsUntilPods: RequestCounts;
  /** Operator requests from the first job create until it settled (see `settled`). */
  requestsUntilSettled: RequestCounts;
  /** What "settled" waited for, and whether it got there within the bound. */
  settledMeaning: string;
  settled: boolean;
  phases: Map<string, number>;
  memory: OperatorMemory;
  /** The operator's memory once its watches were open, before the first job: the reference for `memory`. */
  idleMemory: OperatorMemory;
  /**
   * Event-loop delay of this process (API server, and node agent when pods run) from the first
   * create until settled, in ms: when it is high, the operator waited on the API server.
   */
  apiServerLoopDelay: { p99: number; max: number };
  /** Sequential pod create round trips from this process to the same API server, idle. */
  reference: Summary;
}

const NAMESPACE = 'default';
const JOB_PLURAL = 'cifartrainingjobs';
const JOB_KEY = storageKey({ group: API_GROUP, plural: JOB_PLURAL });
const POD_KEY = storageKey({ group: '', plural: 'pods' });
const WATCHED = ['watch cifartrainingjobs', 'watch pods', 'watch services', 'watch secrets'];
const OPERATOR_READY_MS = 60_000;
const QUIET_MS = 1_500;
const PROGRESS_EVERY_MS = 5_000;
const TERMINAL: ReadonlySet<string> = new Set<JobPhase>(['Succeeded', 'Failed']);

function jobName(i: number): string {
  return `bench-${String(i).padStart(4, '0')}`;
}

function jobBody(name: string, replicas: number, dataDir: string): CifarTrainingJob {
  return {
    apiVersion: API_VERSION,
    kind: KIND,
    metadata: { name, namespace: NAMESPACE },
    spec: {
      replicas,
      gpusPerReplica: 0,
      image: 'cifar-operator/trainer:bench',
      model: { architecture: 'lenet' },
      data: { train: join(dataDir, 'train.rec'), format: 'recordio' },
      checkpoint: { uri: join(dataDir, 'checkpoints', name) },
      runPolicy: { cleanPodPolicy: 'None' },
    },
  };
}

function metadataOf(obj: JsonObject): JsonObject {
  return isObject(obj.metadata) ? obj.metadata : {};
}

function sleep(msDelay: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, msDelay));
}

async function postJson(url: string, body: unknown): Promise<void> {
  const res = await fetch(url, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
  const text = await res.text();
  if (res.status !== 201) throw new Error(`POST ${url}: HTTP ${res.status}: ${text.slice(0, 300)}`);
}

/** Raw API reference: sequential pod creates (then deleted in-process), before anything else runs. */
async function referencePodCreates(api: ApiServer, count: number): Promise<Summary> {
  const url = `${api.url}/api/v1/namespaces/kube-public/pods`;
  const times: number[] = [];
  for (let i = 0; i < count; i++) {
    const body = { apiVersion: 'v1', kind: 'Pod', metadata: { name: `reference-${i}` }, spec: { containers: [{ name: 'c', image: 'reference' }] } };
    const t0 = performance.now();
    await postJson(url, body);
    times.push(performance.now() - t0);
  }
  const podType = api.registry.lookup('', 'v1', 'pods');
  if (!podType) throw new Error('local API server: no pods type');
  for (let i = 0; i < count; i++) api.ops.delete(podType, 'kube-public', `reference-${i}`, { dryRun: false, propagationPolicy: 'Background' });
  return summarize(times);
}

/** Runs `fn` over 0..n-1 with at most `limit` calls in flight. */
async function boundedParallel(n: number, limit: number, fn: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  const lane = async (): Promise<void> => {
    while (next < n) await fn(next++);
  };
  await Promise.all(Array.from({ length: Math.min(limit, n) }, lane));
}

/**
 * Polls `done` every 100 ms until it is true or `timeoutMs` passes; prints `progress()`
 * every few seconds. Rejects at once if the operator exits.
 */
async function waitUntil(what: string, done: () => boolean, timeoutMs: number, progress: () => string, operator: OperatorProcess, log: (l: string) => void): Promise<boolean> {
  const start = performance.now();
  let lastPrint = start;
  let exited = false;
  void operator.exited.then(() => (exited = true));
  while (!done()) {
    if (exited) throw new Error(`the operator (pid ${operator.pid}) exited while waiting for ${what}; log ${operator.logFile}:\n${operator.stderrTail()}`);
    const now = performance.now();
    if (now - start > timeoutMs) return false;
    if (now - lastPrint >= PROGRESS_EVERY_MS) {
      lastPrint = now;
      log(`    ... ${what}: ${progress()} (${((now - start) / 1000).toFixed(0)} s)`);
    }
    await sleep(100);
  }
  return true;
}

export async function runRound(opts: RoundOptions): Promise<RoundResult> {
  const { jobs: n, replicas, log } = opts;
  const dir = await mkdtemp(join(tmpdir(), 'cifar-bench-operator-'));
  const cleanups: Array<() => Promise<void>> = [];
  try {
    // The scheduler binds pods to the node agent's node, as in the local cluster.
    const api = await startApiServer({ port: 0, crdDir: join(opts.root, 'crds'), scheduler: opts.runPods });
    cleanups.push(() => api.stop());
    const endpoint: CountingEndpoint = await startCountingEndpoint(api);
    cleanups.push(() => endpoint.close());
    const operatorKubeconfig = join(dir, 'operator.kubeconfig');
    await writeKubeconfig(operatorKubeconfig, endpoint.url);
    const reference = await referencePodCreates(api, opts.referenceCreates);

    // Store events, timestamped as they happen.
    const createdAt = new Map<string, number>();
    const podsSeen = new Map<string, number>();
    const allPodsAt = new Map<string, number>();
    const phase = new Map<string, string>();
    let countsAtAllPods: RequestCounts | undefined;
    const unsubscribe = api.store.subscribe((ev: StoreEvent) => {
      const now = performance.now();
      const meta = metadataOf(ev.object);
      if (ev.key === JOB_KEY) {
        const name = String(meta.name);
        if (ev.type === 'ADDED') createdAt.set(name, now);
        const status = isObject(ev.object.status) ? ev.object.status : {};
        if (typeof status.phase === 'string') phase.set(name, status.phase);
      } else if (ev.key === POD_KEY && ev.type === 'ADDED') {
        const labels = isObject(meta.labels) ? meta.labels : {};
        const job = labels[LABEL_JOB_NAME];
        if (typeof job !== 'string') return;
        const seen = (podsSeen.get(job) ?? 0) + 1;
        podsSeen.set(job, seen);
        if (seen === replicas) {
          allPodsAt.set(job, now);
          // Taken here, not when the poll below notices: the request that made this pod is already counted.
          if (allPodsAt.size === n) countsAtAllPods = endpoint.snapshot();
        }
      }
    });
    cleanups.push(async () => unsubscribe());

    let agent: NodeAgent | undefined;
    if (opts.runPods) {
      const benchKubeconfig = join(dir, 'bench.kubeconfig');
      await writeKubeconfig(benchKubeconfig, api.url);
      const kc = new KubeConfig();
      kc.loadFromFile(benchKubeconfig);
      agent = await startNodeAgent({
        kubeConfig: kc,
        stateDir: join(dir, 'node'),
        // Extra commands override the defaults: every pod's cifar-trainer is a stand-in that
        // exits 0 at once (an inline program: pods see only their own file system).
        extraCommands: new Map([[TRAINER_COMMAND_NAME, { nodeArgs: ['-e', ''] }]]),
        shutdownGraceMs: 2_000,
      });
      const started = agent;
      cleanups.push(() => started.stop());
    }

    const operator = await startOperatorProcess(opts.root, operatorKubeconfig, opts.workers, join(dir, 'operator.log'), opts.operatorJs);
    // Last resort if this process dies mid-round: the operator runs in its own process group.
    const killOnExit = (): void => {
      try {
        process.kill(-operator.pid, 'SIGKILL');
      } catch {
        // Already gone.
      }
    };
    process.once('exit', killOnExit);
    cleanups.push(async () => {
      await operator.stop();
      process.off('exit', killOnExit);
    });
    const t0 = performance.now();
    const watching = (): string[] => {
      const kinds = endpoint.snapshot().byKind;
      return WATCHED.filter((k) => (kinds.get(k) ?? 0) > 0);
    };
    const ready = await waitUntil('operator watches', () => watching().length === WATCHED.length, OPERATOR_READY_MS, () => `${watching().join(', ') || 'none yet'}`, operator, log);
    if (!ready) throw new Error(`the operator opened only [${watching().join(', ')}] of its ${WATCHED.length} watches in ${OPERATOR_READY_MS / 1000} s; log ${operator.logFile}`);
    log(`  operator pid ${operator.pid} watching after ${((performance.now() - t0) / 1000).toFixed(1)} s; ${opts.runPods ? 'node agent runs pods (trainer = a process that exits 0)' : 'no node agent: pods stay Pending'}`);

    // Lets the startup's lists and watch handshakes finish before the idle sample.
    await sleep(500);
    const idleMemory = await operator.memory();
    const before = endpoint.snapshot();
    const jobsUrl = `${api.url}/apis/${API_GROUP}/${API_VERSION_NAME}/namespaces/${NAMESPACE}/${JOB_PLURAL}`;
    const loopDelay = monitorEventLoopDelay({ resolution: 10 });
    loopDelay.enable();
    cleanups.push(async () => void loopDelay.disable());
    const c0 = performance.now();
    await boundedParallel(n, opts.concurrency, (i) => postJson(jobsUrl, jobBody(jobName(i), replicas, dir)));
    const createWallMs = performance.now() - c0;
    log(`  created ${n} jobs in ${(createWallMs / 1000).toFixed(2)} s (${(n / (createWallMs / 1000)).toFixed(0)}/s, ${opts.concurrency} in flight)`);

    const podsBoundMs = 20_000 + 120 * n;
    const allPods = await waitUntil('jobs with all pods', () => allPodsAt.size >= n, podsBoundMs, () => `${allPodsAt.size}/${n}`, operator, log);
    const atPods = countsAtAllPods ?? endpoint.snapshot();
    if (!allPods) log(`  WARNING: only ${allPodsAt.size}/${n} jobs had all their pods after ${podsBoundMs / 1000} s`);

    // Settled: with pods running, every job terminal; else every job has a phase. Then no operator request for QUIET_MS.
    const settledMeaning = opts.runPods ? `every job Succeeded/Failed and ${QUIET_MS / 1000} s without operator requests` : `every job has a status.phase and ${QUIET_MS / 1000} s without operator requests`;
    const jobsDone = (): number => [...phase.values()].filter((p) => (opts.runPods ? TERMINAL.has(p) : p !== '')).length;
    let lastTotal = -1;
    let lastChange = performance.now();
    const quiet = (): boolean => {
      const total = endpoint.snapshot().total;
      if (total !== lastTotal) {
        lastTotal = total;
        lastChange = performance.now();
      }
      return performance.now() - lastChange >= QUIET_MS;
    };
    const settleBoundMs = 15_000 + (opts.runPods ? 300 : 40) * n;
    const settled = await waitUntil('settling', () => jobsDone() >= n && quiet(), settleBoundMs, () => `${jobsDone()}/${n} jobs ${opts.runPods ? 'finished' : 'with a phase'}`, operator, log);
    const end = endpoint.snapshot();
    loopDelay.disable();
    const memory = await operator.memory();

    const latencies: number[] = [];
    for (const [name, at] of allPodsAt) {
      const created = createdAt.get(name);
      if (created !== undefined) latencies.push(at - created);
    }
    const phases = new Map<string, number>();
    for (const p of phase.values()) phases.set(p, (phases.get(p) ?? 0) + 1);
    return {
      jobs: n,
      replicas,
      runPods: opts.runPods,
      createWallMs,
      latency: summarize(latencies),
      incomplete: n - latencies.length,
      requestsUntilPods: diffCounts(atPods, before),
      requestsUntilSettled: diffCounts(end, before),
      settledMeaning,
      settled,
      phases,
      memory,
      idleMemory,
      apiServerLoopDelay: { p99: loopDelay.percentile(99) / 1e6, max: loopDelay.max / 1e6 },
      reference,
    };
  } finally {
    for (const fn of cleanups.reverse()) await fn().catch((err: unknown) => log(`  cleanup: ${String(err)}`));
    await rm(dir, { recursive: true, force: true });
  }
}
