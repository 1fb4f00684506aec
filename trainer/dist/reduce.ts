/** The arithmetic of the ring: element-wise kernels on Float32Arrays. */

/** dst[offset + i] += src[i] for i < length. */
export function addInto(dst: Float32Array, offset: number, src: Float32Array, length: number): void {
  for (let i = 0; i < length; i++) dst[offset + i] = (dst[offset + i] as number) + (src[i] as number);
}

/**
 * dst[offset + i] = (dst[offset + i] + src[i]) / n: the last addition of a segment and the
 * averaging, done once at the rank that owns the segment so every rank copies the same bits.
 */
export function addAverageInto(dst: Float32Array, offset: number, src: Float32Array, length: number, n: number): void {
  for (let i = 0; i < length; i++) dst[offset + i] = ((dst[offset + i] as number) + (src[i] as number)) / n;
}
