import t from 'tap';
import { classifyS3Error, toS3Error, TruncatedBodyError } from '../../../trainer/io/s3-errors.js';
import { backoffDelay, DEFAULT_RETRY_POLICY, RetryGaveUp, withRetry, type RetryPolicy } from '../../../trainer/io/s3-retry.js';
import { Rng } from '../../../trainer/util/rng.js';

/** A fake clock: sleeping advances it, so tests take no real time. */
function fakeClock(): { now: () => number; sleep: (ms: number) => Promise<void>; slept: number[] } {
  let time = 0;
  const slept: number[] = [];
  return {
    now: () => time,
    sleep: async (ms) => {
      slept.push(ms);
      time += ms;
    },
    slept,
  };
}

const policy: RetryPolicy = { maxAttempts: 5, baseDelayMs: 100, maxDelayMs: 1_000, totalTimeMs: 60_000 };

t.test('backoff grows exponentially, is capped, and is jittered', async (t) => {
  const rng = new Rng(1);
  for (let retry = 1; retry <= 8; retry++) {
    const step = Math.min(1_000, 100 * 2 ** (retry - 1));
    const delays = Array.from({ length: 50 }, () => backoffDelay(retry, policy, rng));
    t.ok(delays.every((d) => d >= step / 2 && d <= step), `retry ${retry}: all delays in [${step / 2}, ${step}]`);
  }
  const spread = new Set(Array.from({ length: 20 }, () => backoffDelay(3, policy, rng)));
  t.ok(spread.size > 5, 'delays differ between clients (jitter)');
});

t.test('withRetry retries transient errors with backoff and returns the result', async (t) => {
  const clock = fakeClock();
  let calls = 0;
  const result = await withRetry(
    async (attempt) => {
      calls++;
      if (attempt < 3) throw new Error('flaky');
      return 'ok';
    },
    policy,
    () => true,
    { ...clock, rng: new Rng(2) },
  );
  t.equal(result, 'ok');
  t.equal(calls, 3);
  t.equal(clock.slept.length, 2);
  t.ok(clock.slept[1]! >= clock.slept[0]! / 2 && clock.slept[1]! >= 100, 'second wait is from the doubled step');
});

t.test('withRetry stops at once on a permanent error', async (t) => {
  const clock = fakeClock();
  let calls = 0;
  const err = await withRetry(async () => {
    calls++;
    throw new Error('404');
  }, policy, () => false, clock).catch((e: unknown) => e);
  t.ok(err instanceof RetryGaveUp && err.attempts === 1 && (err.cause as Error).message === '404');
  t.equal(calls, 1);
  t.same(clock.slept, []);
});

t.test('withRetry is bounded by attempts and by total time', async (t) => {
  const clock = fakeClock();
  let calls = 0;
  const byCount = await withRetry(async () => {
    calls++;
    throw new Error('503');
  }, policy, () => true, clock).catch((e: unknown) => e);
  t.ok(byCount instanceof RetryGaveUp && byCount.attempts === 5);
  t.equal(calls, 5);

  const slowClock = fakeClock();
  const byTime = await withRetry(async () => {
    await slowClock.sleep(400); // each attempt itself takes 400 ms
    throw new Error('503');
  }, { ...policy, maxAttempts: 100, totalTimeMs: 1_500 }, () => true, slowClock).catch((e: unknown) => e);
  t.ok(byTime instanceof RetryGaveUp && byTime.attempts < 5, `gave up by time after ${(byTime as RetryGaveUp).attempts} attempts`);
  t.ok(slowClock.now() <= 1_500, 'no retry started past the time budget');
  t.equal(DEFAULT_RETRY_POLICY.maxAttempts, 5);
});

const sdkError = (name: string, status: number): Error =>
  Object.assign(new Error(`${name} message`), { name, $metadata: { httpStatusCode: status } });
const netError = (code: string): Error => Object.assign(new Error(`connect ${code}`), { code });

t.test('classifyS3Error sorts failures into retryable and permanent', async (t) => {
  const cases: [unknown, string, boolean][] = [
    [sdkError('NoSuchBucket', 404), 'no-such-bucket', false],
    [sdkError('NoSuchKey', 404), 'no-such-key', false],
    [sdkError('NotFound', 404), 'not-found', false],
    [sdkError('AccessDenied', 403), 'access-denied', false],
    [sdkError('Unknown', 403), 'access-denied', false],
    [sdkError('InvalidRange', 416), 'invalid-range', false],
    [sdkError('PreconditionFailed', 412), 'changed', false],
    [sdkError('InvalidArgument', 400), 'client-error', false],
    [sdkError('SlowDown', 503), 'throttled', true],
    [sdkError('ThrottlingException', 400), 'throttled', true],
    [sdkError('Unknown', 429), 'throttled', true],
    [sdkError('InternalError', 500), 'server-error', true],
    [sdkError('Unknown', 502), 'server-error', true],
    [sdkError('RequestTimeout', 400), 'timeout', true],
    [Object.assign(new Error('timed out'), { name: 'TimeoutError' }), 'timeout', true],
    [netError('ETIMEDOUT'), 'timeout', true],
    [netError('ECONNREFUSED'), 'unreachable', true],
    [new AggregateError([netError('ECONNREFUSED'), netError('ECONNREFUSED')], 'all failed'), 'unreachable', true],
    [netError('ECONNRESET'), 'connection-lost', true],
    [new Error('socket hang up'), 'connection-lost', true],
    [new TruncatedBodyError(100, 40), 'truncated', true],
    [new TypeError('x is not a function'), 'unknown', false],
    ['a string', 'unknown', false],
  ];
  for (const [err, kind, transient] of cases) {
    const f = classifyS3Error(err);
    t.same([f.kind, f.transient], [kind, transient], `${err instanceof Error ? `${err.name}: ${err.message}` : String(err)}`);
  }
});

t.test('toS3Error messages name the URI, the endpoint and the problem', async (t) => {
  const ctx = { uri: 's3://b/k', endpoint: 'http://127.0.0.1:9000', operation: 'GetObject bytes=0-9', attempts: 1 };
  t.equal(toS3Error(sdkError('NoSuchBucket', 404), ctx).message, 's3://b/k: bucket does not exist at endpoint http://127.0.0.1:9000');
  t.equal(toS3Error(sdkError('NoSuchKey', 404), ctx).message, 's3://b/k: object does not exist at endpoint http://127.0.0.1:9000');
  t.equal(
    toS3Error(sdkError('Unknown', 403), ctx).message,
    's3://b/k: access denied by endpoint http://127.0.0.1:9000 (HTTP 403); check the credentials and the bucket policy',
  );
  t.equal(
    toS3Error(netError('ECONNREFUSED'), { ...ctx, attempts: 5 }).message,
    's3://b/k: cannot connect to endpoint http://127.0.0.1:9000: connection refused (ECONNREFUSED) (after 5 attempts)',
  );
  t.equal(
    toS3Error(sdkError('SlowDown', 503), { ...ctx, attempts: 3 }).message,
    's3://b/k: GetObject bytes=0-9: endpoint http://127.0.0.1:9000 is throttling or unavailable (HTTP 503 SlowDown SlowDown message) (after 3 attempts)',
  );
  const e = toS3Error(sdkError('NoSuchKey', 404), ctx);
  t.equal(toS3Error(e, { ...ctx, uri: 'other' }), e, 'an S3Error passes through unchanged');
  t.equal(e.kind, 'no-such-key');
  t.equal(e.uri, 's3://b/k');
});
