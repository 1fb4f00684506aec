// The demo behind `npm run demo` / hack/demo.sh: see README "Quick start".
// Starts a local S3 server, packs CIFAR-10 into RecordIO there, runs a 2-replica
// data-parallel training job and ends with its validation accuracy and chart.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, readFile, rm } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { createServer } from 'node:net';
import { startS3rver } from './local-s3/s3rver.js';
import { packDataset } from '../trainer/data/pack/pack.js';
import { downloadOfficialArchive } from './demo/download.js';

const { values } = parseArgs({
  options: {
    data: { type: 'string', default: 'auto' },
    replicas: { type: 'string', default: '2' },
    epochs: { type: 'string', default: '2' },
    examples: { type: 'string', default: '10000' },
    out: { type: 'string', default: '.demo' },
    help: { type: 'boolean' },
  },
});
if (values.help) {
  console.log(`Usage: npm run demo -- [--data auto|shared|download|PATH] [--replicas N] [--epochs N] [--examples N] [--out DIR]

  --data      auto: ../shared/datasets/cifar10 when present, else the official binary archive
              (downloaded once into ~/.cache/cifar-operator); or a path to any CIFAR-10 layout
  --replicas  trainer processes training together (default 2)
  --epochs    epochs (default 2)   --examples  training images used (default 10000)
  --out       where the run's metrics, chart and model go (default .demo)`);
  process.exit(0);
}

const repo = resolve(import.meta.dirname, '..');
const sharedTree = join(repo, '..', 'shared', 'datasets', 'cifar10', 'cifar10-jpeg.tar.gz');
const replicas = Number(values.replicas);
const out = resolve(values.out!);

async function dataSource(): Promise<{ path: string; encoding: 'passthrough' | 'jpg' }> {
  const choice = values.data!;
  if (choice === 'shared' || (choice === 'auto' && existsSync(sharedTree))) {
    if (!existsSync(sharedTree)) throw new Error(`--data shared: ${sharedTree} not found`);
    return { path: sharedTree, encoding: 'passthrough' };
  }
  if (choice === 'auto' || choice === 'download') return { path: await downloadOfficialArchive(join(homedir(), '.cache', 'cifar-operator')), encoding: 'jpg' };
  return { path: resolve(choice), encoding: 'jpg' };
}

function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const s = createServer();
    s.once('error', rej);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => res(port));
    });
  });
}

const cleanups: Array<() => unknown> = [];
try {
  await rm(out, { recursive: true, force: true });
  await mkdir(out, { recursive: true });
  console.log('[demo] starting a local S3 server (s3rver) on 127.0.0.1');
  const s3 = await startS3rver({ teardown: (fn) => cleanups.push(fn) }, { buckets: ['cifar'] });
  const source = await dataSource();
  for (const split of ['train', 'test'] as const) {
    const started = Date.now();
    const result = await packDataset({ from: source.path, out: `s3://cifar/data/${split}`, split, encoding: source.encoding, quality: 95, shuffle: true, seed: 1, s3: s3.config });
    console.log(`[demo] packed ${result.records} ${split} images into ${result.recUri} in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  }

  const port = await freePort();
  console.log(`[demo] training LeNet with ${replicas} replicas (ring all-reduce over TCP), ${values.epochs} epochs on ${values.examples} images`);
  const args = [
    '--import', 'tsx', join(repo, 'trainer', 'cli', 'main.ts'), 'train',
    '--model', 'lenet', '--data-train', 's3://cifar/data/train.rec', '--data-val', 's3://cifar/data/test.rec',
    '--num-examples', values.examples!, '--num-val-examples', '2000', '--epochs', values.epochs!, '--batch-size', '64', '--lr', '0.025',
    '--backend', 'auto', '--checkpoint', 's3://cifar/runs/demo/checkpoints', '--out', out, '--progress-interval', '5',
  ];
  const env = {
    ...process.env,
    AWS_ENDPOINT_URL: s3.endpoint, AWS_ACCESS_KEY_ID: 'S3RVER', AWS_SECRET_ACCESS_KEY: 'S3RVER', S3_FORCE_PATH_STYLE: 'true',
    WORLD_SIZE: String(replicas), MASTER_ADDR: '127.0.0.1', MASTER_PORT: String(port),
    CIFAR_PEER_SECRET: `demo-${Math.random().toString(36).slice(2)}-${Date.now()}`, CIFAR_JOB_ID: 'demo',
  };
  const codes = await Promise.all(
    Array.from({ length: replicas }, (_, rank) =>
      new Promise<number>((resolveCode) => {
        const child = spawn(process.execPath, args, { cwd: repo, env: { ...env, RANK: String(rank) }, stdio: ['ignore', 'ignore', 'pipe'] });
        child.stderr.on('data', (d: Buffer) => {
          // Rank 0 speaks for the group; other ranks only when something goes wrong.
          for (const line of d.toString().split('\n')) if (line && (rank === 0 || /error|lost|fail/i.test(line))) console.log(`[rank ${rank}] ${line}`);
        });
        child.on('close', (code) => resolveCode(code ?? 1));
      }),
    ),
  );
  if (codes.some((c) => c !== 0)) throw new Error(`training failed: exit codes ${codes.join(', ')}`);
  const metrics = JSON.parse(await readFile(join(out, 'metrics.json'), 'utf8')) as { finalValidationAccuracy: number; weightsSha256: string; backend: string; totalSeconds: number };
  console.log(`[demo] Succeeded: validation accuracy ${(metrics.finalValidationAccuracy * 100).toFixed(1)}% after ${values.epochs} epochs (${metrics.backend} backend, ${Math.round(metrics.totalSeconds)} s)`);
  console.log(`[demo] accuracy chart: ${join(out, 'accuracy.svg')}; metrics: ${join(out, 'metrics.json')}; model: ${join(out, 'model')}`);
} finally {
  for (const fn of cleanups.reverse()) await Promise.resolve(fn()).catch(() => undefined);
}
