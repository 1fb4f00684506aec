/**
 * A short digest of the model's parameters (names, shapes, order) that every rank
 * reports at rendezvous, so ranks launched with different models fail at once with a
 * clear error instead of averaging unrelated numbers.
 */
import { createHash } from 'node:crypto';

export interface ParamSpec {
  name: string;
  shape: readonly number[];
}

export function modelFingerprint(params: readonly ParamSpec[]): string {
  const h = createHash('sha256');
  for (const p of params) h.update(`${p.name}:${p.shape.join('x')}\n`);
  return `sha256:${h.digest('hex').slice(0, 32)}`;
}
