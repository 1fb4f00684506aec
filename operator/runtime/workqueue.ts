/**
 * A rate-limited work queue with client-go's semantics:
 * - a key waiting in the queue is held once, however often it is added;
 * - a key being processed is never handed to a second worker; adding it meanwhile marks it
 *   dirty and it is handed out again after done();
 * - addRateLimited backs off per key exponentially (5 ms doubling, capped at 1000 s)
 *   until forget() after a success;
 * - addAfter keeps the earliest of several delays for one key.
 * On shutDown, queued keys are dropped (level-triggered reconciles lose nothing: the next
 * start relists) and get() returns undefined; drain() waits for in-flight keys.
 */
import { systemClock, type Clock, type Timer } from './clock.js';

export interface RateLimiter {
  /** Delay before the key's next retry; counts a failure. */
  when(key: string): number;
  forget(key: string): void;
  failures(key: string): number;
}

export class ExponentialBackoffLimiter implements RateLimiter {
  private readonly counts = new Map<string, number>();

  constructor(
    private readonly baseMs = 5,
    private readonly maxMs = 1_000_000,
  ) {}

  when(key: string): number {
    const n = this.counts.get(key) ?? 0;
    this.counts.set(key, n + 1);
    // 2 ** n overflows to Infinity long after the cap; min() keeps it finite.
    return Math.min(this.maxMs, this.baseMs * 2 ** n);
  }

  forget(key: string): void {
    this.counts.delete(key);
  }

  failures(key: string): number {
    return this.counts.get(key) ?? 0;
  }
}

export interface WorkQueueOptions {
  rateLimiter?: RateLimiter;
  clock?: Clock;
}

export class WorkQueue {
  private readonly queue: string[] = [];
  private readonly dirty = new Set<string>();
  private readonly processing = new Set<string>();
  private readonly waiters: Array<(key: string | undefined) => void> = [];
  private readonly delayed = new Map<string, { at: number; timer: Timer }>();
  private readonly drainWaiters: Array<() => void> = [];
  private readonly limiter: RateLimiter;
  private readonly clock: Clock;
  private shuttingDown = false;

  constructor(opts: WorkQueueOptions = {}) {
    this.limiter = opts.rateLimiter ?? new ExponentialBackoffLimiter();
    this.clock = opts.clock ?? systemClock;
  }

  add(key: string): void {
    if (this.shuttingDown || this.dirty.has(key)) return;
    this.dirty.add(key);
    if (this.processing.has(key)) return;
    this.enqueue(key);
  }

  private enqueue(key: string): void {
    const waiter = this.waiters.shift();
    if (waiter === undefined) {
      this.queue.push(key);
      return;
    }
    this.dirty.delete(key);
    this.processing.add(key);
    waiter(key);
  }

  /** The next key to process, or undefined once the queue is shut down. Call done(key) after. */
  get(): Promise<string | undefined> {
    if (this.shuttingDown) return Promise.resolve(undefined);
    const key = this.queue.shift();
    if (key !== undefined) {
      this.dirty.delete(key);
      this.processing.add(key);
      return Promise.resolve(key);
    }
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  done(key: string): void {
    this.processing.delete(key);
    if (this.shuttingDown) {
      if (this.processing.size === 0) for (const resolve of this.drainWaiters.splice(0)) resolve();
      return;
    }
    if (this.dirty.has(key)) this.enqueue(key);
  }

  addAfter(key: string, delayMs: number): void {
    if (this.shuttingDown) return;
    if (delayMs <= 0) {
      this.add(key);
      return;
    }
    const at = this.clock.now() + delayMs;
    const pending = this.delayed.get(key);
    if (pending !== undefined) {
      if (pending.at <= at) return;
      pending.timer.cancel();
    }
    const timer = this.clock.schedule(() => {
      this.delayed.delete(key);
      this.add(key);
    }, delayMs);
    this.delayed.set(key, { at, timer });
  }

  addRateLimited(key: string): void {
    this.addAfter(key, this.limiter.when(key));
  }

  /** Clears the key's failure count (after a successful reconcile). */
  forget(key: string): void {
    this.limiter.forget(key);
  }

  numRequeues(key: string): number {
    return this.limiter.failures(key);
  }

  /** Keys waiting to be handed out: the workqueue depth metric. */
  get depth(): number {
    return this.queue.length;
  }

  get isShuttingDown(): boolean {
    return this.shuttingDown;
  }

  shutDown(): void {
    if (this.shuttingDown) return;
    this.shuttingDown = true;
    for (const { timer } of this.delayed.values()) timer.cancel();
    this.delayed.clear();
    this.queue.length = 0;
    this.dirty.clear();
    for (const resolve of this.waiters.splice(0)) resolve(undefined);
    if (this.processing.size === 0) for (const resolve of this.drainWaiters.splice(0)) resolve();
  }

  /** Shuts down and resolves when every key handed out has been done(). */
  drain(): Promise<void> {
    this.shutDown();
    if (this.processing.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.drainWaiters.push(resolve));
  }
}
