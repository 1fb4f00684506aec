/**
 * Operator control-loop benchmark: time from CifarTrainingJob creation to all of its pods
 * created, the API requests the operator makes per job, and the operator's memory.
 *
 *   npm run bench:operator [-- --jobs 1,100,1000] [--replicas 2] [--run-pods-max 100] [--operator-from source|bundle]
 *
 * Each round gets a fresh in-memory API server (hack/local-cluster/apiserver) and the real
 * operator (node --import tsx operator/main.ts, leader election off, 2 workers) as a child
 * process. The operator talks to its own counting listener onto the server's store, so every
 * request counted there is the operator's. Every job count runs once with the operator alone
 * (no node agent: pods stay Pending, which does not change the figure measured, creation of
 * the job → creation of its last pod); up to --run-pods-max jobs it runs again with the node
 * agent and `cifar-trainer` replaced by a process that exits 0 at once (thousands of
 * processes would swamp a small machine). The agent shares this process, and the CPUs, with
 * the API server, so that round shows the local cluster more than the operator. Memory
 * under tsx includes the loader, so the 1,000-job round is repeated with the esbuild bundle
 * the operator image runs.
 *
 * Targets (issue 5): p99 under 1 s at 100 jobs; RSS under 200 MB at 1,000 jobs.
 * Reference measured in the same run: sequential pod creates from this process against the
 * same API server, idle — the raw cost of one API write here.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { UsageError } from '../../trainer/util/errors.js';
import { repoRoot } from '../local-cluster/node-agent/commands.js';
import { bundleOperator } from './operator/bundle.js';
import type { RequestCounts } from './operator/counting-endpoint.js';
import { runRound, type RoundResult } from './operator/round.js';
import { ms } from './operator/stats.js';

type OperatorFrom = 'source' | 'bundle';

interface BenchFlags {
  jobs: number[];
  replicas: number;
  runPodsMax: number;
  workers: number;
  concurrency: number;
  operatorFrom: OperatorFrom;
}

const USAGE = `Usage: tsx hack/bench/operator.ts [--jobs 1,100,1000] [--replicas 2] [--run-pods-max 100] [--operator-from source|bundle]

  --jobs LIST            job counts (default 1,100,1000); each count gets a round with the operator alone
                         (pods stay Pending) and, up to --run-pods-max jobs, a round with pods run
  --replicas R           replicas per job (default 2)
  --run-pods-max N       run pods (node agent, trainer = a process that exits 0) in rounds of at most N jobs (default 100)
  --operator-from WHAT   source: node --import tsx operator/main.ts (default); bundle: the esbuild bundle the
                         operator image runs. With source, the 1,000-job round is repeated with the bundle for RSS.
  --workers N            the operator's --workers (default 2, its default)
  --concurrency N        job creations in flight (default 20)
`;

const LATENCY_TARGET_MS = 1_000;
const LATENCY_TARGET_JOBS = 100;
const RSS_TARGET_MB = 200;
const RSS_TARGET_JOBS = 1_000;
const REFERENCE_CREATES = 100;

function positiveInt(flag: string, text: string | undefined, max: number): number {
  const v = Number(text);
  if (text === undefined || !Number.isInteger(v) || v < 1 || v > max) throw new UsageError(`--${flag} ${String(text)}: expected an integer from 1 to ${max}`);
  return v;
}

export function parseBenchFlags(argv: readonly string[]): BenchFlags | undefined {
  const flags: BenchFlags = { jobs: [1, 100, 1000], replicas: 2, runPodsMax: 100, workers: 2, concurrency: 20, operatorFrom: 'source' };
  for (let i = 0; i < argv.length; i++) {
    const m = /^--([a-z-]+)(?:=(.*))?$/.exec(argv[i] ?? '');
    if (m === null) throw new UsageError(`unexpected argument ${String(argv[i])}; see --help`);
    const name = m[1] ?? '';
    if (name === 'help') return undefined;
    const value = m[2] ?? argv[++i];
    switch (name) {
      case 'jobs':
        if (value === undefined || value.trim() === '') throw new UsageError('--jobs needs a comma-separated list, e.g. 1,100,1000');
        flags.jobs = value.split(',').map((s) => positiveInt('jobs', s.trim(), 5_000));
        break;
      case 'replicas':
        flags.replicas = positiveInt('replicas', value, 64);
        break;
      case 'run-pods-max':
        flags.runPodsMax = Number(value);
        if (!Number.isInteger(flags.runPodsMax) || flags.runPodsMax < 0) throw new UsageError(`--run-pods-max ${String(value)}: expected an integer >= 0`);
        break;
      case 'workers':
        flags.workers = positiveInt('workers', value, 64);
        break;
      case 'operator-from':
        if (value !== 'source' && value !== 'bundle') throw new UsageError(`--operator-from ${String(value)}: expected source or bundle`);
        flags.operatorFrom = value;
        break;
      case 'concurrency':
        flags.concurrency = positiveInt('concurrency', value, 1_000);
        break;
      default:
        throw new UsageError(`unknown flag --${name}; see --help`);
    }
  }
  return flags;
}

function perJob(counts: RequestCounts, jobs: number): string {
  return (counts.total / jobs).toFixed(2);
}

function breakdown(counts: RequestCounts, jobs: number): string {
  return [...counts.byKind.entries()]
    .sort((a, b) => b[1] - a[1])
    .map(([kind, count]) => `${kind} ${(count / jobs).toFixed(2)}`)
    .join(', ');
}

function verdict(ok: boolean): string {
  return ok ? 'MET' : 'MISSED';
}

interface PlannedRound {
  jobs: number;
  runPods: boolean;
  from: OperatorFrom;
}

function describe(p: PlannedRound): string {
  const pods = p.runPods ? 'pods run (node agent in this process, trainer = a process that exits 0)' : 'operator alone (no node agent: pods stay Pending)';
  const op = p.from === 'source' ? 'operator from source via tsx' : 'operator as the production esbuild bundle';
  return `${p.jobs} job(s), ${pods}, ${op}`;
}

function short(p: PlannedRound): string {
  return `${p.jobs}${p.runPods ? '+pods' : ''}${p.from === 'bundle' ? '+bundle' : ''}`;
}

function latencyOk(r: RoundResult): boolean {
  return r.latency.p99 < LATENCY_TARGET_MS && r.incomplete === 0;
}

function report(r: RoundResult, log: (l: string) => void): void {
  const lat = r.latency;
  const latTarget = r.jobs === LATENCY_TARGET_JOBS ? `target p99 < ${ms(LATENCY_TARGET_MS)}: ${verdict(latencyOk(r))}` : `(the ${ms(LATENCY_TARGET_MS)} p99 target is for ${LATENCY_TARGET_JOBS} jobs)`;
  log(`  create → all ${r.replicas} pods created, per job: p50 ${ms(lat.p50)}, p99 ${ms(lat.p99)}, max ${ms(lat.max)} over ${lat.count} jobs${r.incomplete > 0 ? ` (${r.incomplete} jobs incomplete)` : ''}; ${latTarget}`);
  log(`  reference: raw pod create round trip from the benchmark (idle server, ${r.reference.count} sequential): p50 ${ms(r.reference.p50)}, p99 ${ms(r.reference.p99)}; operator p50 / raw p50 = ${(lat.p50 / r.reference.p50).toFixed(0)}x; the benchmark's own ${r.jobs} job creates took ${ms(r.createWallMs)}`);
  log(`  context: event-loop delay of the benchmark process (API server${r.runPods ? ' + node agent' : ''}) meanwhile: p99 ${ms(r.apiServerLoopDelay.p99)}, max ${ms(r.apiServerLoopDelay.max)}`);
  log(`  operator API requests per job: ${perJob(r.requestsUntilPods, r.jobs)} until all pods existed, ${perJob(r.requestsUntilSettled, r.jobs)} until settled (${r.settledMeaning}${r.settled ? '' : '; NOT reached within the bound'})`);
  log(`    by kind, per job, until settled: ${breakdown(r.requestsUntilSettled, r.jobs)}`);
  log(`    job phases at the end: ${[...r.phases.entries()].map(([p, c]) => `${p} ${c}`).join(', ') || 'none'}`);
  const rssTarget = r.jobs === RSS_TARGET_JOBS ? `target RSS < ${RSS_TARGET_MB} MB: ${verdict(r.memory.rssMB < RSS_TARGET_MB)}` : `(the ${RSS_TARGET_MB} MB target is for ${RSS_TARGET_JOBS} jobs)`;
  log(`  operator memory after settling: RSS ${r.memory.rssMB.toFixed(1)} MB, peak (VmHWM) ${r.memory.hwmMB.toFixed(1)} MB; ${rssTarget}`);
  log(`  reference: the same operator idle (watches open, no jobs): RSS ${r.idleMemory.rssMB.toFixed(1)} MB, so ${(r.memory.rssMB - r.idleMemory.rssMB).toFixed(1)} MB more with ${r.jobs} job(s)`);
}

async function main(): Promise<void> {
  let flags: BenchFlags | undefined;
  try {
    flags = parseBenchFlags(process.argv.slice(2));
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    process.stderr.write(`bench:operator: ${err.message}\n`);
    process.exitCode = 2;
    return;
  }
  if (flags === undefined) {
    process.stdout.write(USAGE);
    return;
  }
  const log = (line: string): void => void process.stdout.write(`${line}\n`);
  // A signal must still run the 'exit' hooks that kill the operator and the pods.
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => process.exit(130));
  const root = repoRoot();
  const started = performance.now();
  const plan: PlannedRound[] = [];
  for (const jobs of flags.jobs) {
    plan.push({ jobs, runPods: false, from: flags.operatorFrom });
    if (jobs <= flags.runPodsMax) plan.push({ jobs, runPods: true, from: flags.operatorFrom });
    if (jobs === RSS_TARGET_JOBS && flags.operatorFrom === 'source') plan.push({ jobs, runPods: false, from: 'bundle' });
  }
  log(`bench:operator: ${plan.length} rounds, ${flags.replicas} replicas per job, operator --workers ${flags.workers}, ${flags.concurrency} creates in flight, a fresh API server and operator per round; MB = 10^6 bytes`);
  const buildDir = await mkdtemp(join(tmpdir(), 'cifar-bench-operator-bundle-'));
  const results: Array<{ p: PlannedRound; r: RoundResult }> = [];
  try {
    let bundle: string | undefined;
    if (plan.some((p) => p.from === 'bundle')) {
      const t0 = performance.now();
      bundle = await bundleOperator(root, buildDir);
      log(`bundled the operator as images/operator.Dockerfile does in ${ms(performance.now() - t0)}`);
    }
    for (const [i, p] of plan.entries()) {
      log(`round ${i + 1}/${plan.length}: ${describe(p)}`);
      const r = await runRound({
        root, jobs: p.jobs, replicas: flags.replicas, runPods: p.runPods, workers: flags.workers, concurrency: flags.concurrency,
        ...(p.from === 'bundle' && bundle !== undefined ? { operatorJs: bundle } : {}), referenceCreates: REFERENCE_CREATES, log,
      });
      report(r, log);
      results.push({ p, r });
    }
  } finally {
    await rm(buildDir, { recursive: true, force: true });
  }
  const parts = results.map(({ p, r }) => `${short(p)}: p99 ${ms(r.latency.p99)}, ${(r.requestsUntilPods.total / r.jobs).toFixed(1)} req/job, RSS ${r.memory.rssMB.toFixed(0)} MB`);
  const targets: string[] = [];
  for (const { p, r } of results) {
    if (r.jobs === LATENCY_TARGET_JOBS) targets.push(`p99@100 (${short(p)}) < 1 s ${verdict(latencyOk(r))}`);
    if (r.jobs === RSS_TARGET_JOBS) targets.push(`RSS@1000 (${short(p)}) < 200 MB ${verdict(r.memory.rssMB < RSS_TARGET_MB)}`);
  }
  const refP50 = results[0]?.r.reference.p50 ?? Number.NaN;
  log(`summary: ${parts.join('; ')}; raw pod create p50 ${ms(refP50)}; ${targets.join(', ') || 'no target round run'} (${((performance.now() - started) / 1000).toFixed(0)} s)`);
}

main().catch((err: unknown) => {
  process.stderr.write(`bench:operator: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
