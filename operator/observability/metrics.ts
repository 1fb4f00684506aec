/**
 * The operator's Prometheus metrics on their own registry (plus prom-client's default
 * process metrics), so tests and a second operator in one process never collide.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { CifarTrainingJob, CifarTrainingJobStatus, JobPhase } from '../api/types.js';

export type ReconcileResult = 'success' | 'requeue' | 'conflict' | 'error';

const PHASES: readonly JobPhase[] = ['Pending', 'Created', 'Running', 'Restarting', 'Succeeded', 'Failed', 'Suspended'];

export interface MetricSources {
  /** Keys waiting in the work queue. */
  queueDepth: () => number;
  /** Jobs in the informer cache. */
  jobs: () => Iterable<CifarTrainingJob>;
}

export class OperatorMetrics {
  readonly registry: Registry;
  readonly reconcileTotal: Counter<'result'>;
  readonly reconcileErrors: Counter;
  readonly reconcileDuration: Histogram;
  readonly jobsCreated: Counter;
  readonly jobsSucceeded: Counter;
  readonly jobsFailed: Counter;
  readonly restarts: Counter;
  readonly leader: Gauge;
  private sources: MetricSources = { queueDepth: () => 0, jobs: () => [] };

  constructor(opts: { defaultMetrics?: boolean } = {}) {
    const registry = (this.registry = new Registry());
    if (opts.defaultMetrics !== false) collectDefaultMetrics({ register: registry });
    this.reconcileTotal = new Counter({ name: 'cifar_operator_reconcile_total', help: 'Reconciles by result (success, requeue, conflict, error).', labelNames: ['result'], registers: [registry] });
    this.reconcileErrors = new Counter({ name: 'cifar_operator_reconcile_errors_total', help: 'Reconciles that failed with an error (conflicts excluded).', registers: [registry] });
    this.reconcileDuration = new Histogram({
      name: 'cifar_operator_reconcile_duration_seconds',
      help: 'Time to reconcile one job.',
      buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [registry],
    });
    const sources = (): MetricSources => this.sources;
    new Gauge({
      name: 'cifar_operator_workqueue_depth',
      help: 'Job keys waiting in the work queue.',
      registers: [registry],
      collect() {
        this.set(sources().queueDepth());
      },
    });
    new Gauge({
      name: 'cifar_operator_jobs',
      help: 'CifarTrainingJobs in the cache by status.phase (Unknown: not yet reconciled).',
      labelNames: ['phase'],
      registers: [registry],
      collect() {
        const counts = new Map<string, number>([...PHASES, 'Unknown'].map((p) => [p, 0]));
        for (const job of sources().jobs()) {
          const phase = job.status?.phase ?? 'Unknown';
          counts.set(phase, (counts.get(phase) ?? 0) + 1);
        }
        for (const [phase, n] of counts) this.set({ phase }, n);
      },
    });
    this.jobsCreated = new Counter({ name: 'cifar_operator_jobs_created_total', help: 'Jobs the operator accepted and started creating workers for.', registers: [registry] });
    this.jobsSucceeded = new Counter({ name: 'cifar_operator_jobs_succeeded_total', help: 'Jobs that reached Succeeded.', registers: [registry] });
    this.jobsFailed = new Counter({ name: 'cifar_operator_jobs_failed_total', help: 'Jobs that reached Failed.', registers: [registry] });
    this.restarts = new Counter({ name: 'cifar_operator_restarts_total', help: 'Gang restarts after retryable failures.', registers: [registry] });
    this.leader = new Gauge({ name: 'cifar_operator_leader', help: '1 while this replica holds the leader lease (or runs without election), else 0.', registers: [registry] });
  }

  bind(sources: MetricSources): void {
    this.sources = sources;
  }

  /**
   * Counts a job's lifecycle steps from a status write that succeeded. Counting transitions
   * of written status (not reconciles) counts each step once even when reconciles repeat.
   */
  observeStatusWrite(previous: CifarTrainingJobStatus | undefined, next: CifarTrainingJobStatus): void {
    const hadCreated = previous?.conditions?.some((c) => c.type === 'Created') ?? false;
    const hasCreated = next.conditions?.some((c) => c.type === 'Created') ?? false;
    if (!hadCreated && hasCreated) this.jobsCreated.inc();
    if (previous?.phase !== 'Succeeded' && next.phase === 'Succeeded') this.jobsSucceeded.inc();
    if (previous?.phase !== 'Failed' && next.phase === 'Failed') this.jobsFailed.inc();
    const more = (next.restarts ?? 0) - (previous?.restarts ?? 0);
    if (more > 0) this.restarts.inc(more);
  }
}
