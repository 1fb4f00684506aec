/**
 * Kubernetes resource quantities ("500m", "2", "1Gi", "1e3") as exact rationals, for the
 * request/limit comparisons of pod validation (k8s.io/apimachinery pkg/api/resource/quantity.go).
 */
export const QUANTITY_PATTERN = /^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$/;

export interface Quantity {
  num: bigint;
  den: bigint;
  /** As written, for messages (the real server prints its canonical form, which is the same for whole numbers). */
  text: string;
}

const BINARY: Record<string, bigint> = { Ki: 1n << 10n, Mi: 1n << 20n, Gi: 1n << 30n, Ti: 1n << 40n, Pi: 1n << 50n, Ei: 1n << 60n };
const DECIMAL: Record<string, number> = { n: -9, u: -6, m: -3, '': 0, k: 3, M: 6, G: 9, T: 12, P: 15, E: 18 };

/** Parses a quantity; undefined when it does not match the Kubernetes format. */
export function parseQuantity(value: string | number): Quantity | undefined {
  const text = String(value);
  const m = QUANTITY_PATTERN.exec(text);
  if (!m) return undefined;
  const [, number, suffix] = m;
  const digits = /^([+-]?)(\d*)(?:\.(\d*))?$/.exec(number);
  if (!digits || (digits[2] === '' && (digits[3] ?? '') === '')) return undefined;
  const frac = digits[3] ?? '';
  let num = BigInt(`${digits[2] || '0'}${frac}`) * (digits[1] === '-' ? -1n : 1n);
  let den = 10n ** BigInt(frac.length);
  let exp: number;
  if (suffix in BINARY) {
    num *= BINARY[suffix];
    exp = 0;
  } else if (suffix in DECIMAL) exp = DECIMAL[suffix];
  else if (/^[eE][-+]?\d+$/.test(suffix)) exp = Number(suffix.slice(1));
  else return undefined;
  if (exp >= 0) num *= 10n ** BigInt(exp);
  else den *= 10n ** BigInt(-exp);
  return { num, den, text };
}

/** -1, 0 or 1 as a is less than, equal to or greater than b. */
export function compareQuantity(a: Quantity, b: Quantity): number {
  const l = a.num * b.den;
  const r = b.num * a.den;
  return l < r ? -1 : l > r ? 1 : 0;
}

export function isWhole(q: Quantity): boolean {
  return q.num % q.den === 0n;
}
