/**
 * The CRD's `default:` values applied in TypeScript, so the operator computes the same
 * pods whether or not the API server defaulted the object (old objects, tests, dry runs).
 * The values come from the CRD through generated/cifartrainingjob.ts; this is the API
 * server's structural defaulting walk over them.
 */
import { SPEC_DEFAULTS, type CifarTrainingJobSpec, type DefaultedCifarTrainingJobSpec, type SchemaDefaults } from './types.js';

export type DefaultedSpec = DefaultedCifarTrainingJobSpec;

function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/**
 * Top-down, as apiextensions-apiserver's structural defaulting: a missing (or null) field
 * with a default gets a copy of it, then defaulting continues inside every present field,
 * including one just defaulted (which is how `default: {}` makes its children's defaults
 * apply). Objects on the way are copied; the input is not modified.
 */
export function applyDefaults(node: SchemaDefaults, value: unknown): unknown {
  const items = node.items;
  if (Array.isArray(value)) return items === undefined ? value : value.map((v: unknown) => applyDefaults(items, v));
  if (!isObject(value) || node.properties === undefined) return value;
  const out: Record<string, unknown> = { ...value };
  for (const [key, child] of Object.entries(node.properties)) {
    if (out[key] == null && child.default !== undefined) out[key] = structuredClone(child.default);
    if (out[key] != null) out[key] = applyDefaults(child, out[key]);
  }
  return out;
}

/** Returns a new spec with the CRD defaults applied; the input is not modified. */
export function withDefaults(spec: CifarTrainingJobSpec): DefaultedSpec {
  // Safe: SPEC_DEFAULTS holds every default DefaultedSpec makes required (both come from the CRD).
  return applyDefaults(SPEC_DEFAULTS, spec) as DefaultedSpec;
}
