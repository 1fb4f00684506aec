/**
 * Runs a producer up to `depth` items ahead of its consumer.
 * For a synchronous source, each item is made in its own macrotask (setImmediate),
 * so production fills the time the consumer spends awaiting (device sync, I/O)
 * without ever blocking a pending callback for more than one item.
 */
import { UsageError } from '../../util/errors.js';

export function prefetch<T>(source: AsyncIterable<T> | Iterable<T>, depth: number): AsyncGenerator<T> {
  // Checked here, not in the generator, so a bad depth fails at the call.
  if (!(Number.isInteger(depth) && depth >= 0)) throw new UsageError(`prefetch depth must be a non-negative integer, got ${depth}`);
  return ahead(source, depth);
}

async function* ahead<T>(source: AsyncIterable<T> | Iterable<T>, depth: number): AsyncGenerator<T> {
  const it = Symbol.asyncIterator in source ? source[Symbol.asyncIterator]() : deferred(source[Symbol.iterator]());
  if (depth === 0) {
    try {
      for (;;) {
        const r = await it.next();
        if (r.done) return;
        yield r.value;
      }
    } finally {
      await it.return?.();
    }
  }
  const queue: Promise<IteratorResult<T>>[] = [];
  let exhausted = false;
  const fill = (): void => {
    while (!exhausted && queue.length < depth) {
      const p = it.next();
      // Failures are rethrown when the item is awaited; this only stops Node from
      // reporting a rejection that is merely not awaited yet.
      p.catch(() => undefined);
      queue.push(p);
      p.then((r) => {
        if (r.done) exhausted = true;
      }, () => {
        exhausted = true;
      });
    }
  };
  let finished = false;
  try {
    fill();
    for (;;) {
      const next = queue.shift();
      if (next === undefined) break;
      const r = await next;
      if (r.done) {
        finished = true;
        return;
      }
      fill();
      yield r.value;
    }
    finished = true;
  } finally {
    // Stop the producer when the consumer leaves early.
    if (!finished) await it.return?.();
  }
}

/** An async view of a sync iterator whose `next` runs in a later macrotask. */
function deferred<T>(it: Iterator<T>): AsyncIterator<T> {
  return {
    next: () =>
      new Promise<IteratorResult<T>>((resolve, reject) => {
        setImmediate(() => {
          try {
            resolve(it.next());
          } catch (err) {
            reject(err);
          }
        });
      }),
    return: async () => it.return?.() ?? { done: true, value: undefined },
  };
}
