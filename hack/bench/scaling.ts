/**
 * npm run bench:scaling: data-parallel scaling of LeNet training on this machine, 2 local
 * replicas (WORLD_SIZE=2 on loopback) against 1, with the same per-replica batch (64) and
 * the same number of steps per replica, on the packed CIFAR-10 training set.
 *
 * Throughput is steady state: the first epoch (start-up, JIT, first allocations) is left
 * out and the rest is measured two ways:
 * - wall clock: images the whole group trained in epochs 2..E over the time between rank
 *   0's end-of-epoch-1 and end-of-epoch-E events (everything: batches, steps, all-reduce);
 * - metrics.json: each rank's epochs[].imagesPerSecond summed over ranks (step time only:
 *   forward, backward, all-reduce, update; the wait for batches is not counted).
 * Reference measured in the same run: two independent single-replica processes at once,
 * i.e. what this machine gives two processes without any synchronisation, so that a
 * shortfall can be put down to the machine (shared cores, other work) or to the sync.
 * On Linux each process's CPU time (/proc) is sampled at its epoch ends too: CPU per image
 * (what synchronisation costs in work) and cores kept busy (what the machine gave).
 *
 *   npm run bench:scaling -- [--steps N] [--epochs E]
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { datasetSkip } from '../../test/helpers/datasets.js';
import { packedCifar } from '../../test/helpers/packed-cifar.js';
import { freePort, rankEnv, startTrainer } from '../../test/helpers/trainer-process.js';
import { processCpuSeconds } from './lib/proc-cpu.js';

const BATCH = 64;
const TARGET = 1.8;
const PROCESS_LIMIT_MS = 240_000;

interface EpochEvent {
  epoch: number;
  /** Wall-clock time of the event, ms since the epoch. */
  at: number;
  imagesPerSecond: number;
  /** CPU seconds the process had used when its event arrived (Linux), else undefined. */
  cpuSeconds?: number | undefined;
}

interface ProcessRun {
  /** End-of-epoch events from this process's stderr, in order. */
  epochs: EpochEvent[];
  /** metrics.json epochs[].imagesPerSecond by epoch. */
  metricsImagesPerSecond: number[];
}

interface Launch {
  name: string;
  args: string[];
  env: NodeJS.ProcessEnv;
  metricsPath: string;
}

function epochEventOf(line: string): EpochEvent | undefined {
  let v: unknown;
  try {
    v = JSON.parse(line);
  } catch {
    return undefined;
  }
  if (typeof v !== 'object' || v === null) return undefined;
  const e = v as Record<string, unknown>;
  if (e.event !== 'epoch' || typeof e.epoch !== 'number' || typeof e.time !== 'string' || typeof e.imagesPerSecond !== 'number') return undefined;
  return { epoch: e.epoch, at: Date.parse(e.time), imagesPerSecond: e.imagesPerSecond };
}

async function metricsImagesPerSecond(path: string): Promise<number[]> {
  const parsed: unknown = JSON.parse(await readFile(path, 'utf8'));
  const epochs = (parsed as { epochs?: unknown }).epochs;
  if (!Array.isArray(epochs)) throw new Error(`${path}: no epochs array`);
  return epochs.map((e: unknown, i) => {
    const ips = (e as { imagesPerSecond?: unknown }).imagesPerSecond;
    if (typeof ips !== 'number') throw new Error(`${path}: epochs[${i}].imagesPerSecond is not a number`);
    return ips;
  });
}

/** Starts every launch at once, relays end-of-epoch progress, waits for all to exit 0. */
async function runAll(launches: Launch[]): Promise<ProcessRun[]> {
  const procs = launches.map((l) => {
    const p = startTrainer(l.args, l.env, PROCESS_LIMIT_MS);
    const epochs: EpochEvent[] = [];
    let pending = '';
    p.child.stderr?.on('data', (d: Buffer) => {
      pending += d.toString();
      const lines = pending.split('\n');
      pending = lines.pop() ?? '';
      for (const line of lines) {
        const e = epochEventOf(line);
        if (!e) continue;
        e.cpuSeconds = processCpuSeconds(p.child.pid);
        epochs.push(e);
        console.log(`  ${l.name}: epoch ${e.epoch + 1} done, ${e.imagesPerSecond.toFixed(0)} images/s (this process, step time)`);
      }
    });
    return { p, epochs };
  });
  const results = await Promise.all(procs.map(({ p }) => p.done));
  results.forEach((r, i) => {
    if (r.code !== 0) throw new Error(`${launches[i]?.name} (pid ${procs[i]?.p.child.pid}) exited with ${r.code ?? r.signal}: ${r.stderr.slice(-600)}`);
  });
  return Promise.all(procs.map(async ({ epochs }, i) => ({ epochs, metricsImagesPerSecond: await metricsImagesPerSecond((launches[i] as Launch).metricsPath) })));
}

interface Throughput {
  /** Images/s of the whole set of processes, wall clock, epochs 2..E. */
  wall: number;
  /** Sum over processes of their steady-state metrics.json images/s. */
  metrics: number;
  wallSeconds: number;
  /** CPU seconds (all processes) per 1000 images trained, epochs 2..E; undefined without /proc. */
  cpuPerKiloImage: number | undefined;
  /** Cores the processes kept busy on average, epochs 2..E. */
  coresUsed: number | undefined;
}

/** Steady-state throughput of processes that each trained `imagesPerEpoch` per epoch. */
function throughput(runs: ProcessRun[], imagesPerEpoch: number, epochs: number): Throughput {
  let wall = 0;
  let metrics = 0;
  let wallSeconds = 0;
  let cpu: number | undefined = 0;
  let cores: number | undefined = 0;
  for (const [i, r] of runs.entries()) {
    const first = r.epochs.find((e) => e.epoch === 0);
    const last = r.epochs.find((e) => e.epoch === epochs - 1);
    if (!first || !last) throw new Error(`process ${i}: missing end-of-epoch events (got epochs ${r.epochs.map((e) => e.epoch).join(',')})`);
    const seconds = (last.at - first.at) / 1000;
    wallSeconds = Math.max(wallSeconds, seconds);
    wall += (imagesPerEpoch * (epochs - 1)) / seconds;
    const used = first.cpuSeconds !== undefined && last.cpuSeconds !== undefined ? last.cpuSeconds - first.cpuSeconds : undefined;
    cpu = cpu === undefined || used === undefined ? undefined : cpu + used;
    cores = cores === undefined || used === undefined ? undefined : cores + used / seconds;
    // Equal images per epoch, so the steady-state rate is the harmonic mean of the epochs' rates.
    const steady = r.metricsImagesPerSecond.slice(1);
    metrics += steady.length / steady.reduce((s, ips) => s + 1 / ips, 0);
  }
  const images = imagesPerEpoch * (epochs - 1) * runs.length;
  return { wall, metrics, wallSeconds, cpuPerKiloImage: cpu === undefined ? undefined : (1000 * cpu) / images, coresUsed: cores };
}

function cpuNote(t: Throughput): string {
  if (t.cpuPerKiloImage === undefined || t.coresUsed === undefined) return '';
  return `; ${t.cpuPerKiloImage.toFixed(2)} CPU-s per 1000 images, ${t.coresUsed.toFixed(2)} cores busy`;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    args: process.argv.slice(2),
    options: { steps: { type: 'string', default: '50' }, epochs: { type: 'string', default: '3' } },
  });
  const steps = Number(values.steps);
  const epochs = Number(values.epochs);
  if (!Number.isInteger(steps) || steps < 1) throw new Error(`--steps must be a positive integer, got ${values.steps}`);
  if (!Number.isInteger(epochs) || epochs < 2) throw new Error(`--epochs must be an integer of at least 2 (the first is not measured), got ${values.epochs}`);

  const skip = datasetSkip('cifar10-jpeg.tar.gz');
  if (skip) {
    console.log(`bench:scaling skipped: ${skip}`);
    return;
  }
  const started = performance.now();
  const elapsed = (): string => `${((performance.now() - started) / 1000).toFixed(0)} s`;
  const train = await packedCifar('train');
  const dir = await mkdtemp(join(tmpdir(), 'bench-scaling-'));
  const perReplica = steps * BATCH;
  console.log(
    `bench:scaling: LeNet, wasm, batch ${BATCH} per replica, ${steps} steps per replica per epoch, ${epochs} epochs (epoch 1 not measured); ` +
      `data ${train}; load average at start ${loadavg().map((l) => l.toFixed(1)).join(' ')}`,
  );
  const trainArgs = (numExamples: number, out: string): string[] => [
    'train', '--model', 'lenet', '--backend', 'wasm', '--batch-size', String(BATCH), '--prefetch-workers', '0',
    '--data-train', train, '--num-examples', String(numExamples), '--epochs', String(epochs),
    '--log-format', 'json', '--progress-interval', '3600', '--out', out,
  ];

  try {
    console.log(`1 replica: starting (${elapsed()})`);
    const one = throughput(
      await runAll([{ name: '1 replica', args: trainArgs(perReplica, join(dir, 'one')), env: rankEnv(0, 1, await freePort()), metricsPath: join(dir, 'one', 'metrics.json') }]),
      perReplica,
      epochs,
    );
    console.log(`1 replica: ${one.wall.toFixed(0)} images/s wall clock (${one.wallSeconds.toFixed(1)} s), ${one.metrics.toFixed(0)} images/s from metrics.json${cpuNote(one)}`);

    console.log(`2 replicas (WORLD_SIZE=2, loopback): starting (${elapsed()})`);
    const port = await freePort();
    const group = throughput(
      await runAll(
        [0, 1].map((rank) => ({
          name: `2 replicas, rank ${rank}`,
          // --num-examples counts all replicas: each takes steps x batch of its half.
          args: trainArgs(2 * perReplica, join(dir, 'two')),
          env: rankEnv(rank, 2, port, 'bench-scaling-secret-0123456789abcdef'),
          metricsPath: rank === 0 ? join(dir, 'two', 'metrics.json') : join(dir, 'two', `rank-${rank}`, 'metrics.json'),
        })),
      ),
      perReplica,
      epochs,
    );
    // Every rank waits for the slowest at each step, so rank 0's clock is the group's.
    console.log(`2 replicas: ${group.wall.toFixed(0)} images/s wall clock (${group.wallSeconds.toFixed(1)} s), ${group.metrics.toFixed(0)} images/s from metrics.json (summed over ranks)${cpuNote(group)}`);

    console.log(`reference, 2 independent single replicas at once (no synchronisation): starting (${elapsed()})`);
    // World size 1 never listens; the port only has to be valid.
    const unusedPort = await freePort();
    const solo = throughput(
      await runAll(
        [0, 1].map((i) => ({
          name: `independent ${i}`,
          args: trainArgs(perReplica, join(dir, `solo-${i}`)),
          env: rankEnv(0, 1, unusedPort),
          metricsPath: join(dir, `solo-${i}`, 'metrics.json'),
        })),
      ),
      perReplica,
      epochs,
    );
    console.log(`2 independent processes: ${solo.wall.toFixed(0)} images/s wall clock together, ${solo.metrics.toFixed(0)} images/s from metrics.json${cpuNote(solo)}`);

    const ratio = group.wall / one.wall;
    const verdict = ratio >= TARGET ? 'meets' : 'BELOW';
    console.log(`1 replica:  ${one.wall.toFixed(0)} images/s`);
    console.log(`2 replicas: ${group.wall.toFixed(0)} images/s`);
    console.log(
      `scaling 2 vs 1: ${ratio.toFixed(2)}x wall clock (${verdict} the ${TARGET}x target), ${(group.metrics / one.metrics).toFixed(2)}x from metrics.json; ` +
        `two unsynchronised processes reach ${(solo.wall / one.wall).toFixed(2)}x, so synchronisation keeps ${((group.wall / solo.wall) * 100).toFixed(0)}% of what the machine gives two processes`,
    );
    if (one.cpuPerKiloImage !== undefined && group.cpuPerKiloImage !== undefined && one.coresUsed !== undefined && group.coresUsed !== undefined) {
      const bound = (2 * one.cpuPerKiloImage) / group.cpuPerKiloImage;
      console.log(
        `CPU: 2 replicas spend ${(group.cpuPerKiloImage / one.cpuPerKiloImage).toFixed(2)}x the CPU per image of 1 (synchronisation's CPU cost) and kept ` +
          `${group.coresUsed.toFixed(2)} cores busy against ${one.coresUsed.toFixed(2)}; with two whole cores and no waiting they could reach at most ` +
          `${bound.toFixed(2)}x (a bound from CPU time, not a measurement)`,
      );
    }
    const cores = group.coresUsed !== undefined && one.coresUsed !== undefined ? `; cores busy ${one.coresUsed.toFixed(2)} (1 replica) vs ${group.coresUsed.toFixed(2)} (2)` : '';
    console.log(
      `bench:scaling summary: LeNet batch ${BATCH}/replica, 2 replicas ${group.wall.toFixed(0)} vs 1 replica ${one.wall.toFixed(0)} images/s = ${ratio.toFixed(2)}x ` +
        `(target ${TARGET}x: ${verdict === 'meets' ? 'met' : 'not met'}; unsynchronised 2-process ceiling ${(solo.wall / one.wall).toFixed(2)}x${cores}); ` +
        `load average at end ${loadavg()[0]?.toFixed(1)}; total ${elapsed()}`,
    );
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
