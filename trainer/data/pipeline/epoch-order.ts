/**
 * The order in which an epoch visits the examples: a fresh permutation each epoch,
 * the same one on every run with the same seed, so a resumed run sees what an
 * uninterrupted one would have.
 */
import { UsageError } from '../../util/errors.js';
import { Rng } from '../../util/rng.js';

export function epochOrder(count: number, seed: number, epoch: number, shuffle = true): Uint32Array {
  if (!(Number.isInteger(count) && count >= 0 && count <= 0xffffffff)) throw new UsageError(`example count must be a non-negative integer, got ${count}`);
  if (!(Number.isInteger(epoch) && epoch >= 0)) throw new UsageError(`epoch must be a non-negative integer, got ${epoch}`);
  const order = new Uint32Array(count);
  for (let i = 0; i < count; i++) order[i] = i;
  if (shuffle) Rng.derive(seed, epoch).shuffle(order);
  return order;
}
