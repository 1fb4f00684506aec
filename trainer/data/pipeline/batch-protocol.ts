/**
 * Messages between the batch producer and its worker threads, with the checks that
 * turn a structured-clone `unknown` back into a typed message.
 */
import type { EpochOptions } from './batches.js';

/** Sent once as workerData: the cache, pixels on a SharedArrayBuffer. */
export interface WorkerInit {
  count: number;
  height: number;
  width: number;
  pixels: Uint8Array;
  labels: Int32Array;
}

export interface BatchRequest {
  id: number;
  epoch: EpochOptions;
  batch: number;
}

export type WorkerReply =
  | { kind: 'ready' }
  | { kind: 'batch'; id: number; x: Float32Array; y: Int32Array; size: number; epoch: number; index: number }
  | { kind: 'error'; id: number; message: string };

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null;
}

export function isWorkerInit(v: unknown): v is WorkerInit {
  return (
    isRecord(v) &&
    typeof v.count === 'number' &&
    typeof v.height === 'number' &&
    typeof v.width === 'number' &&
    v.pixels instanceof Uint8Array &&
    v.labels instanceof Int32Array
  );
}

export function isBatchRequest(v: unknown): v is BatchRequest {
  return isRecord(v) && typeof v.id === 'number' && typeof v.batch === 'number' && isRecord(v.epoch);
}

export function isWorkerReply(v: unknown): v is WorkerReply {
  if (!isRecord(v)) return false;
  switch (v.kind) {
    case 'ready':
      return true;
    case 'batch':
      return typeof v.id === 'number' && v.x instanceof Float32Array && v.y instanceof Int32Array && typeof v.size === 'number';
    case 'error':
      return typeof v.id === 'number' && typeof v.message === 'string';
    default:
      return false;
  }
}
