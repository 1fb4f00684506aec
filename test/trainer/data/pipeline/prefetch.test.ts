import t from 'tap';
import { BatchProducer } from '../../../../trainer/data/pipeline/batch-producer.js';
import { batchesForEpoch, type EpochBatch, type EpochOptions } from '../../../../trainer/data/pipeline/batches.js';
import { cacheFromPixels } from '../../../../trainer/data/pipeline/image-cache.js';
import { CIFAR10_MEAN, CIFAR10_STD } from '../../../../trainer/data/pipeline/normalize.js';
import { prefetch } from '../../../../trainer/data/pipeline/prefetch.js';

const ticks = async (n: number): Promise<void> => {
  for (let i = 0; i < n; i++) await new Promise((resolve) => setImmediate(resolve));
};

function counted(n: number, log: { made: number; closed: boolean }, failAt = -1): Generator<number> {
  return (function* () {
    try {
      for (let i = 0; i < n; i++) {
        if (i === failAt) throw new Error(`source failed at ${i}`);
        log.made++;
        yield i;
      }
    } finally {
      log.closed = true;
    }
  })();
}

async function* asyncCounted(n: number, log: { made: number; closed: boolean }): AsyncGenerator<number> {
  yield* counted(n, log);
}

t.test('prefetch runs exactly depth items ahead, sync and async sources', async (t) => {
  for (const kind of ['sync', 'async'] as const) {
    const log = { made: 0, closed: false };
    const it = prefetch(kind === 'sync' ? counted(10, log) : asyncCounted(10, log), 3);
    const first = await it.next();
    t.same(first, { done: false, value: 0 }, `${kind}: first item`);
    await ticks(10);
    t.equal(log.made, 4, `${kind}: the consumed item plus 3 ahead, no more`);
    const rest: number[] = [];
    for await (const v of it) rest.push(v);
    t.same(rest, [1, 2, 3, 4, 5, 6, 7, 8, 9], `${kind}: order kept`);
  }
});

t.test('prefetch passes errors through in order and stops the source on early exit', async (t) => {
  const log = { made: 0, closed: false };
  const got: number[] = [];
  await t.rejects(
    (async () => {
      for await (const v of prefetch(counted(10, log, 4), 2)) got.push(v);
    })(),
    /source failed at 4/,
  );
  t.same(got, [0, 1, 2, 3], 'items before the failure arrive first');

  const early = { made: 0, closed: false };
  for await (const v of prefetch(counted(100, early), 4)) if (v === 2) break;
  t.ok(early.closed, 'source closed');
  t.ok(early.made <= 7, `bounded work after exit (${early.made} made)`);

  const direct: number[] = [];
  for await (const v of prefetch([5, 6], 0)) direct.push(v);
  t.same(direct, [5, 6], 'depth 0 passes through');
  t.throws(() => prefetch([1], -1).next(), /depth must be a non-negative integer/);
});

// 40 CIFAR-shaped images with arbitrary bytes.
const N = 40;
const pixels = Uint8Array.from({ length: N * 32 * 32 * 3 }, (_, i) => (Math.imul(i, 2654435761) >>> 24) & 255);
const cache = cacheFromPixels(pixels, Int32Array.from({ length: N }, (_, i) => i % 10), 32, 32);
const epoch: EpochOptions = {
  batchSize: 8,
  seed: 1234,
  epoch: 2,
  train: true,
  dropLast: false,
  crop: 28,
  pad: 4,
  flip: true,
  mean: CIFAR10_MEAN,
  std: CIFAR10_STD,
  startBatch: 1,
};

/** Byte-level equality: bit-identical floats, not just numerically equal. */
function sameBytes(a: EpochBatch[], b: EpochBatch[]): boolean {
  if (a.length !== b.length) return false;
  return a.every((x, i) => {
    const y = b[i];
    return (
      x.size === y.size &&
      x.index === y.index &&
      x.epoch === y.epoch &&
      Buffer.from(x.x.buffer, x.x.byteOffset, x.x.byteLength).equals(Buffer.from(y.x.buffer, y.x.byteOffset, y.x.byteLength)) &&
      Buffer.from(x.y.buffer, x.y.byteOffset, x.y.byteLength).equals(Buffer.from(y.y.buffer, y.y.byteOffset, y.y.byteLength))
    );
  });
}

async function collect(it: AsyncIterable<EpochBatch>): Promise<EpochBatch[]> {
  const out: EpochBatch[] = [];
  for await (const b of it) out.push(b);
  return out;
}

t.test('worker batches are bit-identical to inline ones', async (t) => {
  const inline = [...batchesForEpoch(cache, epoch)];
  t.equal(inline.length, 4, 'batches 1..4 of 5');
  for (const workers of [1, 2]) {
    const producer = await BatchProducer.create(cache, { depth: 3, workers });
    t.teardown(() => producer.close());
    t.equal(producer.mode, 'worker', `${workers} worker(s) started${producer.fallbackReason ? `: ${producer.fallbackReason}` : ''}`);
    t.ok(sameBytes(await collect(producer.epoch(epoch)), inline), `${workers} worker(s): same bytes`);
    const val = { ...epoch, train: false, startBatch: 0 };
    t.ok(sameBytes(await collect(producer.epoch(val)), [...batchesForEpoch(cache, val)]), `${workers} worker(s): validation epoch too`);
    const cutout = { ...epoch, cutout: 8 };
    const withCutout = await collect(producer.epoch(cutout));
    t.ok(sameBytes(withCutout, [...batchesForEpoch(cache, cutout)]), `${workers} worker(s): Cutout reaches the workers`);
    t.notOk(sameBytes(withCutout, inline), `${workers} worker(s): Cutout changed the batches`);
    t.throws(() => producer.epoch({ ...epoch, crop: 41 }), /crop 41 is larger/, 'bad options fail at the call');
    await producer.close();
    t.throws(() => producer.epoch(epoch), /batch producer is closed/);
  }
});

t.test('inline producer gives the same batches', async (t) => {
  const producer = await BatchProducer.create(cache, { depth: 2, workers: 0 });
  t.equal(producer.mode, 'inline');
  t.equal(producer.fallbackReason, undefined);
  t.ok(sameBytes(await collect(producer.epoch(epoch)), [...batchesForEpoch(cache, epoch)]));
  await t.rejects(BatchProducer.create(cache, { depth: 0 }), /depth must be a positive integer/);
});

t.test('a worker that does not start in time falls back to inline production', async (t) => {
  const producer = await BatchProducer.create(cache, { depth: 2, workers: 1, startTimeoutMs: 1 });
  t.teardown(() => producer.close());
  t.equal(producer.mode, 'inline');
  t.match(producer.fallbackReason, /batch worker did not start: no ready message within 1 ms/);
  t.ok(sameBytes(await collect(producer.epoch(epoch)), [...batchesForEpoch(cache, epoch)]));
});
