/**
 * npm run bench:sync: what synchronising gradients adds to a training step, for the
 * gradient sizes of ResNet-20 and ResNeXt-29 8x64d.
 *
 * Figure: the time of one step's all-reduce between 2 ranks (child processes on loopback)
 * over tensors with the model's real per-layer shapes, in the order training reduces them
 * (trainable weights, then batch-norm moving statistics, then the one-float stop flag;
 * see trainer/engine/distributed/replica-sync.ts), fused into buckets by allReduceTensors.
 * Reference, measured in the same run: the model's single-process training step on the
 * wasm backend (forward, backward and SGD update, as hack/bench/train.ts times it) at
 * batch 128. Overhead = allreduce / (compute + allreduce), i.e. no overlap of the two,
 * which is how the trainer's loop runs (reduce after the backward pass).
 *
 * ResNeXt-29 8x64d needs seconds per image on one CPU core (a batch-128 step would take
 * many minutes), so its step is timed at a small batch (--resnext-batch, default 4; at 8
 * its training activations no longer fit the wasm backend's 4 GB heap) and scaled to 128:
 * the forward/backward part linearly with the batch, the SGD update (independent of the
 * batch) as measured. Each model's line also gives the overhead at the smallest
 * power-of-two batch whose step takes at least 1 s, where synchronisation weighs most.
 *
 *   npm run bench:sync -- [--iters N] [--steps S] [--resnext-batch B] [--resnext-steps S]
 */
import * as tf from '@tensorflow/tfjs';
import { spawn } from 'node:child_process';
import { loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { distConfigFromEnv } from '../../trainer/dist/config.js';
import { joinGroup } from '../../trainer/dist/group.js';
import { allReduceTensors, planBuckets } from '../../trainer/dist/buckets.js';
import { selectBackend } from '../../trainer/engine/backend/select-backend.js';
import { buildModel, type ModelSpec } from '../../trainer/engine/models/registry.js';
import { countParams } from '../../trainer/engine/models/count.js';
import { parameterGroups } from '../../trainer/engine/models/head.js';
import { Sgd } from '../../trainer/engine/optim/sgd.js';
import { computeGradients } from '../../trainer/engine/train/step.js';
import { Rng } from '../../trainer/util/rng.js';
import { freePort } from '../../test/helpers/trainer-process.js';

const SELF = fileURLToPath(import.meta.url);
const TSX = fileURLToPath(import.meta.resolve('tsx'));
const TARGET_BATCH = 128;
const WORLD = 2;
const WARM_UP_BATCH = 1;

interface Case {
  label: string;
  spec: Omit<ModelSpec, 'seed'>;
  /** The README's figure, checked against the built model. */
  expectedTrainable: number;
  /** Batch the step is timed at (scaled to TARGET_BATCH when smaller). */
  batch: number;
  /** Timed steps (median), after a warm-up step. */
  steps: number;
}

/** One model's payload: what a rank hands to allReduceTensors each step, in elements. */
interface Payload {
  label: string;
  sizes: number[];
  /** Timed all-reduces after warm-up. */
  iters: number;
}

interface RankReport {
  label: string;
  ms: number[];
  ok: boolean;
}

// ---------------------------------------------------------------- child: one rank

async function rankChild(payloadsJson: string): Promise<void> {
  const payloads = JSON.parse(payloadsJson) as Payload[];
  const cfg = distConfigFromEnv(process.env);
  const group = await joinGroup(cfg, { fingerprint: 'bench-sync' });
  const want = (cfg.worldSize + 1) / 2;
  for (const p of payloads) {
    // Constants average to (n+1)/2 exactly and stay there: a cheap end-to-end check.
    const tensors = p.sizes.map((n) => new Float32Array(n).fill(cfg.rank + 1));
    const warmUp = p.iters >= 10 ? 3 : 1;
    for (let i = 0; i < warmUp; i++) await allReduceTensors(group, tensors);
    const ms: number[] = [];
    for (let i = 0; i < p.iters; i++) {
      // Line the ranks up, as the end of the backward pass roughly does in training.
      await group.barrier();
      const t0 = performance.now();
      await allReduceTensors(group, tensors);
      ms.push(performance.now() - t0);
    }
    const ok = tensors.every((t) => t.length === 0 || (t[0] === want && t[t.length - 1] === want));
    const report: RankReport = { label: p.label, ms, ok };
    process.stdout.write(`${JSON.stringify(report)}\n`);
  }
  await group.barrier();
  await group.close();
}

// ---------------------------------------------------------------- parent

function isRankReport(v: unknown): v is RankReport {
  if (typeof v !== 'object' || v === null) return false;
  const r = v as Record<string, unknown>;
  return typeof r.label === 'string' && Array.isArray(r.ms) && r.ms.every((x) => typeof x === 'number') && typeof r.ok === 'boolean';
}

/** Runs WORLD rank processes on loopback; each is killed (by its own PID) after timeoutMs. */
async function runRanks(payloads: Payload[], timeoutMs: number): Promise<RankReport[][]> {
  const port = await freePort();
  const json = JSON.stringify(payloads);
  return Promise.all(
    Array.from(
      { length: WORLD },
      (_, rank) =>
        new Promise<RankReport[]>((resolve, reject) => {
          const child = spawn(process.execPath, ['--import', TSX, SELF, '--child', json], {
            env: {
              PATH: process.env.PATH ?? '/usr/bin:/bin',
              WORLD_SIZE: String(WORLD),
              RANK: String(rank),
              MASTER_ADDR: '127.0.0.1',
              MASTER_PORT: String(port),
              CIFAR_PEER_SECRET: 'bench-sync-secret-0123456789abcdef',
              CIFAR_JOB_ID: 'bench-sync',
              CIFAR_RENDEZVOUS_TIMEOUT: '60',
              CIFAR_PEER_TIMEOUT: '60',
            },
            stdio: ['ignore', 'pipe', 'inherit'],
          });
          let out = '';
          child.stdout.on('data', (d: Buffer) => {
            out += d.toString();
            if (rank === 0) for (const line of d.toString().split('\n').filter(Boolean)) console.log(`  rank 0 finished ${describeLine(line)}`);
          });
          const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
          child.on('error', reject);
          child.on('close', (code, signal) => {
            clearTimeout(timer);
            if (code !== 0) return reject(new Error(`rank ${rank} (pid ${child.pid}) exited with ${code ?? signal}`));
            const reports = out.split('\n').filter(Boolean).map((l): unknown => JSON.parse(l));
            if (!reports.every(isRankReport)) return reject(new Error(`rank ${rank}: unexpected output ${out.slice(0, 300)}`));
            resolve(reports);
          });
        }),
    ),
  );
}

function describeLine(line: string): string {
  try {
    const v: unknown = JSON.parse(line);
    return isRankReport(v) ? `${v.label} (${v.ms.length} timed all-reduces)` : line;
  } catch {
    return line;
  }
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
};
const fmt = (n: number, d = 0): string => n.toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: d });
const MB = 1e6;

/** Tensor sizes in the order ReplicaSync.reduceGradients passes them, plus the model's counts. */
function payloadOf(model: tf.LayersModel): { sizes: number[]; trainable: number; stats: number } {
  const trainable = parameterGroups(model).head.map((p) => p.variable.size);
  const stats = model.weights.filter((w) => !w.trainable).map((w) => w.read().size);
  const counts = countParams(model);
  return { sizes: [...trainable, ...stats, 1], trainable: counts.trainable, stats: counts.nonTrainable };
}

interface StepTime {
  /** Forward + backward, median over the timed steps. */
  gradMs: number;
  /** SGD update, median. */
  sgdMs: number;
}

/**
 * Times full training steps on random data, split into gradient computation and update.
 * The warm-up step (first-call costs, allocation) runs at a small batch: at batch 128 it
 * would cost as much as a timed step, and for ResNeXt far more than the all-reduce runs.
 */
function stepTime(model: tf.LayersModel, spec: Case['spec'], batch: number, steps: number, onStep: (label: string, ms: number) => void): StepTime {
  const params = parameterGroups(model).head.map((p) => ({ variable: p.variable, decay: p.kind === 'weight', lrMultiplier: 1 }));
  const sgd = new Sgd(params, { momentum: 0.9, nesterov: false, weightDecay: 1e-4 });
  const rng = new Rng(7);
  const [h, w, c] = spec.inputShape;
  const x = Float32Array.from({ length: batch * h * w * c }, () => rng.normal());
  const y = Int32Array.from({ length: batch }, () => rng.int(spec.numClasses));
  const variables = params.map((p) => p.variable);
  const one = (size: number): { grad: number; update: number } => {
    const t0 = performance.now();
    const r = computeGradients(model, variables, { x: x.subarray(0, size * h * w * c), y: y.subarray(0, size), size }, [h, w, c], 0);
    const t1 = performance.now();
    sgd.apply(r.grads, 0.01);
    // The wasm backend runs kernels synchronously; reading one value makes sure of it.
    variables[0]?.dataSync();
    const t2 = performance.now();
    tf.dispose(Object.values(r.grads));
    return { grad: t1 - t0, update: t2 - t1 };
  };
  const grad: number[] = [];
  const update: number[] = [];
  try {
    const warm = Math.min(batch, WARM_UP_BATCH);
    const w0 = one(warm);
    onStep(`warm-up at batch ${warm}`, w0.grad + w0.update);
    for (let i = 1; i <= steps; i++) {
      const r = one(batch);
      onStep(`step ${i} at batch ${batch}`, r.grad + r.update);
      grad.push(r.grad);
      update.push(r.update);
    }
  } finally {
    sgd.dispose();
  }
  return { gradMs: median(grad), sgdMs: median(update) };
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    args: process.argv.slice(2),
    options: {
      iters: { type: 'string' },
      'resnext-batch': { type: 'string', default: '4' },
      steps: { type: 'string', default: '3' },
      'resnext-steps': { type: 'string', default: '1' },
    },
  });
  const resnextBatch = Number(values['resnext-batch']);
  const steps = Number(values.steps);
  const resnextSteps = Number(values['resnext-steps']);
  if (!Number.isInteger(resnextBatch) || resnextBatch < 1 || resnextBatch > TARGET_BATCH) throw new Error(`--resnext-batch must be an integer in [1, ${TARGET_BATCH}], got ${values['resnext-batch']}`);
  if (!Number.isInteger(steps) || steps < 1) throw new Error(`--steps must be a positive integer, got ${values.steps}`);
  if (!Number.isInteger(resnextSteps) || resnextSteps < 1) throw new Error(`--resnext-steps must be a positive integer, got ${values['resnext-steps']}`);
  const itersFlag = values.iters === undefined ? undefined : Number(values.iters);
  if (itersFlag !== undefined && (!Number.isInteger(itersFlag) || itersFlag < 1)) throw new Error(`--iters must be a positive integer, got ${values.iters}`);

  const cases: Case[] = [
    { label: 'ResNet-20', spec: { name: 'resnet', depth: 20, inputShape: [32, 32, 3], numClasses: 10 }, expectedTrainable: 272_474, batch: TARGET_BATCH, steps },
    { label: 'ResNeXt-29 8x64d', spec: { name: 'resnext', preset: '8x64d', inputShape: [32, 32, 3], numClasses: 10 }, expectedTrainable: 34_426_698, batch: resnextBatch, steps: resnextSteps },
  ];
  const started = performance.now();
  const elapsed = (): string => `${fmt((performance.now() - started) / 1000)} s`;
  console.log(`bench:sync on ${WORLD} ranks over loopback; load average at start ${loadavg().map((l) => l.toFixed(1)).join(' ')}`);

  const backend = await selectBackend('wasm', () => undefined);
  console.log(`compute reference backend: ${backend.detail}`);

  // 1. Payloads from the real models (cheap to build; the wasm heap holds the weights).
  const models: tf.LayersModel[] = [];
  const payloads: Payload[] = [];
  for (const c of cases) {
    const t0 = performance.now();
    const model = buildModel({ ...c.spec, seed: 1 });
    const p = payloadOf(model);
    models.push(model);
    const bytes = p.sizes.reduce((a, b) => a + b, 0) * 4;
    const iters = itersFlag ?? (bytes > 16 * MB ? 7 : 31);
    payloads.push({ label: c.label, sizes: p.sizes, iters });
    const buckets = planBuckets(p.sizes);
    const check = p.trainable === c.expectedTrainable ? 'as documented' : `DIFFERS from the documented ${fmt(c.expectedTrainable)}`;
    console.log(
      `${c.label}: ${fmt(p.trainable)} trainable parameters (${check}) + ${fmt(p.stats)} batch-norm statistics = ` +
        `${p.sizes.length} tensors, ${fmt(bytes / MB, 2)} MB per step in ${buckets.length} buckets (built in ${fmt((performance.now() - t0) / 1000, 1)} s)`,
    );
  }

  // 2. All-reduce with 2 ranks; the parent stays idle meanwhile so the ranks get both cores.
  console.log(`all-reduce: starting ${WORLD} rank processes (${elapsed()})`);
  const reports = await runRanks(payloads, 240_000);
  const allreduceMs = new Map<string, number>();
  const allOk = new Map<string, boolean>();
  for (const p of payloads) {
    const perRank = reports.map((r) => r.find((x) => x.label === p.label));
    if (perRank.some((r) => r === undefined)) throw new Error(`no all-reduce result for ${p.label} from some rank`);
    const rs = perRank as RankReport[];
    // An all-reduce is over when the slowest rank has its result.
    const slowest = (rs[0] as RankReport).ms.map((_, i) => Math.max(...rs.map((r) => r.ms[i] ?? 0)));
    allreduceMs.set(p.label, median(slowest));
    allOk.set(p.label, rs.every((r) => r.ok));
    console.log(
      `${p.label}: all-reduce median ${fmt(median(slowest), 1)} ms over ${slowest.length} iterations ` +
        `(min ${fmt(Math.min(...slowest), 1)}, max ${fmt(Math.max(...slowest), 1)})${rs.every((r) => r.ok) ? '' : '  RESULT WRONG'}`,
    );
  }

  // 3. The reference: one process's training step, on the wasm backend.
  const summary: string[] = [];
  for (const [i, c] of cases.entries()) {
    const model = models[i] as tf.LayersModel;
    console.log(`${c.label}: timing ${c.steps} training step(s) at batch ${c.batch} on one process (${elapsed()})`);
    let t: StepTime;
    try {
      t = stepTime(model, c.spec, c.batch, c.steps, (what, ms) => console.log(`  ${what}: ${fmt(ms / 1000, 2)} s`));
    } catch (err) {
      // An emscripten abort leaves the module unusable; the usual cause here is the heap limit.
      if (err instanceof Error && err.message.startsWith('Aborted')) {
        throw new Error(`${c.label}: the wasm backend aborted during a training step at batch ${c.batch} (most likely its 4 GB heap is full); rerun with a smaller batch (--resnext-batch)`);
      }
      throw err;
    }
    model.dispose();
    const perImageMs = t.gradMs / c.batch;
    const computeMs = perImageMs * TARGET_BATCH + t.sgdMs;
    const ar = allreduceMs.get(c.label) as number;
    const overhead = ar / (computeMs + ar);
    const payload = payloads[i] as Payload;
    const mb = (payload.sizes.reduce((a, b) => a + b, 0) * 4) / MB;
    const scaled = c.batch === TARGET_BATCH ? '' : ` (measured at batch ${c.batch}: ${fmt(t.gradMs, 0)} ms forward+backward scaled x${TARGET_BATCH / c.batch}, + ${fmt(t.sgdMs, 0)} ms update)`;
    // The smallest power-of-two batch whose step takes at least 1 s, for small-batch runs.
    let b1 = 1;
    while (b1 < TARGET_BATCH && perImageMs * b1 + t.sgdMs < 1000) b1 *= 2;
    const computeB1 = perImageMs * b1 + t.sgdMs;
    console.log(
      `${c.label}: gradient ${fmt(mb, 2)} MB, all-reduce ${fmt(ar, 1)} ms, step compute at batch ${TARGET_BATCH} ${fmt(computeMs, 0)} ms${scaled}, ` +
        `${fmt(perImageMs, 1)} ms/image -> overhead ${fmt(overhead * 100, 2)}% ` +
        `(at batch ${b1}, the smallest power of two with a step >= 1 s: ${fmt((ar / (computeB1 + ar)) * 100, 2)}%)${allOk.get(c.label) ? '' : '  RESULT WRONG'}`,
    );
    summary.push(`${c.label} ${fmt(mb, 1)} MB: all-reduce ${fmt(ar, 0)} ms vs step ${fmt(computeMs / 1000, 1)} s -> ${fmt(overhead * 100, 2)}% overhead`);
  }
  console.log(
    `bench:sync summary (2 ranks, loopback, wasm batch ${TARGET_BATCH}): ${summary.join('; ')}; ` +
      `load average at end ${loadavg()[0]?.toFixed(1)}; total ${elapsed()}`,
  );
}

const argv = process.argv.slice(2);
if (argv[0] === '--child') {
  rankChild(argv[1] ?? '[]').then(
    () => process.exit(0),
    (err: unknown) => {
      console.error(err);
      process.exit(1);
    },
  );
} else {
  main().then(
    () => process.exit(0),
    (err: unknown) => {
      console.error(err);
      process.exit(1);
    },
  );
}
