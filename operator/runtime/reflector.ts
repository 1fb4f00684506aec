/**
 * Keeps one ObjectStore in step with the API server: list, then watch from the list's
 * resourceVersion, resuming from the last seen version when a stream ends; relist on
 * 410 Expired; back off exponentially (capped) after errors. Handlers see every change,
 * including those a relist discovers.
 *
 * A watch that stays silent longer than the server could keep it open (its timeoutSeconds
 * plus a margin) is a connection dropped without a FIN, e.g. by a NAT or a load balancer:
 * the reflector abandons it and relists, since events may have been lost with it.
 */
import type { Logger } from '../observability/logger.js';
import { errorMessage } from './api-errors.js';
import type { ListOptions, ListWatch, WatchEvent, WatchStream } from './api-types.js';
import { sleep, systemClock, type Clock, type Timer } from './clock.js';
import { objectKey, type KubeObject, type ObjectStore } from './object-store.js';

export interface ChangeHandler<T> {
  onAdd(obj: T): void;
  onUpdate(old: T, obj: T): void;
  onDelete(obj: T): void;
}

export interface ReflectorOptions<T extends KubeObject> {
  source: ListWatch<T>;
  /** The kind's name, for logs. */
  kind: string;
  list: ListOptions;
  store: ObjectStore<T>;
  handler: ChangeHandler<T>;
  logger: Logger;
  clock?: Clock;
  /** Server-side watch timeout; streams are renewed after it, as client-go does. Default 300. */
  watchTimeoutSeconds?: number;
  /** A stream with no event (bookmarks included) for this long is abandoned and the kind relisted. Default: watchTimeoutSeconds + 30 s. */
  watchIdleTimeoutMs?: number;
  backoffInitialMs?: number;
  backoffMaxMs?: number;
}

class WatchExpired extends Error {}

/** The stream went silent for longer than the server could have kept it open. */
class WatchIdle extends Error {}

export class Reflector<T extends KubeObject> {
  private readonly abort = new AbortController();
  private synced = false;
  private running: Promise<void> | undefined;
  private stream: WatchStream | undefined;
  private lastResourceVersion = '';

  constructor(private readonly opts: ReflectorOptions<T>) {}

  hasSynced(): boolean {
    return this.synced;
  }

  start(): void {
    this.running ??= this.run();
  }

  async stop(): Promise<void> {
    this.abort.abort();
    this.stream?.stop();
    await this.running;
  }

  private get stopped(): boolean {
    return this.abort.signal.aborted;
  }

  private async run(): Promise<void> {
    const clock = this.opts.clock ?? systemClock;
    const initial = this.opts.backoffInitialMs ?? 800;
    const max = this.opts.backoffMaxMs ?? 30_000;
    let failures = 0;
    while (!this.stopped) {
      try {
        await this.listAndWatch();
        failures = 0;
      } catch (err) {
        if (this.stopped) break;
        if (err instanceof WatchExpired) {
          this.opts.logger.info('watch expired; relisting', { kind: this.opts.kind, resourceVersion: this.lastResourceVersion });
          continue;
        }
        if (err instanceof WatchIdle) {
          this.opts.logger.warn('watch silent for too long; relisting', { kind: this.opts.kind, err: err.message });
          continue;
        }
        const delay = Math.min(max, initial * 2 ** failures);
        failures++;
        this.opts.logger.warn('list/watch failed; retrying', { kind: this.opts.kind, err: errorMessage(err), retryInMs: delay });
        await sleep(clock, delay, this.abort.signal);
      }
    }
  }

  private async listAndWatch(): Promise<void> {
    const { source, store, handler } = this.opts;
    const list = await source.list(this.opts.list);
    if (this.stopped) return;
    const delta = store.replace(list.items);
    for (const obj of delta.added) handler.onAdd(obj);
    for (const { old, obj } of delta.updated) handler.onUpdate(old, obj);
    for (const obj of delta.removed) handler.onDelete(obj);
    this.lastResourceVersion = list.resourceVersion;
    this.synced = true;
    while (!this.stopped) await this.watchOnce();
  }

  /** One watch stream, from the last seen resourceVersion to its end. */
  private async watchOnce(): Promise<void> {
    const { source } = this.opts;
    const clock = this.opts.clock ?? systemClock;
    const timeoutSeconds = this.opts.watchTimeoutSeconds ?? 300;
    const idleMs = this.opts.watchIdleTimeoutMs ?? (timeoutSeconds + 30) * 1000;
    let expired: WatchExpired | undefined;
    let failure: Error | undefined;
    let idle: WatchIdle | undefined;
    // Events can arrive before watch() resolves, so the callback reaches the stream through a holder.
    const holder: { stream?: WatchStream } = {};
    let idleTimer: Timer | undefined;
    const armIdleTimer = (): void => {
      idleTimer?.cancel();
      idleTimer = clock.schedule(() => {
        idle = new WatchIdle(`no event for ${Math.round(idleMs / 1000)} s (watch timeoutSeconds ${timeoutSeconds})`);
        holder.stream?.stop();
      }, idleMs);
    };
    armIdleTimer();
    try {
      const stream = await source.watch({ ...this.opts.list, resourceVersion: this.lastResourceVersion, timeoutSeconds }, (event) => {
        armIdleTimer();
        if (event.type === 'ERROR') {
          if (event.code === 410) expired = new WatchExpired(event.message);
          else failure = new Error(`watch ${this.opts.kind}: ${event.code} ${event.reason} ${event.message}`);
          holder.stream?.stop();
          return;
        }
        this.apply(event);
      });
      holder.stream = stream;
      this.stream = stream;
      // An ERROR, an idle timeout or stop() may have come before the stream object did.
      if (this.stopped || expired !== undefined || failure !== undefined || idle !== undefined) stream.stop();
      await stream.done;
    } finally {
      idleTimer?.cancel();
    }
    if (expired !== undefined) throw expired;
    if (failure !== undefined) throw failure;
    if (idle !== undefined) throw idle;
  }

  private apply(event: Exclude<WatchEvent<T>, { type: 'ERROR' }>): void {
    const { store, handler } = this.opts;
    if (event.type === 'BOOKMARK') {
      this.lastResourceVersion = event.resourceVersion;
      return;
    }
    const obj = event.object;
    const rv = obj.metadata.resourceVersion;
    if (rv !== undefined) this.lastResourceVersion = rv;
    if (event.type === 'DELETED') {
      const old = store.remove(objectKey(obj.metadata));
      handler.onDelete(old ?? obj);
      return;
    }
    const old = store.upsert(obj);
    if (old === undefined) handler.onAdd(obj);
    else handler.onUpdate(old, obj);
  }
}
