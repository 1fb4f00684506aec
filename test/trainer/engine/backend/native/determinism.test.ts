import t from 'tap';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { datasetSkip } from '../../../../helpers/datasets.js';
import { nativeSkip } from '../../../../helpers/native.js';
import { packedCifar } from '../../../../helpers/packed-cifar.js';
import { freePort, rankEnv, startTrainer } from '../../../../helpers/trainer-process.js';

// The native backend keeps the trainer's guarantees: same seed, backend and thread count
// give the same weightsSha256; a run stopped by SIGTERM and resumed ends bit-identical to
// an uninterrupted one; the ranks of a distributed run end with identical weights.

const skip = datasetSkip('cifar10-jpeg.tar.gz') || nativeSkip();

interface Metrics { weightsSha256: string; backend: string; backendDetail: string }

async function metrics(dir: string): Promise<Metrics> {
  return JSON.parse(await readFile(join(dir, 'metrics.json'), 'utf8')) as Metrics;
}

t.test('native, 2 threads: same seed twice, and SIGTERM then --resume, give one weightsSha256', { skip }, async (t) => {
  const train = await packedCifar('train');
  const dir = t.testdir();
  // ResNet-8: convolutions, batch norm, residual adds and a dense layer all on the native kernels.
  const common = ['train', '--model', 'resnet', '--depth', '8', '--data-train', train, '--num-examples', '256', '--epochs', '2', '--batch-size', '32',
    '--backend', 'native', '--threads', '2', '--log-format', 'json', '--progress-interval', '0', '--seed', '9', '--prefetch-workers', '0'];
  const full = await startTrainer([...common, '--out', join(dir, 'full')]).done;
  t.equal(full.code, 0, full.stderr.slice(-600));
  const again = await startTrainer([...common, '--out', join(dir, 'again')]).done;
  t.equal(again.code, 0, again.stderr.slice(-600));
  const first = await metrics(join(dir, 'full'));
  t.equal(first.backend, 'native');
  t.match(first.backendDetail, /^native \(oneDNN [\d.]+, \w+, 2 threads\)$/, 'metrics.json names the backend and its thread count');
  t.equal((await metrics(join(dir, 'again'))).weightsSha256, first.weightsSha256, 'two runs with the same seed give identical weights');

  // 8 steps per epoch: SIGTERM in the middle of the first.
  const ckpt = join(dir, 'ckpt');
  const stopping = startTrainer([...common, '--checkpoint', ckpt, '--out', join(dir, 'resumed')]);
  await stopping.waitFor(/("event":"step".*){3}/s);
  stopping.child.kill('SIGTERM');
  const stopped = await stopping.done;
  t.equal(stopped.code, 143, `stopped with 143 after a checkpoint: ${stopped.stderr.slice(-400)}`);
  const resumed = await startTrainer([...common, '--checkpoint', ckpt, '--resume', '--out', join(dir, 'resumed')]).done;
  t.equal(resumed.code, 0, resumed.stderr.slice(-600));
  t.match(resumed.stderr, /resumed from .*ckpt-\d+-e0-s\d+\.ckpt at epoch 0, step \d+/);
  t.equal((await metrics(join(dir, 'resumed'))).weightsSha256, first.weightsSha256, 'the resumed run ends with the same weightsSha256');
});

t.test('native: 2 ranks on loopback end with identical weights', { skip }, async (t) => {
  const train = await packedCifar('train');
  const dir = t.testdir();
  const port = await freePort();
  const world = 2;
  // One thread per rank: the two ranks share this machine's cores.
  const ranks = Array.from({ length: world }, (_, rank) => startTrainer(
    ['train', '--model', 'resnet', '--depth', '8', '--data-train', train, '--num-examples', '256', '--epochs', '1', '--batch-size', '32',
      '--backend', 'native', '--threads', '1', '--out', join(dir, 'out'), '--progress-interval', '60', '--prefetch-workers', '0'],
    rankEnv(rank, world, port),
  ));
  const results = await Promise.all(ranks.map((r) => r.done));
  results.forEach((r, rank) => t.equal(r.code, 0, `rank ${rank}: ${r.stderr.slice(-500)}`));
  const hashes = [(await metrics(join(dir, 'out'))).weightsSha256, (await metrics(join(dir, 'out', 'rank-1'))).weightsSha256];
  t.equal(hashes[0], hashes[1], `both ranks have weightsSha256 ${hashes[0]}`);
  t.equal((await metrics(join(dir, 'out'))).backend, 'native');
});
