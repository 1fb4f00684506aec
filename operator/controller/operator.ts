/**
 * Wires the controller together, like controller-runtime's Manager: informers run on every
 * replica (a standby keeps warm caches, so failover is quick); workers run only on the
 * leader (or at once without election). stop() is graceful: no new keys, in-flight
 * reconciles finish, then the lease is released, then the watches close.
 */
import type { OperatorDefaults } from '../core/operator-defaults.js';
import type { Logger } from '../observability/logger.js';
import type { OperatorMetrics } from '../observability/metrics.js';
import type { ClusterApi } from './cluster-api.js';
import { EventRecorder } from '../runtime/event-recorder.js';
import { Informers } from './informers.js';
import { LeaderElector, type LeaderElectionOptions } from '../runtime/leader-election.js';
import { HttpProgressSource, type FetchJson } from './progress.js';
import { Reconciler } from './reconciler.js';
import { runWorkers } from '../runtime/workers.js';
import { WorkQueue } from '../runtime/workqueue.js';

/** Where and how the operator campaigns for leadership (the elector's own options, minus its wiring). */
export type LeaderElectionSettings = Pick<LeaderElectionOptions, 'namespace' | 'name' | 'identity' | 'leaseDurationMs' | 'renewDeadlineMs' | 'retryPeriodMs'>;

export interface OperatorOptions {
  api: ClusterApi;
  logger: Logger;
  metrics: OperatorMetrics;
  /** Watch one namespace; all when absent. */
  namespace?: string;
  /** Concurrent reconciles (different jobs only). */
  workers?: number;
  /** Poll rank 0's /progress at most this often per job; 0 turns polling off. */
  progressIntervalMs?: number;
  progressTimeoutMs?: number;
  progressFetch?: FetchJson;
  /** Absent: no election, this replica leads. */
  leaderElection?: LeaderElectionSettings;
  /** Called when the lease is lost; main exits non-zero. */
  onLostLeadership?: () => void;
  /** Every job is reconciled at least this often, whatever the watches say. */
  resyncPeriodMs?: number;
  watchTimeoutSeconds?: number;
  /** Names this replica in Events (reportingInstance). */
  instance: string;
  /** Trainer image and ServiceAccount for jobs that do not name their own. */
  defaults?: OperatorDefaults;
}

export class Operator {
  readonly queue = new WorkQueue();
  readonly informers: Informers;
  private readonly reconciler: Reconciler;
  private readonly elector: LeaderElector | undefined;
  private readonly abort = new AbortController();
  private workersDone: Promise<void> | undefined;
  private resyncTimer: NodeJS.Timeout | undefined;
  private started = false;

  constructor(private readonly opts: OperatorOptions) {
    const logger = opts.logger;
    this.informers = new Informers({
      api: opts.api,
      ...(opts.namespace === undefined ? {} : { namespace: opts.namespace }),
      logger,
      enqueue: (key) => this.queue.add(key),
      ...(opts.watchTimeoutSeconds === undefined ? {} : { watchTimeoutSeconds: opts.watchTimeoutSeconds }),
    });
    const intervalMs = opts.progressIntervalMs ?? 10_000;
    const progress =
      intervalMs > 0
        ? new HttpProgressSource({
            intervalMs,
            timeoutMs: opts.progressTimeoutMs ?? 2000,
            logger,
            onUpdate: (key) => this.queue.add(key),
            ...(opts.progressFetch === undefined ? {} : { fetch: opts.progressFetch }),
          })
        : undefined;
    this.reconciler = new Reconciler({
      api: opts.api,
      caches: this.informers.caches,
      events: new EventRecorder({ api: opts.api, logger, instance: opts.instance }),
      logger,
      metrics: opts.metrics,
      ...(progress === undefined ? {} : { progress, progressIntervalMs: intervalMs }),
      ...(opts.defaults === undefined ? {} : { defaults: opts.defaults }),
    });
    opts.metrics.bind({ queueDepth: () => this.queue.depth, jobs: () => this.informers.caches.jobs.list() });
    if (opts.leaderElection !== undefined) {
      this.elector = new LeaderElector({
        api: opts.api,
        ...opts.leaderElection,
        logger,
        onStartedLeading: () => this.startWorkers(),
        onStoppedLeading: () => {
          opts.metrics.leader.set(0);
          this.queue.shutDown();
          opts.onLostLeadership?.();
        },
      });
    }
  }

  /** Caches synced: what /readyz reports. */
  isReady(): boolean {
    return this.informers.hasSynced();
  }

  get isLeader(): boolean {
    return this.elector === undefined ? this.started : this.elector.isLeader;
  }

  start(): void {
    if (this.started) return;
    this.started = true;
    this.informers.start();
    const resync = this.opts.resyncPeriodMs ?? 300_000;
    if (resync > 0) {
      this.resyncTimer = setInterval(() => {
        for (const key of this.informers.caches.jobs.keys()) this.queue.add(key);
      }, resync);
      this.resyncTimer.unref();
    }
    if (this.elector === undefined) this.startWorkers();
    else void this.elector.run();
  }

  private startWorkers(): void {
    this.opts.metrics.leader.set(1);
    this.workersDone = (async () => {
      // Reconciling from a half-filled cache would recreate pods that exist.
      while (!(await this.informers.waitForSync(1000, this.abort.signal))) {
        if (this.abort.signal.aborted) return;
        this.opts.logger.info('waiting for informer caches to sync');
      }
      this.opts.logger.info('starting workers', { workers: this.opts.workers ?? 2 });
      await runWorkers({ queue: this.queue, reconcile: (key) => this.reconciler.reconcile(key), logger: this.opts.logger, metrics: this.opts.metrics }, this.opts.workers ?? 2);
    })();
  }

  /** Graceful: stop taking keys, finish in-flight reconciles, release the lease, close watches. */
  async stop(): Promise<void> {
    this.abort.abort();
    if (this.resyncTimer !== undefined) clearInterval(this.resyncTimer);
    await this.queue.drain();
    await this.workersDone;
    await this.elector?.stop();
    this.opts.metrics.leader.set(0);
    await this.informers.stop();
  }
}
