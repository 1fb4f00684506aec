// npm run bench:train: training throughput of this trainer against PyTorch, measured in the
// same run. Full training steps (forward, cross-entropy, backward, SGD with momentum and
// weight decay) on random data, batch 128: LeNet and ResNet-20 on CIFAR-10's 3x32x32 with 1
// and 2 threads, this trainer's native backend against PyTorch (Debian's python3-torch,
// hack/bench/torch_peer.py), their timings interleaved round by round so that other work on
// the machine weighs on both alike; the wasm backend (one thread) for reference; and the
// ResNeXt-29 8x64d step time at the MXNet tutorial's shape (3x28x28, batch 128).
//
//   npm run bench:train -- [--rounds N] [--seconds S] [--resnext-batch B] [--skip-resnext] [--cpu]
//
// ResNeXt-29 needs seconds per image, and its training activations at batch 128 (tens of GB)
// exceed the wasm heap that the native backend computes on (4 GB): its step is timed at
// --resnext-batch (default 8) for both, and scaled to 128 linearly. --cpu adds stock tfjs's
// pure-JS cpu backend (hundreds of times slower; small batches).
import * as tf from '@tensorflow/tfjs';
import { cpus, loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { selectBackend, type BackendName } from '../../trainer/engine/backend/select-backend.js';
import { buildModel, type ModelSpec } from '../../trainer/engine/models/registry.js';
import { parameterGroups } from '../../trainer/engine/models/head.js';
import { Sgd } from '../../trainer/engine/optim/sgd.js';
import { computeGradients } from '../../trainer/engine/train/step.js';
import { Rng } from '../../trainer/util/rng.js';
import { findTorch, TorchPeer, type PeerRequest } from './torch-peer.js';

const { values } = parseArgs({
  options: {
    rounds: { type: 'string', default: '3' },
    seconds: { type: 'string', default: '6' },
    'resnext-batch': { type: 'string', default: '8' },
    'skip-resnext': { type: 'boolean' },
    cpu: { type: 'boolean' },
  },
});
const rounds = positiveInt('rounds', values.rounds);
const seconds = Number(values.seconds);
if (!(seconds > 0)) throw new Error(`--seconds must be a positive number, got ${values.seconds}`);
const resnextBatch = positiveInt('resnext-batch', values['resnext-batch']);

function positiveInt(flag: string, text: string): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1) throw new Error(`--${flag} must be a positive integer, got ${text}`);
  return n;
}

const BATCH = 128;
const THREADS = [1, 2];

interface Case {
  label: string;
  spec: Omit<ModelSpec, 'seed'>;
  peer: PeerRequest['model'];
}

const CASES: Case[] = [
  { label: 'LeNet', spec: { name: 'lenet', inputShape: [32, 32, 3], numClasses: 10 }, peer: 'lenet' },
  { label: 'ResNet-20', spec: { name: 'resnet', depth: 20, inputShape: [32, 32, 3], numClasses: 10 }, peer: 'resnet20' },
];
const RESNEXT: Case = { label: 'ResNeXt-29 8x64d', spec: { name: 'resnext', preset: '8x64d', inputShape: [28, 28, 3], numClasses: 10 }, peer: 'resnext29' };

interface Timing { ips: number; msPerStep: number; cpuMsPerStep: number; steps: number }

/** Images/s of full training steps on `backend`: one warm-up step, then steps for `maxSeconds` (at most `maxSteps`). */
async function timeOurs(backend: BackendName, c: Case, batch: number, threads: number, maxSeconds: number, maxSteps = 50): Promise<Timing> {
  await selectBackend(backend, () => undefined, { threads });
  const model = buildModel({ ...c.spec, seed: 1 });
  const params = parameterGroups(model).head.map((p) => ({ variable: p.variable, decay: p.kind === 'weight', lrMultiplier: 1 }));
  const sgd = new Sgd(params, { momentum: 0.9, nesterov: false, weightDecay: 1e-4 });
  const rng = new Rng(7);
  const [h, w, ch] = c.spec.inputShape;
  const x = Float32Array.from({ length: batch * h * w * ch }, () => rng.normal());
  const y = Int32Array.from({ length: batch }, () => rng.int(10));
  const step = () => {
    const r = computeGradients(model, params.map((p) => p.variable), { x, y, size: batch }, [h, w, ch], 0);
    sgd.apply(r.grads, 0.01);
    tf.dispose(Object.values(r.grads));
  };
  try {
    step(); // warm-up: primitives, allocation
    let steps = 0;
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    do {
      step();
      steps++;
    } while ((performance.now() - t0) / 1000 < maxSeconds && steps < maxSteps);
    const ms = (performance.now() - t0) / steps;
    const cpu = process.cpuUsage(cpu0);
    return { ips: (batch * 1000) / ms, msPerStep: ms, cpuMsPerStep: (cpu.user + cpu.system) / 1000 / steps, steps };
  } finally {
    sgd.dispose();
    model.dispose();
  }
}

const fmt = (n: number, d = 0) => n.toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: d });
const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 === 1 ? s[s.length >> 1] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

console.log(`bench:train on ${cpus()[0]?.model ?? 'an unknown CPU'}, ${cpus().length} cores; load average at start ${loadavg().map((l) => l.toFixed(1)).join(' ')}`);
const available = new Map<BackendName, string>();
for (const b of ['tensorflow', 'native', 'wasm'] as const) {
  try {
    available.set(b, (await selectBackend(b, () => undefined, { threads: 1 })).detail);
  } catch (err) {
    console.log(`backend ${b}: not available here (${err instanceof Error ? err.message.split('\n')[0] : String(err)})`);
  }
}
for (const [b, detail] of available) console.log(`backend ${b}: ${detail.replace(/, 1 thread\)$/, ')')}`);
const ours: BackendName | undefined = available.has('native') ? 'native' : undefined;
const torch = findTorch();
const peer = 'python' in torch ? new TorchPeer(torch.python) : undefined;
console.log('python' in torch
  ? `peer: PyTorch ${torch.version} (${torch.python}, hack/bench/torch_peer.py); both with OMP_WAIT_POLICY=${process.env.OMP_WAIT_POLICY ?? 'PASSIVE'}`
  : `peer: not available (${torch.reason})`);

const summary: string[] = [];
try {
  for (const c of CASES) {
    console.log(`${c.label}, batch ${BATCH}, ${c.spec.inputShape.slice().reverse().join('x')}:`);
    if (values.cpu) {
      const r = await timeOurs('cpu', c, 8, 1, seconds, 5);
      console.log(`  stock tfjs cpu backend, batch 8: ${fmt(r.ips, 2)} images/s`);
    }
    const wasm = available.has('wasm') ? await timeOurs('wasm', c, BATCH, 1, seconds) : undefined;
    if (wasm) console.log(`  wasm, 1 thread: ${fmt(wasm.ips, 1)} images/s (${wasm.steps} steps)`);
    const ratios: string[] = [];
    for (const threads of THREADS) {
      if (ours === undefined) break;
      const mine: number[] = [];
      const theirs: number[] = [];
      const mineCpu: number[] = [];
      const theirsCpu: number[] = [];
      for (let r = 0; r < rounds; r++) {
        // Alternate who goes first, so that a change in background load does not favour one side.
        const runMine = async () => {
          const t = await timeOurs(ours, c, BATCH, threads, seconds);
          mine.push(t.ips);
          mineCpu.push(t.cpuMsPerStep);
        };
        const runTheirs = async () => {
          if (!peer) return;
          const t = await peer.time({ model: c.peer, threads, batch: BATCH, size: c.spec.inputShape[0], maxSeconds: seconds, maxSteps: 50 });
          theirs.push(t.imagesPerSecond);
          theirsCpu.push(t.cpuMsPerStep);
        };
        if (r % 2 === 0) {
          await runMine();
          await runTheirs();
        } else {
          await runTheirs();
          await runMine();
        }
      }
      const m = median(mine);
      const vsWasm = wasm ? `, ${fmt(m / wasm.ips, 1)}x wasm` : '';
      if (peer) {
        const perRound = mine.map((v, i) => v / theirs[i]);
        const ratio = median(perRound);
        // CPU time per step is far less sensitive than wall time to other work on the machine.
        const cpuRatio = median(theirsCpu.map((v, i) => v / mineCpu[i]));
        console.log(`  ${threads} thread${threads === 1 ? '' : 's'}: native ${fmt(m, 1)} images/s${vsWasm}, PyTorch ${fmt(median(theirs), 1)} images/s: ` +
          `${fmt(ratio, 2)} of PyTorch (rounds ${perRound.map((v) => fmt(v, 2)).join(', ')}); CPU time per step ${fmt(median(mineCpu))} ms against ` +
          `${fmt(median(theirsCpu))} ms: ${fmt(cpuRatio, 2)} of PyTorch by CPU time`);
        ratios.push(`${fmt(ratio, 2)}`);
      } else {
        console.log(`  ${threads} thread${threads === 1 ? '' : 's'}: native ${fmt(m, 1)} images/s${vsWasm}`);
        ratios.push(`${fmt(m, 0)} img/s`);
      }
    }
    if (ours === undefined) summary.push(`${c.label} wasm ${fmt(wasm?.ips ?? 0, 0)} img/s (native not built)`);
    else summary.push(`${c.label} ${ratios.join(' / ')}${peer ? ' of PyTorch' : ''} (1 / 2 threads)`);
  }

  if (!values['skip-resnext'] && ours !== undefined) {
    const scale = BATCH / resnextBatch;
    console.log(`${RESNEXT.label}, the tutorial's 3x28x28, timed at batch ${resnextBatch} and scaled to ${BATCH}:`);
    const parts: string[] = [];
    for (const threads of THREADS) {
      let mine: Timing;
      try {
        mine = await timeOurs(ours, RESNEXT, resnextBatch, threads, 0, 2);
      } catch (err) {
        console.log(`  ${threads} thread(s): native failed at batch ${resnextBatch}: ${err instanceof Error ? err.message.split('\n')[0] : String(err)}`);
        continue;
      }
      const theirs = peer ? await peer.time({ model: RESNEXT.peer, threads, batch: resnextBatch, size: 28, maxSeconds: 0, maxSteps: 2 }) : undefined;
      const s = (ms: number) => `${fmt((ms * scale) / 1000, 1)} s`;
      console.log(`  ${threads} thread${threads === 1 ? '' : 's'}: native ${s(mine.msPerStep)} per ${BATCH}-image step (${fmt(mine.msPerStep / 1000, 2)} s at batch ${resnextBatch})` +
        (theirs ? `, PyTorch ${s(theirs.msPerStep)}: ${fmt(theirs.msPerStep / mine.msPerStep, 2)} of PyTorch` : ''));
      parts.push(`${s(mine.msPerStep)} (${threads} thr${theirs ? `, ${fmt(theirs.msPerStep / mine.msPerStep, 2)} of PyTorch` : ''})`);
    }
    summary.push(`ResNeXt-29 3x28x28 ${parts.join(' / ')} per ${BATCH}-image step`);
  }
} finally {
  peer?.close();
}
console.log(`bench:train summary: ${summary.join('; ')}; targets LeNet >= 1.0 and ResNet-20 >= 0.5 of PyTorch at 1 and 2 threads`);
