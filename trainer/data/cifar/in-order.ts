import { DataFormatError } from '../../util/errors.js';
import { LIMIT_FLAGS, type InputLimits } from '../limits.js';

export interface InOrderOptions<T> {
  /** Where the item belongs: 0 .. total-1, or undefined for items to drop. */
  position(item: T): number | undefined;
  total: number;
  /** The error when the stream ends before the item at `position` arrived. */
  missing(position: number): Error;
  /** The error when a second item claims a position. */
  duplicate(item: T): Error;
  /** Bytes an item holds, for `maxHeldBytes`. */
  bytes?(item: T): number;
  /** Early items may hold at most this many bytes in all (default: no bound). */
  maxHeldBytes?: number;
  /** The error when they would hold more. */
  overHeld?(held: number, waitingFor: number): Error;
}

/**
 * Yields items by position 0, 1, 2, ... whatever order they arrive in, keeping only the
 * ones that arrive early. An archive written in the wanted order needs no buffering.
 */
export async function* inOrder<T>(items: AsyncIterable<T>, opts: InOrderOptions<T>): AsyncGenerator<T> {
  const early = new Map<number, T>();
  const size = opts.bytes ?? (() => 0);
  const maxHeld = opts.maxHeldBytes ?? Infinity;
  let held = 0;
  let next = 0;
  for await (const item of items) {
    const position = opts.position(item);
    if (position === undefined) continue;
    if (position < next || early.has(position)) throw opts.duplicate(item);
    if (position !== next) {
      // An archive far out of order would otherwise have all its members held at once.
      held += size(item);
      if (held > maxHeld) throw opts.overHeld?.(held, next) ?? new RangeError(`more than ${maxHeld} bytes arrived ahead of item ${next}`);
      early.set(position, item);
      continue;
    }
    yield item;
    next++;
    for (let queued = early.get(next); queued !== undefined; queued = early.get(next)) {
      early.delete(next);
      held -= size(queued);
      yield queued;
      next++;
    }
  }
  if (next < opts.total) throw opts.missing(next);
}

/**
 * The bound for members of `archive` read out of order: those that arrive early are held
 * until their turn, at most half of `limits.maxFileBytes` of them (the other half is for the
 * member being read), so an archive stored far from its listing order is an error, not
 * every member in memory at once.
 */
export function heldBound<T extends { bytes?: Buffer | undefined }>(
  archive: string,
  limits: InputLimits,
  nameOf: (position: number) => string,
): Pick<InOrderOptions<T>, 'bytes' | 'maxHeldBytes' | 'overHeld'> {
  return {
    bytes: (m) => m.bytes?.length ?? 0,
    maxHeldBytes: Math.floor(limits.maxFileBytes / 2),
    overHeld: (held, waitingFor) =>
      new DataFormatError(
        archive,
        undefined,
        `members are stored far from their sorted order: ${held} bytes arrived before ${nameOf(waitingFor)}, over the limit of ` +
          `${Math.floor(limits.maxFileBytes / 2)} bytes held (half of ${LIMIT_FLAGS.maxFileBytes}); extract the archive, or re-create it with its members sorted`,
      ),
  };
}
