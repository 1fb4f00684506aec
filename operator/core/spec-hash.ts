/**
 * A hash of everything in the spec that shapes a worker pod. runPolicy is left out:
 * changing the backoff limit or the deadline must not restart a running gang.
 */
import { createHash } from 'node:crypto';
import type { DefaultedSpec } from '../api/defaults.js';

/** JSON with object keys sorted, so equal specs hash equal however they were written. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

export function podSpecHash(spec: DefaultedSpec): string {
  const { runPolicy: _runPolicy, ...podShaping } = spec;
  return createHash('sha256').update(canonicalJson(podShaping)).digest('hex').slice(0, 16);
}
