/**
 * Lease-based leader election on coordination.k8s.io/v1, as client-go's leaderelection:
 * - acquire when the Lease is missing, has no holder, or has expired
 *   (renewTime + leaseDurationSeconds < now; this assumes the replicas' clocks roughly agree);
 * - the leader renews every retryPeriod; if no renew succeeds for renewDeadline it has lost
 *   the lease and onStoppedLeading runs (the operator then exits non-zero, as
 *   controller-runtime does, so a restart begins from a clean state);
 * - every write carries the resourceVersion read, so two candidates cannot both win;
 * - leaseTransitions counts changes of holder;
 * - stop() releases a held lease (empty holder), so a standby takes over at its next retry.
 */
import type { Logger } from '../observability/logger.js';
import { errorMessage, isAlreadyExists, isConflict } from './api-errors.js';
import type { LeaseApi, LeaseRecord } from './cluster-api.js';
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

export function leaseExpired(lease: LeaseRecord, nowMs: number): boolean {
  if (lease.renewTime === undefined || lease.leaseDurationSeconds === undefined) return true;
  return lease.renewTime.getTime() + lease.leaseDurationSeconds * 1000 < nowMs;
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
    const now = new Date(this.clock.now());
    const durationSeconds = Math.max(1, Math.ceil(this.leaseDurationMs / 1000));
    try {
      const lease = await withTimeout(api.getLease(namespace, name), timeoutMs, `get ${this.where}`);
      if (lease === undefined) {
        await withTimeout(
          api.createLease({ namespace, name, holderIdentity: identity, leaseDurationSeconds: durationSeconds, acquireTime: now, renewTime: now, leaseTransitions: 0 }),
          timeoutMs,
          `create ${this.where}`,
        );
        return true;
      }
      const holder = lease.holderIdentity ?? '';
      if (holder !== identity && holder !== '' && !leaseExpired(lease, now.getTime())) return false;
      const takeover = holder !== identity;
      await withTimeout(
        api.updateLease({
          ...lease,
          holderIdentity: identity,
          leaseDurationSeconds: durationSeconds,
          renewTime: now,
          acquireTime: takeover ? now : (lease.acquireTime ?? now),
          leaseTransitions: (lease.leaseTransitions ?? 0) + (takeover && holder !== '' ? 1 : 0),
        }),
        timeoutMs,
        `update ${this.where}`,
      );
      if (takeover && holder !== '') this.opts.logger.info('took over an expired lease', { lease: this.where, previousHolder: holder });
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
