/**
 * Liveness of the two ring neighbours, idle or mid-collective.
 *
 * Rule: a neighbour from which no byte at all (data or heartbeat) has arrived for the peer
 * timeout is lost. Each rank sends a HEARTBEAT on a link it has not written to for one
 * heartbeat interval (a fifth of the peer timeout), so a rank that is busy but alive,
 * e.g. in a long validation pass between steps, keeps its neighbours satisfied as long as
 * its event loop turns at least once per interval. A rank whose event loop is blocked for
 * longer than the peer timeout is indistinguishable from a hung one and is declared lost:
 * size the peer timeout above the longest synchronous stretch of the trainer.
 *
 * When our own event loop was blocked, the check is skipped once: bytes may be waiting in
 * the kernel that we have not read yet, and blaming the peer for our stall would be wrong.
 */
import type { Conn } from './conn.js';
import { FrameType } from './framing.js';

export interface Watched {
  conn: Conn;
  onSilent: (silentMs: number) => void;
}

export function heartbeatIntervalMs(peerTimeoutMs: number): number {
  return Math.max(20, Math.min(5000, Math.round(peerTimeoutMs / 5)));
}

export type Verdict = 'ok' | 'heartbeat' | 'silent';

/** Pure decision for one link at time `now`. */
export function livenessVerdict(now: number, lastRecvAt: number, lastSendAt: number, peerTimeoutMs: number): Verdict {
  if (now - lastRecvAt > peerTimeoutMs) return 'silent';
  if (now - lastSendAt >= heartbeatIntervalMs(peerTimeoutMs)) return 'heartbeat';
  return 'ok';
}

/** Starts heartbeats and the watchdog; returns a function that stops both. */
export function startLiveness(links: readonly Watched[], peerTimeoutMs: number): () => void {
  const interval = heartbeatIntervalMs(peerTimeoutMs);
  let lastTick = Date.now();
  const timer = setInterval(() => {
    const now = Date.now();
    const stalled = now - lastTick > 3 * interval;
    lastTick = now;
    for (const { conn, onSilent } of links) {
      if (conn.failed) continue;
      const v = livenessVerdict(now, conn.lastRecvAt, conn.lastSendAt, peerTimeoutMs);
      if (v === 'silent' && !stalled) onSilent(now - conn.lastRecvAt);
      else if (v !== 'ok') conn.trySend(FrameType.Heartbeat);
    }
  }, interval);
  timer.unref();
  return () => clearInterval(timer);
}
