/**
 * Worker thread entry: makes requested batches from the shared image cache and
 * hands them back by transferring their buffers (no copy).
 */
import { parentPort, workerData } from 'node:worker_threads';
import { errorMessage } from '../../util/errors.js';
import { planEpoch, type EpochOptions, type EpochPlan } from './batches.js';
import { isBatchRequest, isWorkerInit, type WorkerReply } from './batch-protocol.js';
import type { ImageCache } from './image-cache.js';

if (!parentPort) throw new Error('batch-worker.ts must run in a worker thread');
if (!isWorkerInit(workerData)) throw new Error('batch-worker: workerData is not a WorkerInit');

const port = parentPort;
const cache: ImageCache = { ...workerData, channels: 3 };

// The order of an epoch costs a shuffle of the whole set; keep it while that
// epoch's batches are being asked for.
let planKey = '';
let plan: EpochPlan | undefined;

function planFor(opts: EpochOptions): EpochPlan {
  const key = JSON.stringify({ ...opts, startBatch: 0 });
  if (plan === undefined || key !== planKey) {
    plan = planEpoch(cache, opts);
    planKey = key;
  }
  return plan;
}

port.on('message', (msg: unknown) => {
  if (!isBatchRequest(msg)) return;
  let reply: WorkerReply;
  try {
    const b = planFor(msg.epoch).batch(msg.batch);
    reply = { kind: 'batch', id: msg.id, x: b.x, y: b.y, size: b.size, epoch: b.epoch, index: b.index };
    // Fresh batches own plain ArrayBuffers; transferring them avoids a 1.5 MB copy.
    const transfer = [b.x.buffer, b.y.buffer].filter((buf): buf is ArrayBuffer => buf instanceof ArrayBuffer);
    port.postMessage(reply, transfer);
  } catch (err) {
    reply = { kind: 'error', id: msg.id, message: errorMessage(err) };
    port.postMessage(reply);
  }
});

const ready: WorkerReply = { kind: 'ready' };
port.postMessage(ready);
