/**
 * Worker loops: take a key, reconcile it, and requeue as the outcome says: after
 * requeueAfter on success, with per-key backoff on error (a 409 counts as a conflict,
 * not an error). A key is never reconciled by two workers at once (the queue ensures it).
 */
import type { Logger } from '../observability/logger.js';
import type { OperatorMetrics, ReconcileResult } from '../observability/metrics.js';
import { errorMessage } from './api-errors.js';
import { ConflictError } from './api-errors.js';
import type { WorkQueue } from './workqueue.js';

export interface ReconcileOutcome {
  /** Look at the object again after this long even if nothing changes (deadlines, TTL, progress). */
  requeueAfterMs?: number;
}

export interface WorkerOptions {
  queue: WorkQueue;
  reconcile: (key: string) => Promise<ReconcileOutcome>;
  logger: Logger;
  metrics?: OperatorMetrics;
}

async function processOne(opts: WorkerOptions, key: string): Promise<void> {
  const { queue, logger, metrics } = opts;
  const endTimer = metrics?.reconcileDuration.startTimer();
  let result: ReconcileResult;
  try {
    const outcome = await opts.reconcile(key);
    queue.forget(key);
    if (outcome.requeueAfterMs !== undefined) {
      queue.addAfter(key, outcome.requeueAfterMs);
      result = 'requeue';
    } else {
      result = 'success';
    }
  } catch (err) {
    queue.addRateLimited(key);
    if (err instanceof ConflictError) {
      result = 'conflict';
      logger.debug('reconcile conflict; retrying', { key, err: err.message });
    } else {
      result = 'error';
      metrics?.reconcileErrors.inc();
      logger.error('reconcile failed; retrying with backoff', { key, err: errorMessage(err), retries: queue.numRequeues(key) });
    }
  } finally {
    endTimer?.();
    queue.done(key);
  }
  metrics?.reconcileTotal.inc({ result });
}

/** Runs `count` workers until the queue shuts down; resolves when all have returned. */
export async function runWorkers(opts: WorkerOptions, count: number): Promise<void> {
  const worker = async (): Promise<void> => {
    for (;;) {
      const key = await opts.queue.get();
      if (key === undefined) return;
      await processOne(opts, key);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, count) }, () => worker()));
}
