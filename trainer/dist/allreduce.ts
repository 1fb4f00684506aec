/**
 * Runs a ring plan over the two neighbour connections: sends stream views of the caller's
 * array (no copies), the predecessor's bytes land either straight in the array (copy) or
 * in one reusable scratch chunk that is then added in. Sends and receives run
 * concurrently; each send waits for the socket to drain past its budget.
 */
import type { Conn } from './conn.js';
import { addAverageInto, addInto } from './reduce.js';
import type { Region, RingPlan } from './ring.js';

export interface RingIO {
  next: Conn;
  prev: Conn;
}

function bytesOf(a: Float32Array, r: Region): Uint8Array {
  return new Uint8Array(a.buffer, a.byteOffset + r.offset * 4, r.length * 4);
}

/**
 * Executes `plan` on `data` in place. `scratch` must hold the largest region. The caller
 * must not touch `data` until the promise settles: sends are views of it.
 */
export async function executePlan(io: RingIO, data: Float32Array, plan: RingPlan, n: number, scratch: Float32Array): Promise<void> {
  let sending: Promise<void> = Promise.resolve();
  const send = (r: Region): void => {
    sending = sending.then(() => io.next.sendData(bytesOf(data, r)));
    // A failed send also fails the group, which rejects the pending receive; mark this
    // branch handled so the rejection is reported once, by the await below.
    sending.catch(() => undefined);
  };
  for (const r of plan.initialSends) send(r);
  for (const r of plan.receives) {
    if (r.action === 'copy') {
      await io.prev.readData(bytesOf(data, r));
    } else {
      const tmp = scratch.subarray(0, r.length);
      await io.prev.readData(bytesOf(tmp, { offset: 0, length: r.length }));
      if (r.action === 'reduce') addInto(data, r.offset, tmp, r.length);
      else addAverageInto(data, r.offset, tmp, r.length, n);
    }
    if (r.forward) send(r);
  }
  await sending;
  // Until the kernel has the last views, the caller reusing `data` would change what is sent.
  await io.next.flushed();
}
