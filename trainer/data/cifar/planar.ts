/** CIFAR-10 images are 32x32 RGB. */
export const CIFAR_SIDE = 32;
export const CIFAR_PLANE = CIFAR_SIDE * CIFAR_SIDE;
export const CIFAR_IMAGE_BYTES = 3 * CIFAR_PLANE;

/**
 * Converts one image stored as three planes (1024 R, then 1024 G, then 1024 B, as in both
 * official CIFAR-10 layouts) into interleaved RGB (HWC), which the rest of the trainer uses.
 */
export function planarToHwc(src: Uint8Array, srcOffset: number, dst: Uint8Array, dstOffset: number): void {
  const g = srcOffset + CIFAR_PLANE;
  const b = g + CIFAR_PLANE;
  for (let p = 0, o = dstOffset; p < CIFAR_PLANE; p++, o += 3) {
    dst[o] = src[srcOffset + p];
    dst[o + 1] = src[g + p];
    dst[o + 2] = src[b + p];
  }
}
