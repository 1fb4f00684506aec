/**
 * Gradient fusion: many small tensors are packed into buckets of about `bucketBytes`
 * (default 4 MiB, like Horovod's fusion buffer) so each all-reduce is large enough to
 * use the link well. The plan is pure and depends only on the tensor sizes and their
 * order, which is the same on every rank. A tensor larger than a bucket travels alone,
 * in place, without a packing copy.
 */
import type { Group } from './group.js';

export const DEFAULT_BUCKET_BYTES = 4 * 1024 * 1024;

export interface BucketEntry {
  /** Index of the tensor in the input list. */
  tensor: number;
  /** Element offset inside the bucket. */
  offset: number;
  length: number;
}

export interface Bucket {
  entries: BucketEntry[];
  /** Elements in the bucket. */
  length: number;
}

/** Groups consecutive tensors (sizes in elements) into buckets of at most bucketBytes, in order. */
export function planBuckets(sizes: readonly number[], bucketBytes = DEFAULT_BUCKET_BYTES): Bucket[] {
  if (!Number.isInteger(bucketBytes) || bucketBytes < 4) throw new RangeError(`bucket size must be an integer of at least 4 bytes, got ${bucketBytes}`);
  const cap = Math.floor(bucketBytes / 4);
  const buckets: Bucket[] = [];
  let cur: Bucket = { entries: [], length: 0 };
  sizes.forEach((size, tensor) => {
    if (!Number.isInteger(size) || size < 0) throw new RangeError(`tensor ${tensor}: size must be a non-negative integer, got ${size}`);
    if (cur.entries.length > 0 && cur.length + size > cap) {
      buckets.push(cur);
      cur = { entries: [], length: 0 };
    }
    cur.entries.push({ tensor, offset: cur.length, length: size });
    cur.length += size;
  });
  if (cur.entries.length > 0) buckets.push(cur);
  return buckets;
}

export interface BucketOptions {
  bucketBytes?: number;
}

/**
 * Runs `collective` once per bucket: a lone tensor in place, several packed into one
 * reusable fusion buffer and unpacked afterwards. `pack` false skips packing (broadcast
 * receivers, whose input is overwritten anyway).
 */
async function runBuckets(
  tensors: readonly Float32Array[],
  bucketBytes: number,
  pack: boolean,
  collective: (buf: Float32Array) => Promise<void>,
): Promise<void> {
  const buckets = planBuckets(
    tensors.map((t) => t.length),
    bucketBytes,
  );
  const fusedMax = buckets.reduce((m, b) => (b.entries.length > 1 ? Math.max(m, b.length) : m), 0);
  const fusion = new Float32Array(fusedMax);
  const tensorOf = (e: BucketEntry): Float32Array => tensors[e.tensor] as Float32Array;
  for (const b of buckets) {
    if (b.entries.length === 1) {
      await collective(tensorOf(b.entries[0] as BucketEntry));
      continue;
    }
    const buf = fusion.subarray(0, b.length);
    if (pack) for (const e of b.entries) buf.set(tensorOf(e), e.offset);
    await collective(buf);
    for (const e of b.entries) tensorOf(e).set(buf.subarray(e.offset, e.offset + e.length));
  }
}

/**
 * Averages every tensor across the group in place, bucket by bucket. All ranks must pass
 * tensors of the same sizes in the same order (a mismatch fails the group loudly).
 */
export async function allReduceTensors(group: Group, tensors: readonly Float32Array[], opts: BucketOptions = {}): Promise<void> {
  if (group.worldSize === 1) return;
  await runBuckets(tensors, opts.bucketBytes ?? DEFAULT_BUCKET_BYTES, true, (buf) => group.allReduce(buf));
}

/** Broadcasts every tensor from `root` (e.g. rank 0's initial weights), fused the same way. */
export async function broadcastTensors(group: Group, tensors: readonly Float32Array[], root = 0, opts: BucketOptions = {}): Promise<void> {
  if (group.worldSize === 1) return;
  await runBuckets(tensors, opts.bucketBytes ?? DEFAULT_BUCKET_BYTES, group.rank === root, (buf) => group.broadcast(buf, root));
}
