/**
 * Makes the next `depth` batches while the trainer works on the current one.
 * Worker mode: worker threads read the cache from a SharedArrayBuffer (passed once)
 * and transfer each finished batch back. Inline mode (workers: 0, or when a worker
 * cannot start): the same batches made on the main thread between the trainer's
 * awaits. Both call the same batch code, so their output is bit-identical.
 */
import { Worker } from 'node:worker_threads';
import { errorMessage, UsageError } from '../../util/errors.js';
import { checkCropSpec } from './augment.js';
import { batchCount, batchesForEpoch, checkEpochOptions, type EpochBatch, type EpochOptions } from './batches.js';
import { isWorkerReply, type BatchRequest, type WorkerInit } from './batch-protocol.js';
import { sharedCache, type ImageCache } from './image-cache.js';
import { normalizationTable } from './normalize.js';
import { prefetch } from './prefetch.js';

export interface ProducerOptions {
  /** Batches made ahead of the consumer. */
  depth: number;
  /** Worker threads; 0 means inline. Default 1. */
  workers?: number;
  /** How long a worker may take to load before falling back to inline. Default 20 s. */
  startTimeoutMs?: number;
}

export class BatchProducer {
  private closed = false;

  private constructor(
    private readonly cache: ImageCache,
    private readonly depth: number,
    private readonly pool: WorkerHandle[],
    /** Why worker mode was not used, if it was asked for. */
    readonly fallbackReason: string | undefined,
  ) {}

  get mode(): 'worker' | 'inline' {
    return this.pool.length > 0 ? 'worker' : 'inline';
  }

  static async create(cache: ImageCache, opts: ProducerOptions): Promise<BatchProducer> {
    const workers = opts.workers ?? 1;
    if (!(Number.isInteger(opts.depth) && opts.depth >= 1)) throw new UsageError(`prefetch depth must be a positive integer, got ${opts.depth}`);
    if (!(Number.isInteger(workers) && workers >= 0)) throw new UsageError(`prefetch workers must be a non-negative integer, got ${workers}`);
    if (workers === 0) return new BatchProducer(cache, opts.depth, [], undefined);
    const shared = sharedCache(cache);
    const init: WorkerInit = { count: shared.count, height: shared.height, width: shared.width, pixels: shared.pixels, labels: shared.labels };
    const started = await Promise.allSettled(
      Array.from({ length: workers }, () => WorkerHandle.start(init, opts.startTimeoutMs ?? 20_000)),
    );
    const pool = started.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []));
    const failure = started.find((s): s is PromiseRejectedResult => s.status === 'rejected');
    if (failure !== undefined) {
      await Promise.all(pool.map((w) => w.close()));
      return new BatchProducer(cache, opts.depth, [], `batch worker did not start: ${errorMessage(failure.reason)}`);
    }
    return new BatchProducer(shared, opts.depth, pool, undefined);
  }

  /** The batches of one epoch in order, from `opts.startBatch`. */
  epoch(opts: EpochOptions): AsyncGenerator<EpochBatch> {
    if (this.closed) throw new UsageError('batch producer is closed');
    if (this.pool.length === 0) return prefetch(batchesForEpoch(this.cache, opts), this.depth);
    // Validate here so that bad options fail at the call, not inside a worker.
    checkEpochOptions(opts);
    checkCropSpec(opts, this.cache.height, this.cache.width);
    normalizationTable(opts.mean, opts.std);
    return this.fromWorkers(opts);
  }

  /** Stops the workers; safe to call more than once. */
  async close(): Promise<void> {
    this.closed = true;
    await Promise.all(this.pool.map((w) => w.close()));
  }

  private async *fromWorkers(opts: EpochOptions): AsyncGenerator<EpochBatch> {
    const total = batchCount(this.cache.count, opts.batchSize, opts.dropLast);
    const epoch: EpochOptions = { ...opts };
    const pending: Promise<EpochBatch>[] = [];
    let next = opts.startBatch ?? 0;
    const fill = (): void => {
      while (next < total && pending.length < this.depth) {
        const worker = this.pool[next % this.pool.length];
        const p = worker.request(epoch, next);
        p.catch(() => undefined); // rethrown when awaited in order
        pending.push(p);
        next++;
      }
    };
    fill();
    for (;;) {
      const p = pending.shift();
      if (p === undefined) return;
      const batch = await p;
      fill();
      yield batch;
    }
  }
}

/** One worker thread and the requests waiting on it. */
class WorkerHandle {
  private nextId = 1;
  private readonly waiting = new Map<number, { resolve: (b: EpochBatch) => void; reject: (e: Error) => void }>();
  private dead: Error | undefined;

  private constructor(private readonly worker: Worker) {
    worker.on('message', (msg: unknown) => this.onMessage(msg));
    worker.on('error', (err) => this.fail(new Error(`batch worker failed: ${errorMessage(err)}`)));
    worker.on('exit', (code) => this.fail(new Error(`batch worker exited with code ${code}`)));
  }

  static start(init: WorkerInit, timeoutMs: number): Promise<WorkerHandle> {
    return new Promise((resolve, reject) => {
      let worker: Worker;
      try {
        worker = spawnBatchWorker(init);
      } catch (err) {
        reject(err);
        return;
      }
      const timer = setTimeout(() => {
        cleanup();
        void worker.terminate();
        reject(new Error(`no ready message within ${timeoutMs} ms`));
      }, timeoutMs);
      const onMessage = (msg: unknown): void => {
        if (!isWorkerReply(msg) || msg.kind !== 'ready') return;
        cleanup();
        const handle = new WorkerHandle(worker);
        // An idle worker must not keep the process alive; `request` refs it while busy.
        worker.unref();
        resolve(handle);
      };
      const onError = (err: Error): void => {
        cleanup();
        void worker.terminate();
        reject(err);
      };
      const onExit = (code: number): void => {
        cleanup();
        reject(new Error(`exited with code ${code} while loading`));
      };
      const cleanup = (): void => {
        clearTimeout(timer);
        worker.off('message', onMessage);
        worker.off('error', onError);
        worker.off('exit', onExit);
      };
      worker.on('message', onMessage);
      worker.on('error', onError);
      worker.on('exit', onExit);
    });
  }

  request(epoch: EpochOptions, batch: number): Promise<EpochBatch> {
    if (this.dead) return Promise.reject(this.dead);
    const id = this.nextId++;
    const msg: BatchRequest = { id, epoch, batch };
    if (this.waiting.size === 0) this.worker.ref();
    return new Promise((resolve, reject) => {
      this.waiting.set(id, { resolve, reject });
      this.worker.postMessage(msg);
    });
  }

  async close(): Promise<void> {
    this.fail(new Error('batch producer closed'));
    await this.worker.terminate();
  }

  private onMessage(msg: unknown): void {
    if (!isWorkerReply(msg) || msg.kind === 'ready') return;
    const waiter = this.waiting.get(msg.id);
    if (!waiter) return;
    this.waiting.delete(msg.id);
    if (this.waiting.size === 0) this.worker.unref();
    if (msg.kind === 'error') waiter.reject(new Error(msg.message));
    else waiter.resolve({ x: msg.x, y: msg.y, size: msg.size, epoch: msg.epoch, index: msg.index });
  }

  private fail(err: Error): void {
    this.dead ??= err;
    for (const w of this.waiting.values()) w.reject(err);
    this.waiting.clear();
  }
}

/**
 * Starts the worker file next to this module. Compiled (dist/*.js) it is loaded
 * directly; from TypeScript sources (tsx, tap) a tiny bootstrap registers tsx's
 * loader in the worker first, since a worker does not inherit a loader reliably.
 */
function spawnBatchWorker(init: WorkerInit): Worker {
  const here = import.meta.url;
  if (!here.endsWith('.ts')) return new Worker(new URL('./batch-worker.js', here), { workerData: init });
  const workerUrl = new URL('./batch-worker.ts', here).href;
  const tsxApi = import.meta.resolve('tsx/esm/api');
  const bootstrap =
    `import(${JSON.stringify(tsxApi)})` +
    `.then((m) => { m.register(); return import(${JSON.stringify(workerUrl)}); })`;
  return new Worker(bootstrap, { eval: true, workerData: init, execArgv: [] });
}
