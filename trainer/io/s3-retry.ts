import { setTimeout as sleepMs } from 'node:timers/promises';
import { Rng } from '../util/rng.js';

/** Bounds for retrying one remote call. */
export interface RetryPolicy {
  /** Attempts in total, including the first. */
  maxAttempts: number;
  /** Backoff ceiling before jitter for the first retry; doubles for each further one. */
  baseDelayMs: number;
  /** Upper bound on any single backoff. */
  maxDelayMs: number;
  /** No retry starts once this much time has passed since the first attempt. */
  totalTimeMs: number;
}

export const DEFAULT_RETRY_POLICY: Readonly<RetryPolicy> = Object.freeze({
  maxAttempts: 5,
  baseDelayMs: 200,
  maxDelayMs: 5_000,
  totalTimeMs: 60_000,
});

/** Thrown when retrying stops: carries the last failure and how many attempts were made. */
export class RetryGaveUp extends Error {
  readonly attempts: number;
  override readonly cause: unknown;

  constructor(cause: unknown, attempts: number) {
    super(`gave up after ${attempts} attempt(s)`);
    this.name = 'RetryGaveUp';
    this.cause = cause;
    this.attempts = attempts;
  }
}

export interface RetryHooks {
  rng?: Rng;
  sleep?: (ms: number) => Promise<void>;
  now?: () => number;
}

// Jitter only has to decorrelate clients, not be reproducible, so a wall-clock seed is fine.
const sharedJitter = new Rng((Date.now() ^ (process.pid << 16)) >>> 0);

/**
 * Delay before retry number `retry` (1-based): "equal jitter", i.e. half the exponential
 * step plus a random share of the other half, so backoff always grows yet clients that
 * failed together do not retry in lockstep.
 */
export function backoffDelay(retry: number, policy: RetryPolicy, rng: Rng): number {
  const step = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (retry - 1));
  return Math.round(step / 2 + rng.next() * (step / 2));
}

/**
 * Runs `op` until it succeeds, `isRetryable` rejects its error, or the policy's attempt
 * or time budget is spent; then throws RetryGaveUp wrapping the last error.
 */
export async function withRetry<T>(
  op: (attempt: number) => Promise<T>,
  policy: RetryPolicy,
  isRetryable: (err: unknown) => boolean,
  hooks: RetryHooks = {},
): Promise<T> {
  const rng = hooks.rng ?? sharedJitter;
  const sleep = hooks.sleep ?? ((ms: number) => sleepMs(ms).then(() => undefined));
  const now = hooks.now ?? Date.now;
  const started = now();
  const maxAttempts = Math.max(1, Math.floor(policy.maxAttempts));
  for (let attempt = 1; ; attempt++) {
    try {
      return await op(attempt);
    } catch (err) {
      if (attempt >= maxAttempts || !isRetryable(err)) throw new RetryGaveUp(err, attempt);
      const delay = backoffDelay(attempt, policy, rng);
      if (now() - started + delay > policy.totalTimeMs) throw new RetryGaveUp(err, attempt);
      await sleep(delay);
    }
  }
}
