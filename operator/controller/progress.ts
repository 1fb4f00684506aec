/**
 * Trainer progress for status.progress. Rank 0 of every job serves GET /progress (JSON)
 * on the job's metrics port; the operator polls it for running jobs, at most once per
 * interval per job, with a short timeout, and keeps the last good report per job attempt.
 *
 * current() never waits on the network: it returns the cached report and, when one is
 * due, starts a fetch in the background; a fetch that brings a new report calls
 * onUpdate(key) so the job is reconciled again and the report reaches its status.
 * A failed fetch is logged at debug level and never affects the job.
 */
import type { TrainingProgress } from '../api/types.js';
import type { Logger } from '../observability/logger.js';
import { errorMessage } from '../runtime/api-errors.js';
import { PROGRESS_PATH } from '../../contract/progress.js';

export interface ProgressTarget {
  /** namespace/name of the job. */
  key: string;
  /** Job uid: a recreated job with the same name starts afresh. */
  uid: string;
  /** status.restarts: a report from an earlier attempt is not reused after a restart. */
  attempt: number;
  /** Rank 0's pod IP. */
  podIP: string;
  port: number;
}

export interface ProgressSource {
  current(target: ProgressTarget): TrainingProgress | undefined;
  /** Drops what is cached for a job that is gone. */
  forget(key: string): void;
}

export type FetchJson = (url: string, timeoutMs: number) => Promise<unknown>;

export const fetchJson: FetchJson = async (url, timeoutMs) => {
  const response = await fetch(url, { signal: AbortSignal.timeout(timeoutMs), headers: { accept: 'application/json' } });
  if (!response.ok) throw new Error(`GET ${url}: HTTP ${response.status}`);
  return (await response.json()) as unknown;
};

const NUMBER_FIELDS = ['epoch', 'totalEpochs', 'step', 'stepsPerEpoch', 'trainAccuracy', 'validationAccuracy', 'trainLoss', 'validationLoss', 'imagesPerSecond'] as const;
const STRING_FIELDS = ['lastCheckpoint', 'updatedAt'] as const;
const INTEGER_FIELDS = new Set<string>(['epoch', 'totalEpochs', 'step', 'stepsPerEpoch']);

/** The known fields of a /progress body with the right types; anything else is dropped. */
export function parseProgress(body: unknown, source: string): TrainingProgress {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new Error(`${source}: expected a JSON object`);
  const fields = body as Record<string, unknown>;
  const progress: TrainingProgress = {};
  for (const name of NUMBER_FIELDS) {
    const value = fields[name];
    if (typeof value !== 'number' || !Number.isFinite(value)) continue;
    // The CRD declares these as integers; a fractional value would be rejected with the whole status.
    if (INTEGER_FIELDS.has(name) && !Number.isInteger(value)) continue;
    progress[name] = value;
  }
  for (const name of STRING_FIELDS) {
    const value = fields[name];
    if (typeof value === 'string') progress[name] = value;
  }
  if (Object.keys(progress).length === 0) throw new Error(`${source}: no progress fields in the response`);
  return progress;
}

interface Entry {
  uid: string;
  attempt: number;
  value?: TrainingProgress;
  lastFetchAt: number;
  inFlight: boolean;
}

export interface HttpProgressSourceOptions {
  intervalMs: number;
  timeoutMs?: number;
  logger: Logger;
  onUpdate: (key: string) => void;
  fetch?: FetchJson;
  now?: () => number;
}

export class HttpProgressSource implements ProgressSource {
  private readonly entries = new Map<string, Entry>();
  private readonly fetch: FetchJson;
  private readonly now: () => number;

  constructor(private readonly opts: HttpProgressSourceOptions) {
    this.fetch = opts.fetch ?? fetchJson;
    this.now = opts.now ?? (() => Date.now());
  }

  current(target: ProgressTarget): TrainingProgress | undefined {
    let entry = this.entries.get(target.key);
    if (entry === undefined || entry.uid !== target.uid || entry.attempt !== target.attempt) {
      entry = { uid: target.uid, attempt: target.attempt, lastFetchAt: Number.NEGATIVE_INFINITY, inFlight: false };
      this.entries.set(target.key, entry);
    }
    if (!entry.inFlight && this.now() - entry.lastFetchAt >= this.opts.intervalMs) void this.refresh(target, entry);
    return entry.value;
  }

  forget(key: string): void {
    this.entries.delete(key);
  }

  private async refresh(target: ProgressTarget, entry: Entry): Promise<void> {
    entry.inFlight = true;
    entry.lastFetchAt = this.now();
    const host = target.podIP.includes(':') ? `[${target.podIP}]` : target.podIP;
    const url = `http://${host}:${target.port}${PROGRESS_PATH}`;
    try {
      const progress = parseProgress(await this.fetch(url, this.opts.timeoutMs ?? 2000), url);
      // The job may have restarted or been replaced while we waited.
      if (this.entries.get(target.key) !== entry) return;
      const changed = JSON.stringify(progress) !== JSON.stringify(entry.value);
      entry.value = progress;
      if (changed) this.opts.onUpdate(target.key);
    } catch (err) {
      this.opts.logger.debug('progress fetch failed', { job: target.key, url, err: errorMessage(err) });
    } finally {
      entry.inFlight = false;
    }
  }
}

/**
 * The final progress a trainer left in its termination message when it finished
 * (`{"progress": {...}}`), or undefined. Rank 0 exits right after its last epoch, so the
 * last /progress poll can miss the end; the termination message does not.
 */
export function progressFromTerminationMessage(message: string | undefined, source: string): TrainingProgress | undefined {
  if (message === undefined || !message.trimStart().startsWith('{')) return undefined;
  try {
    const parsed = JSON.parse(message) as { progress?: unknown };
    return parsed.progress === undefined ? undefined : parseProgress(parsed.progress, source);
  } catch {
    return undefined;
  }
}
