/** How the addon's binary kernel walks two broadcast operands (src/eltwise.cc). */
export interface BroadcastPlan {
  outShape: number[];
  /** Output dimensions after merging neighbours that broadcast alike; never empty. */
  dims: number[];
  /** Element strides of each operand per merged dimension, 0 where it is broadcast. */
  aStrides: number[];
  bStrides: number[];
}

/** The kernel's limit on merged dimensions. */
export const MAX_BROADCAST_RANK = 8;

/**
 * Numpy broadcasting of two shapes reduced to few dimensions: size-1 output dimensions
 * are dropped, and adjacent dimensions merge when each operand either has both or
 * broadcasts both, so an NHWC tensor plus a per-channel vector becomes [N*H*W, C].
 * Null when the shapes do not broadcast or need more than MAX_BROADCAST_RANK dimensions.
 */
export function broadcastPlan(aShape: readonly number[], bShape: readonly number[]): BroadcastPlan | null {
  const rank = Math.max(aShape.length, bShape.length);
  const a = [...Array<number>(rank - aShape.length).fill(1), ...aShape];
  const b = [...Array<number>(rank - bShape.length).fill(1), ...bShape];
  const outShape: number[] = [];
  for (let d = 0; d < rank; d++) {
    if (a[d] !== b[d] && a[d] !== 1 && b[d] !== 1) return null;
    outShape.push(a[d] === 1 ? b[d] : a[d]);
  }
  // Merged dimensions: size, and whether each operand spans it.
  const merged: { size: number; aFull: boolean; bFull: boolean }[] = [];
  for (let d = 0; d < rank; d++) {
    if (outShape[d] === 1) continue;
    const aFull = a[d] !== 1;
    const bFull = b[d] !== 1;
    const last = merged[merged.length - 1];
    if (last !== undefined && last.aFull === aFull && last.bFull === bFull) last.size *= outShape[d];
    else merged.push({ size: outShape[d], aFull, bFull });
  }
  if (merged.length === 0) merged.push({ size: 1, aFull: true, bFull: true });
  if (merged.length > MAX_BROADCAST_RANK) return null;
  const aStrides = new Array<number>(merged.length);
  const bStrides = new Array<number>(merged.length);
  let aAcc = 1;
  let bAcc = 1;
  for (let i = merged.length - 1; i >= 0; i--) {
    const m = merged[i];
    aStrides[i] = m.aFull ? aAcc : 0;
    bStrides[i] = m.bFull ? bAcc : 0;
    if (m.aFull) aAcc *= m.size;
    if (m.bFull) bAcc *= m.size;
  }
  return { outShape, dims: merged.map((m) => m.size), aStrides, bStrides };
}
