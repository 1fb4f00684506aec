export interface InOrderOptions<T> {
  /** Where the item belongs: 0 .. total-1, or undefined for items to drop. */
  position(item: T): number | undefined;
  total: number;
  /** The error when the stream ends before the item at `position` arrived. */
  missing(position: number): Error;
  /** The error when a second item claims a position. */
  duplicate(item: T): Error;
}

/**
 * Yields items by position 0, 1, 2, ... whatever order they arrive in, keeping only the
 * ones that arrive early. An archive written in the wanted order needs no buffering.
 */
export async function* inOrder<T>(items: AsyncIterable<T>, opts: InOrderOptions<T>): AsyncGenerator<T> {
  const early = new Map<number, T>();
  let next = 0;
  for await (const item of items) {
    const position = opts.position(item);
    if (position === undefined) continue;
    if (position < next || early.has(position)) throw opts.duplicate(item);
    if (position !== next) {
      early.set(position, item);
      continue;
    }
    yield item;
    next++;
    for (let queued = early.get(next); queued !== undefined; queued = early.get(next)) {
      early.delete(next);
      yield queued;
      next++;
    }
  }
  if (next < opts.total) throw opts.missing(next);
}
