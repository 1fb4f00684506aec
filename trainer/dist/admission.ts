/**
 * Bounds on what strangers can cost a listening rank before they authenticate: how many
 * connections may wait in the handshake at once, for how long, and how many log lines
 * their refusals produce.
 */
import type { Conn } from './conn.js';
import { ProtocolError } from './errors.js';
import type { LogFn } from './types.js';

/** Connections allowed in the handshake at once; an honest rank needs one, briefly. */
export const MAX_UNAUTHENTICATED = 32;
/** A handshake is two round trips; a connection silent this long is dropped. */
export const HANDSHAKE_TIMEOUT_MS = 5000;

/**
 * Connections still in the handshake, oldest first. Past the cap the oldest is dropped:
 * an honest peer finishes in milliseconds, so idle strangers cannot crowd it out.
 */
export class HandshakeSlots {
  private readonly waiting = new Set<Conn>();

  constructor(private readonly max = MAX_UNAUTHENTICATED) {}

  get size(): number {
    return this.waiting.size;
  }

  add(conn: Conn): void {
    if (this.waiting.size >= this.max) {
      const oldest = this.waiting.values().next().value as Conn;
      this.waiting.delete(oldest);
      oldest.fail(new ProtocolError(oldest.label, `dropped: ${this.max} connections were already waiting to authenticate`));
    }
    this.waiting.add(conn);
  }

  /** The connection authenticated or failed: it no longer holds a slot. */
  release(conn: Conn): void {
    this.waiting.delete(conn);
  }
}

/**
 * A log for refusals: at most `burst` lines per `windowMs`; the lines beyond are counted
 * and reported in one line when the next window opens, so a flood of strangers cannot
 * flood the log.
 */
export function rateLimitedLog(log: LogFn, burst = 10, windowMs = 10_000, now: () => number = Date.now): LogFn {
  let windowStart = -Infinity;
  let used = 0;
  let suppressed = 0;
  return (line) => {
    const t = now();
    if (t - windowStart >= windowMs) {
      if (suppressed > 0) log(`(${suppressed} more refusals were not logged in the previous ${windowMs / 1000} s)`);
      windowStart = t;
      used = 0;
      suppressed = 0;
    }
    if (used < burst) {
      used++;
      log(line);
    } else {
      suppressed++;
    }
  };
}
