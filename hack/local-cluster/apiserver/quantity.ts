/**
 * Kubernetes resource quantities (`500m`, `2`, `1.5Gi`, `1e3`), as
 * k8s.io/apimachinery/pkg/api/resource parses them, reduced to what the scheduler needs:
 * a number, compared as milli-units for cpu and as whole units (rounded up) otherwise.
 */

const BINARY: Record<string, number> = { Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40, Pi: 2 ** 50, Ei: 2 ** 60 };
const DECIMAL: Record<string, number> = { n: 1e-9, u: 1e-6, m: 1e-3, '': 1, k: 1e3, M: 1e6, G: 1e9, T: 1e12, P: 1e15, E: 1e18 };
const QUANTITY = /^([+-]?(?:\d+\.?\d*|\.\d+))(?:(Ki|Mi|Gi|Ti|Pi|Ei|n|u|m|k|M|G|T|P|E)|[eE]([+-]?\d+))?$/;

export class QuantityError extends Error {}

/** The quantity's value, or throws naming what is wrong with it. */
export function parseQuantity(text: string | number): number {
  if (typeof text === 'number') {
    if (!Number.isFinite(text)) throw new QuantityError(`quantity ${String(text)} is not finite`);
    return text;
  }
  const m = QUANTITY.exec(text.trim());
  if (!m) throw new QuantityError(`quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'; got ${JSON.stringify(text)}`);
  const base = Number(m[1]);
  if (m[3] !== undefined) return base * 10 ** Number(m[3]);
  const suffix = m[2] ?? '';
  return base * (BINARY[suffix] ?? DECIMAL[suffix] ?? 1);
}

/** Quantity.MilliValue(): thousandths, rounded up (cpu is compared this way). */
export function milliValue(text: string | number): number {
  return Math.ceil(Math.round(parseQuantity(text) * 1e6) / 1e3);
}

/** Quantity.Value(): whole units, rounded up (memory, pods, extended resources). */
export function wholeValue(text: string | number): number {
  return Math.ceil(Math.round(parseQuantity(text) * 1e3) / 1e3);
}

/** What the scheduler compares for a resource: milli-cpu, or whole units of anything else. */
export function schedulingValue(resource: string, text: string | number): number {
  return resource === 'cpu' ? milliValue(text) : wholeValue(text);
}
