/** Small promise helpers for bounded waits. */

export interface Deferred<T> {
  promise: Promise<T>;
  resolve: (v: T) => void;
  reject: (err: Error) => void;
  settled: () => boolean;
}

export function deferred<T>(): Deferred<T> {
  let done = false;
  let res!: (v: T) => void;
  let rej!: (err: Error) => void;
  const promise = new Promise<T>((resolve, reject) => {
    res = resolve;
    rej = reject;
  });
  return {
    promise,
    resolve: (v) => {
      if (!done) {
        done = true;
        res(v);
      }
    },
    reject: (err) => {
      if (!done) {
        done = true;
        rej(err);
      }
    },
    settled: () => done,
  };
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)));
}

/** Exponential backoff with a cap, for retries against peers that may not be up yet. */
export function backoffMs(attempt: number, baseMs = 100, capMs = 2000): number {
  return Math.min(capMs, baseMs * 2 ** Math.min(attempt, 16));
}
