import t from 'tap';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { datasetSkip } from '../../../helpers/datasets.js';
import { packedCifar } from '../../../helpers/packed-cifar.js';
import { freePort, rankEnv, startTrainer } from '../../../helpers/trainer-process.js';
import { LocalFileSink, LocalFileSource } from '../../../../trainer/io/local-source.js';
import { IndexedRecordIOWriter } from '../../../../trainer/data/recordio/indexed-writer.js';
import { readRecords } from '../../../../trainer/data/recordio/reader.js';
import { partRange } from '../../../../trainer/data/recordio/shard.js';

const skip = datasetSkip('cifar10-jpeg.tar.gz');

async function sha(dir: string): Promise<string> {
  return (JSON.parse(await readFile(join(dir, 'metrics.json'), 'utf8')) as { weightsSha256: string }).weightsSha256;
}

t.test('2 and 3 ranks on loopback end with identical weights on every rank', { skip }, async (t) => {
  const train = await packedCifar('train');
  const test = await packedCifar('test');
  for (const world of [2, 3]) {
    const dir = t.testdir();
    const port = await freePort();
    const ranks = Array.from({ length: world }, (_, rank) =>
      startTrainer(
        ['train', '--model', 'resnet', '--depth', '8', '--data-train', train, '--data-val', test, '--num-examples', '192', '--num-val-examples', '64',
          '--epochs', '1', '--batch-size', '32', '--backend', 'wasm', '--out', join(dir, 'out'), '--progress-interval', '60', '--prefetch-workers', '0'],
        rankEnv(rank, world, port),
      ),
    );
    const results = await Promise.all(ranks.map((r) => r.done));
    results.forEach((r, rank) => t.equal(r.code, 0, `world ${world} rank ${rank}: ${r.stderr.slice(-500)}`));
    const hashes = [await sha(join(dir, 'out')), ...(await Promise.all(Array.from({ length: world - 1 }, (_, i) => sha(join(dir, 'out', `rank-${i + 1}`)))))];
    t.equal(new Set(hashes).size, 1, `world ${world}: every rank has weightsSha256 ${hashes[0]}`);
    const metrics = JSON.parse(await readFile(join(dir, 'out', 'metrics.json'), 'utf8')) as { worldSize: number; epochs: Array<{ validationAccuracy: number }> };
    t.equal(metrics.worldSize, world);
    t.ok(metrics.epochs[0].validationAccuracy >= 0 && metrics.epochs[0].validationAccuracy <= 1, 'validation reduced over the ranks');
  }
});

t.test('N ranks with batch b match one process with batch N*b over the same examples', { skip }, async (t) => {
  const train = await packedCifar('train');
  const dir = t.testdir();
  // Two shards of a small file, and a single file that interleaves them b records at a time,
  // so step k of the single process sees exactly the examples of step k on the two ranks.
  const b = 16;
  const steps = 6;
  const source = new LocalFileSource(train);
  const all: Buffer[] = [];
  for await (const { payload } of readRecords(source)) {
    all.push(payload);
    if (all.length >= 4 * b * steps) break;
  }
  await source.close();
  const small = join(dir, 'small');
  const writer = new IndexedRecordIOWriter(new LocalFileSink(`${small}.rec`), new LocalFileSink(`${small}.idx`));
  for (const [i, p] of all.entries()) await writer.write(i, p);
  await writer.commit();
  const smallSource = new LocalFileSource(`${small}.rec`);
  const shards: Buffer[][] = [[], []];
  for (const part of [0, 1]) {
    const range = await partRange(smallSource, part, 2);
    for await (const { payload } of readRecords(smallSource, range)) shards[part].push(payload);
  }
  await smallSource.close();
  const interleaved = join(dir, 'interleaved');
  const w2 = new IndexedRecordIOWriter(new LocalFileSink(`${interleaved}.rec`), new LocalFileSink(`${interleaved}.idx`));
  let key = 0;
  for (let s = 0; s < steps; s++) for (const shard of shards) for (const p of shard.slice(s * b, (s + 1) * b)) await w2.write(key++, p);
  await w2.commit();

  const fixed = ['--model', 'lenet', '--epochs', '1', '--backend', 'wasm', '--no-shuffle', '--pad', '0', '--no-flip', '--progress-interval', '60', '--prefetch-workers', '0', '--lr', '0.02'];
  const port = await freePort();
  const ranks = [0, 1].map((rank) =>
    startTrainer(['train', ...fixed, '--data-train', `${small}.rec`, '--num-examples', String(2 * b * steps), '--batch-size', String(b), '--out', join(dir, 'dist')], rankEnv(rank, 2, port)),
  );
  const single = startTrainer(['train', ...fixed, '--data-train', `${interleaved}.rec`, '--num-examples', String(2 * b * steps), '--batch-size', String(2 * b), '--lr', '0.04', '--out', join(dir, 'single')]);
  // Control: the same single process over the un-interleaved file sees other examples per step.
  const control = startTrainer(['train', ...fixed, '--data-train', `${small}.rec`, '--num-examples', String(2 * b * steps), '--batch-size', String(2 * b), '--lr', '0.04', '--out', join(dir, 'control')]);
  const [r0, r1, one, other] = await Promise.all([ranks[0].done, ranks[1].done, single.done, control.done]);
  t.equal(r0.code, 0, r0.stderr.slice(-400));
  t.equal(r1.code, 0, r1.stderr.slice(-400));
  t.equal(one.code, 0, one.stderr.slice(-400));
  t.equal(other.code, 0, other.stderr.slice(-400));

  const { loadModel } = await import('../../../../trainer/engine/models/model-store.js');
  const maxDifference = (x: Awaited<ReturnType<typeof loadModel>>, y: Awaited<ReturnType<typeof loadModel>>): number => {
    let max = 0;
    x.weights.forEach((w, i) => {
      const u = w.read().dataSync();
      const v = y.weights[i].read().dataSync();
      for (let j = 0; j < u.length; j++) max = Math.max(max, Math.abs(u[j] - v[j]));
    });
    return max;
  };
  const distModel = await loadModel(join(dir, 'dist', 'model'));
  const singleModel = await loadModel(join(dir, 'single', 'model'));
  const controlModel = await loadModel(join(dir, 'control', 'model'));
  const same = maxDifference(distModel, singleModel);
  const differentData = maxDifference(controlModel, singleModel);
  // Summation order differs (two half-batch means vs one full mean), so bits differ slightly.
  t.ok(same < 1e-3, `weights agree within float tolerance (max difference ${same.toExponential(2)})`);
  t.ok(differentData > 20 * same, `other examples per step give clearly other weights (${differentData.toExponential(2)} vs ${same.toExponential(2)})`);
});

t.test('killing a rank makes the others exit retryable in bounded time; resuming all ranks completes', { skip }, async (t) => {
  const train = await packedCifar('train');
  const dir = t.testdir();
  const args = ['train', '--model', 'lenet', '--data-train', train, '--num-examples', '1024', '--epochs', '3', '--batch-size', '64', '--backend', 'wasm',
    '--checkpoint', join(dir, 'ckpt'), '--out', join(dir, 'out'), '--log-format', 'json', '--progress-interval', '0', '--prefetch-workers', '0'];
  const env = { CIFAR_PEER_TIMEOUT: '5' };
  let port = await freePort();
  const first = [0, 1, 2].map((rank) => startTrainer(args, { ...rankEnv(rank, 3, port), ...env }));
  // Let rank 0 write the epoch-1 checkpoint, then kill rank 2 in the second epoch.
  await first[0].waitFor(/"event":"checkpoint"/);
  await first[2].waitFor(/"event":"step","time":"[^"]+","epoch":1,"epochs":3,"step":2/);
  const killedAt = Date.now();
  first[2].child.kill('SIGKILL');
  const [a, b] = await Promise.all([first[0].done, first[1].done]);
  t.equal(a.code, 75, `rank 0 exits 75 (retryable): ${a.stderr.slice(-300)}`);
  t.equal(b.code, 75, `rank 1 exits 75 (retryable): ${b.stderr.slice(-300)}`);
  t.match(a.stderr + b.stderr, /rank 2/, 'the lost peer is named');
  const detectionMs = Date.now() - killedAt;
  t.ok(detectionMs < 30_000, `others exited within 30 s of the kill (${detectionMs} ms)`);

  port = await freePort();
  const second = [0, 1, 2].map((rank) => startTrainer([...args, '--resume'], { ...rankEnv(rank, 3, port), ...env }));
  const done = await Promise.all(second.map((r) => r.done));
  done.forEach((r, rank) => t.equal(r.code, 0, `resumed rank ${rank} completes: ${r.stderr.slice(-300)}`));
  t.match(done[0].stderr, /resumed from .*ckpt-\d+-e1-s0\.ckpt/);
  const metrics = JSON.parse(await readFile(join(dir, 'out', 'metrics.json'), 'utf8')) as { epochs: unknown[] };
  t.equal(metrics.epochs.length, 3, 'all three epochs recorded');
});

t.test('a rank with the wrong secret cannot join', { skip }, async (t) => {
  const train = await packedCifar('train');
  const port = await freePort();
  const args = ['train', '--model', 'lenet', '--data-train', train, '--num-examples', '256', '--epochs', '1', '--batch-size', '64', '--backend', 'wasm', '--prefetch-workers', '0'];
  const env = { CIFAR_RENDEZVOUS_TIMEOUT: '8' };
  const good = startTrainer(args, { ...rankEnv(0, 2, port), ...env });
  const bad = startTrainer(args, { ...rankEnv(1, 2, port, 'a-different-secret-abcdef'), ...env });
  const [g, b] = await Promise.all([good.done, bad.done]);
  t.not(b.code, 0, 'the impostor fails');
  t.equal(g.code, 75, 'rank 0 times out waiting for a real rank 1 (retryable)');
  t.match(g.stderr, /refused|authenticat/i, 'the refused connection is logged');
  t.match(g.stderr, /rank 1/, 'the missing rank is named');
});

t.test('ranks that see different checkpoints refuse to train out of step', { skip }, async (t) => {
  const train = await packedCifar('train');
  const dir = t.testdir();
  const common = ['train', '--model', 'lenet', '--data-train', train, '--num-examples', '256', '--epochs', '2', '--batch-size', '64', '--backend', 'wasm', '--prefetch-workers', '0'];
  // A 2-rank run leaves its epoch-1 checkpoint where only rank 0 will look next time.
  const firstPort = await freePort();
  const first = [0, 1].map((rank) => startTrainer([...common, '--epochs', '1', '--checkpoint', join(dir, 'rank0')], rankEnv(rank, 2, firstPort)));
  t.same((await Promise.all(first.map((r) => r.done))).map((r) => r.code), [0, 0]);
  const port = await freePort();
  const ranks = [0, 1].map((rank) => startTrainer([...common, '--checkpoint', join(dir, `rank${rank}`), '--resume'], rankEnv(rank, 2, port)));
  const [r0, r1] = await Promise.all(ranks.map((r) => r.done));
  t.equal(r1.code, 1, `the rank without the checkpoint fails, not retryable: ${r1.stderr.slice(-600)}`);
  t.match(r1.stderr, /rank 1 starts at epoch 0, step 0 \(no checkpoint found\) but rank 0 starts at epoch 1, step 0: every rank must see the same checkpoints/);
  t.not(r0.code, 0, 'rank 0 does not train alone');
});
