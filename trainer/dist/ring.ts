/**
 * Pure schedules for ring collectives. A plan says, for one rank, which regions of the
 * array to send first and, in arrival order, what to do with each region received from
 * the predecessor (add it, add it and divide by n, or copy it) and whether to forward it
 * to the successor. Regions are sub-chunks of segments, so a large segment streams
 * through the ring in pieces and sending overlaps receiving.
 *
 * All-reduce (reduce-scatter then all-gather), n ranks, 2(n-1) steps: at step s rank r
 * sends segment (r - s) mod n and receives segment (r - s - 1) mod n; what it receives at
 * step s is what it sends at step s+1. After the n-1 reduce steps rank r holds the full
 * sum of segment (r + 1) mod n and divides it by n there, once; the all-gather then only
 * copies bytes, so every rank ends with bit-identical values in a fixed summation order.
 */

/** A run of elements: [offset, offset + length). */
export interface Region {
  offset: number;
  length: number;
}

export type Action = 'reduce' | 'reduce-average' | 'copy';

export interface Receive extends Region {
  action: Action;
  /** Send this region on to the successor once it has been applied. */
  forward: boolean;
}

export interface RingPlan {
  initialSends: Region[];
  receives: Receive[];
}

function mod(a: number, n: number): number {
  return ((a % n) + n) % n;
}

function checkArgs(length: number, n: number, rank: number, chunkElems: number): void {
  if (!Number.isInteger(n) || n < 1) throw new RangeError(`world size must be a positive integer, got ${n}`);
  if (!Number.isInteger(rank) || rank < 0 || rank >= n) throw new RangeError(`rank ${rank} out of range for world size ${n}`);
  if (!Number.isInteger(length) || length < 0) throw new RangeError(`length must be a non-negative integer, got ${length}`);
  if (!Number.isInteger(chunkElems) || chunkElems < 1) throw new RangeError(`chunk size must be a positive integer, got ${chunkElems}`);
}

/** n contiguous segments whose sizes differ by at most one; the first length % n get the extra element. */
export function segmentLayout(length: number, n: number): Region[] {
  const base = Math.floor(length / n);
  const extra = length % n;
  const out: Region[] = [];
  let offset = 0;
  for (let q = 0; q < n; q++) {
    const len = base + (q < extra ? 1 : 0);
    out.push({ offset, length: len });
    offset += len;
  }
  return out;
}

/** A region cut into pieces of at most chunkElems; an empty region has no pieces. */
export function subChunks(region: Region, chunkElems: number): Region[] {
  const out: Region[] = [];
  for (let o = 0; o < region.length; o += chunkElems) {
    out.push({ offset: region.offset + o, length: Math.min(chunkElems, region.length - o) });
  }
  return out;
}

/** Segment index sent and received at each of the 2(n-1) steps by `rank`. */
export function allReduceSteps(rank: number, n: number): { send: number[]; recv: number[] } {
  const steps = 2 * (n - 1);
  const send: number[] = [];
  const recv: number[] = [];
  for (let s = 0; s < steps; s++) {
    send.push(mod(rank - s, n));
    recv.push(mod(rank - s - 1, n));
  }
  return { send, recv };
}

export function allReducePlan(length: number, n: number, rank: number, chunkElems: number): RingPlan {
  checkArgs(length, n, rank, chunkElems);
  if (n === 1) return { initialSends: [], receives: [] };
  const segs = segmentLayout(length, n);
  const { send, recv } = allReduceSteps(rank, n);
  const steps = send.length;
  const initialSends = subChunks(segs[send[0] as number] as Region, chunkElems);
  const receives: Receive[] = [];
  for (let s = 0; s < steps; s++) {
    const action: Action = s < n - 2 ? 'reduce' : s === n - 2 ? 'reduce-average' : 'copy';
    for (const c of subChunks(segs[recv[s] as number] as Region, chunkElems)) {
      receives.push({ ...c, action, forward: s + 1 < steps });
    }
  }
  return { initialSends, receives };
}

/** Broadcast from `root` along the ring root -> root+1 -> ... -> root-1, pipelined by sub-chunk. */
export function broadcastPlan(length: number, n: number, rank: number, root: number, chunkElems: number): RingPlan {
  checkArgs(length, n, rank, chunkElems);
  if (!Number.isInteger(root) || root < 0 || root >= n) throw new RangeError(`root ${root} out of range for world size ${n}`);
  if (n === 1) return { initialSends: [], receives: [] };
  const chunks = subChunks({ offset: 0, length }, chunkElems);
  if (rank === root) return { initialSends: chunks, receives: [] };
  const last = mod(root - 1, n);
  return { initialSends: [], receives: chunks.map((c) => ({ ...c, action: 'copy', forward: rank !== last })) };
}

/** Which regions this rank's successor receives, in order: what the plan sends. */
export function sendOrder(plan: RingPlan): Region[] {
  return [...plan.initialSends, ...plan.receives.filter((r) => r.forward)];
}
