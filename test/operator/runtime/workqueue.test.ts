import t from 'tap';
import { ExponentialBackoffLimiter, WorkQueue } from '../../../operator/runtime/workqueue.js';
import { ManualClock } from '../../helpers/fake-cluster-api.js';

const tick = (): Promise<void> => new Promise((r) => setImmediate(r));

t.test('a key added many times is queued once', async (t) => {
  const q = new WorkQueue({ clock: new ManualClock() });
  q.add('a');
  q.add('b');
  q.add('a');
  t.equal(q.depth, 2);
  t.equal(await q.get(), 'a');
  t.equal(await q.get(), 'b');
  t.equal(q.depth, 0);
});

t.test('a key in progress is not handed out twice; re-added, it comes back after done', async (t) => {
  const q = new WorkQueue({ clock: new ManualClock() });
  q.add('a');
  const key = await q.get();
  t.equal(key, 'a');
  q.add('a');
  t.equal(q.depth, 0, 'not queued while processing');
  let second: string | undefined;
  void q.get().then((k) => (second = k));
  await tick();
  t.equal(second, undefined, 'a second worker does not get the same key');
  q.done('a');
  await tick();
  t.equal(second, 'a', 'handed out again after done');
});

t.test('a waiting worker gets a key as soon as it is added', async (t) => {
  const q = new WorkQueue({ clock: new ManualClock() });
  const pending = q.get();
  q.add('x');
  t.equal(await pending, 'x');
});

t.test('per-key exponential backoff from 5 ms, doubling, capped at 1000 s, reset by forget', async (t) => {
  const limiter = new ExponentialBackoffLimiter();
  t.same([1, 2, 3, 4].map(() => limiter.when('k')), [5, 10, 20, 40]);
  t.equal(limiter.when('other'), 5, 'per key');
  for (let i = 0; i < 40; i++) limiter.when('k');
  t.equal(limiter.when('k'), 1_000_000, 'capped');
  limiter.forget('k');
  t.equal(limiter.when('k'), 5, 'reset after success');
});

t.test('addRateLimited delays by the backoff; numRequeues counts failures', async (t) => {
  const clock = new ManualClock();
  const q = new WorkQueue({ clock });
  q.addRateLimited('k');
  q.addRateLimited('k');
  t.equal(q.numRequeues('k'), 2);
  t.equal(q.depth, 0);
  clock.advance(4);
  t.equal(q.depth, 0, 'not before 5 ms');
  clock.advance(1);
  t.equal(q.depth, 1, 'the earliest delay wins (5 ms, not 10 ms)');
  q.forget('k');
  t.equal(q.numRequeues('k'), 0);
});

t.test('addAfter keeps the earliest delay per key', async (t) => {
  const clock = new ManualClock();
  const q = new WorkQueue({ clock });
  q.addAfter('k', 1000);
  q.addAfter('k', 300);
  q.addAfter('k', 5000);
  clock.advance(299);
  t.equal(q.depth, 0);
  clock.advance(1);
  t.equal(q.depth, 1);
  clock.advance(10_000);
  t.equal(q.depth, 1, 'the later timers were dropped, no duplicate');
  q.addAfter('now', 0);
  t.equal(q.depth, 2, 'zero delay adds at once');
});

t.test('shutdown wakes waiters, drops queued and delayed keys, and drain waits for in-flight keys', async (t) => {
  const clock = new ManualClock();
  const q = new WorkQueue({ clock });
  q.add('busy');
  t.equal(await q.get(), 'busy');
  q.add('queued');
  q.addAfter('later', 100);
  let drained = false;
  const drain = q.drain().then(() => (drained = true));
  t.equal(await q.get(), undefined, 'get returns undefined after shutdown');
  t.equal(q.depth, 0);
  t.equal(clock.pending, 0, 'delayed timers cancelled');
  q.add('ignored');
  t.equal(q.depth, 0, 'adds are ignored');
  await tick();
  t.notOk(drained, 'drain waits for the key in flight');
  q.done('busy');
  await drain;
  t.ok(drained);
});
