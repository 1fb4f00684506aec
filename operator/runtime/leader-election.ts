/**
 * Lease-based leader election on coordination.k8s.io/v1, with client-go's leaderelection
 * semantics:
 * - a candidate may take the Lease when it is missing, has no holder, or has not changed
 *   for leaseDurationSeconds *as measured on this replica's clock since it last saw the
 *   record change*. The holder's renewTime is another machine's clock and is never compared
 *   with ours, so clock skew between replicas cannot make two of them lead at once;
 * - the leader renews every retryPeriod; if no renew succeeds for renewDeadline it has lost
 *   the lease and onStoppedLeading runs (the operator then exits non-zero, as
 *   controller-runtime does, so a restart begins from a clean state). renewDeadline is
 *   shorter than leaseDuration, so a leader cut off from the API server steps down before
 *   any standby's local view of the lease expires;
 * - every write carries the resourceVersion read, so two candidates cannot both win;
 * - leaseTransitions counts acquisitions by a replica that was not the holder;
 * - stop() releases a held lease (empty holder), so a standby takes over at its next retry.
 */
import type { Logger } from '../observability/logger.js';
import { errorMessage, isAlreadyExists, isConflict } from './api-errors.js';
import type { LeaseApi, LeaseRecord } from './api-types.js';
import { sleep, systemClock, type Clock } from './clock.js';

export interface LeaderElectionOptions {
  api: LeaseApi;
  namespace: string;
  name: string;
  identity: string;
  leaseDurationMs?: number;
  renewDeadlineMs?: number;
  retryPeriodMs?: number;
  logger: Logger;
  clock?: Clock;
  onStartedLeading: () => void;
  onStoppedLeading: () => void;
}

export const DEFAULT_LEASE_DURATION_MS = 15_000;
export const DEFAULT_RENEW_DEADLINE_MS = 10_000;
export const DEFAULT_RETRY_PERIOD_MS = 2_000;

/** The lease's record without its resourceVersion: what changes when its holder writes it. */
function recordText(lease: LeaseRecord): string {
  return JSON.stringify([
    lease.holderIdentity ?? '',
    lease.leaseDurationSeconds ?? null,
    lease.acquireTime?.getTime() ?? null,
    lease.renewTime?.getTime() ?? null,
    lease.leaseTransitions ?? null,
  ]);
}

/**
 * What one replica has seen of the Lease, and when by its own clock (client-go's
 * observedRecord and observedTime). Pure: time is passed in.
 */
export class LeaseObservation {
  private text: string | undefined;
  private record: LeaseRecord | undefined;
  private observedAtMs = Number.NEGATIVE_INFINITY;

  /** Records `lease` as read at `nowMs`; the clock restarts only when the record differs from the last one seen. */
  observe(lease: LeaseRecord, nowMs: number): void {
    const text = recordText(lease);
    if (text !== this.text) {
      this.text = text;
      this.observedAtMs = nowMs;
    }
    this.record = lease;
  }

  get holder(): string {
    return this.record?.holderIdentity ?? '';
  }

  /** The holder's claim still stands: the record changed less than leaseDurationSeconds ago on our clock. */
  isValid(nowMs: number): boolean {
    const seconds = this.record?.leaseDurationSeconds;
    if (seconds === undefined) return false;
    return this.observedAtMs + seconds * 1000 > nowMs;
  }
}

function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no answer within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

export class LeaderElector {
  private readonly abort = new AbortController();
  private readonly clock: Clock;
  private readonly leaseDurationMs: number;
  private readonly renewDeadlineMs: number;
  private readonly retryPeriodMs: number;
  private readonly observed = new LeaseObservation();
  private leading = false;
  private running: Promise<void> | undefined;

  constructor(private readonly opts: LeaderElectionOptions) {
    this.clock = opts.clock ?? systemClock;
    this.leaseDurationMs = opts.leaseDurationMs ?? DEFAULT_LEASE_DURATION_MS;
    this.renewDeadlineMs = opts.renewDeadlineMs ?? DEFAULT_RENEW_DEADLINE_MS;
    this.retryPeriodMs = opts.retryPeriodMs ?? DEFAULT_RETRY_PERIOD_MS;
    if (!(this.leaseDurationMs > this.renewDeadlineMs && this.renewDeadlineMs > this.retryPeriodMs)) {
      throw new Error(`leader election ${opts.namespace}/${opts.name}: need lease duration > renew deadline > retry period, got ${this.leaseDurationMs} ms, ${this.renewDeadlineMs} ms, ${this.retryPeriodMs} ms`);
    }
  }

  get isLeader(): boolean {
    return this.leading;
  }

  /** Campaigns, then renews while leading. Resolves after stop() or a lost lease. */
  run(): Promise<void> {
    this.running ??= this.campaign();
    return this.running;
  }

  private get where(): string {
    return `Lease ${this.opts.namespace}/${this.opts.name}`;
  }

  private async campaign(): Promise<void> {
    const signal = this.abort.signal;
    while (!signal.aborted && !(await this.tryAcquireOrRenew())) await sleep(this.clock, this.retryPeriodMs, signal);
    if (signal.aborted) return;
    this.leading = true;
    this.opts.logger.info('became leader', { lease: this.where, identity: this.opts.identity });
    this.opts.onStartedLeading();
    let lastRenew = this.clock.now();
    while (!signal.aborted) {
      await sleep(this.clock, this.retryPeriodMs, signal);
      if (signal.aborted) return;
      if (await this.tryAcquireOrRenew()) {
        lastRenew = this.clock.now();
        continue;
      }
      if (this.clock.now() - lastRenew >= this.renewDeadlineMs) {
        this.leading = false;
        this.opts.logger.error('lost leadership: could not renew the lease within the renew deadline', { lease: this.where, renewDeadlineMs: this.renewDeadlineMs });
        this.opts.onStoppedLeading();
        return;
      }
    }
  }

  private async tryAcquireOrRenew(): Promise<boolean> {
    const { api, namespace, name, identity } = this.opts;
    const timeoutMs = Math.max(this.retryPeriodMs, 1000);
    const durationSeconds = Math.max(1, Math.ceil(this.leaseDurationMs / 1000));
    try {
      const lease = await withTimeout(api.getLease(namespace, name), timeoutMs, `get ${this.where}`);
      const now = new Date(this.clock.now());
      if (lease === undefined) {
        const created = await withTimeout(
          api.createLease({ namespace, name, holderIdentity: identity, leaseDurationSeconds: durationSeconds, acquireTime: now, renewTime: now, leaseTransitions: 0 }),
          timeoutMs,
          `create ${this.where}`,
        );
        this.observed.observe(created, this.clock.now());
        return true;
      }
      this.observed.observe(lease, now.getTime());
      const holder = this.observed.holder;
      const mine = holder === identity;
      if (!mine && holder !== '' && this.observed.isValid(now.getTime())) return false;
      // renewTime and acquireTime are written for people reading the Lease; no replica decides on them.
      const updated = await withTimeout(
        api.updateLease({
          ...lease,
          holderIdentity: identity,
          leaseDurationSeconds: durationSeconds,
          renewTime: now,
          acquireTime: mine ? (lease.acquireTime ?? now) : now,
          leaseTransitions: (lease.leaseTransitions ?? 0) + (mine ? 0 : 1),
        }),
        timeoutMs,
        `update ${this.where}`,
      );
      this.observed.observe(updated, this.clock.now());
      if (!mine && holder !== '') this.opts.logger.info('took over a lease its holder stopped renewing', { lease: this.where, previousHolder: holder });
      return true;
    } catch (err) {
      // Someone else wrote first: not an error, just not us this round.
      if (!isConflict(err) && !isAlreadyExists(err)) this.opts.logger.warn('leader election: lease request failed', { lease: this.where, err: errorMessage(err) });
      return false;
    }
  }

  /** Stops campaigning or renewing; a held lease is released so a standby takes over at once. */
  async stop(): Promise<void> {
    this.abort.abort();
    await this.running;
    if (!this.leading) return;
    this.leading = false;
    const { api, namespace, name, identity } = this.opts;
    try {
      const lease = await withTimeout(api.getLease(namespace, name), 2000, `get ${this.where}`);
      if (lease?.holderIdentity !== identity) return;
      const now = new Date(this.clock.now());
      await withTimeout(api.updateLease({ ...lease, holderIdentity: '', leaseDurationSeconds: 1, renewTime: now }), 2000, `release ${this.where}`);
      this.opts.logger.info('released the leader lease', { lease: this.where });
    } catch (err) {
      this.opts.logger.warn('could not release the leader lease; a standby takes over when it expires', { lease: this.where, err: errorMessage(err) });
    }
  }
}
