/**
 * Iterates `iterable` with the next step always in flight, so that the producer's I/O
 * (a file read on the libuv pool, an S3 body) overlaps the consumer's parsing instead of
 * alternating with it. Holds at most one item beyond the one being consumed.
 */
export async function* prefetch<T>(iterable: AsyncIterable<T>): AsyncGenerator<T> {
  const it = iterable[Symbol.asyncIterator]();
  let pending = it.next();
  // Marks the in-flight step as handled: it may reject while the consumer is busy, and the
  // rejection is still delivered when it is awaited below.
  pending.catch(() => undefined);
  let finished = false;
  try {
    for (;;) {
      const step = await pending;
      if (step.done) {
        finished = true;
        return;
      }
      pending = it.next();
      pending.catch(() => undefined);
      yield step.value;
    }
  } finally {
    if (!finished) await it.return?.();
  }
}
