/**
 * Ring formation after rendezvous: each rank connects to its successor ((rank+1) % n) and
 * accepts its predecessor ((rank-1+n) % n), both authenticated. Only the predecessor's
 * rank may connect; anyone else is refused and logged. Bounded by the peer timeout.
 */
import { errorMessage } from '../util/errors.js';
import type { DistConfig } from './config.js';
import { Conn, MAX_DATA_FRAME_BYTES } from './conn.js';
import { PeerAuthError, RendezvousTimeoutError, peerMessage } from './errors.js';
import { backoffMs, deferred, sleep } from './async.js';
import { handshakeAsClient, handshakeAsServer } from './handshake.js';
import { HANDSHAKE_TIMEOUT_MS, HandshakeSlots, rateLimitedLog } from './admission.js';
import { formatAddress, type Member } from './messages.js';
import { connectTcp, type Listener } from './net.js';
import { requireSecret } from './rendezvous.js';
import type { LogFn } from './types.js';

export interface Peer {
  rank: number;
  address: string;
}

export interface RingLinks {
  /** Carries our sends to the successor. */
  next: Conn;
  /** Carries the predecessor's sends to us. */
  prev: Conn;
  nextPeer: Peer;
  prevPeer: Peer;
}

export function ringNeighbours(rank: number, n: number): { next: number; prev: number } {
  return { next: (rank + 1) % n, prev: (rank - 1 + n) % n };
}

function peerOf(members: readonly Member[], rank: number): Peer {
  const m = members[rank];
  if (!m) throw new Error(`membership has no rank ${rank}`);
  return { rank, address: formatAddress(m.host, m.port) };
}

export async function formRing(cfg: DistConfig, members: readonly Member[], listener: Listener, log: LogFn): Promise<RingLinks> {
  const secret = requireSecret(cfg);
  const deadline = Date.now() + cfg.peerTimeoutMs;
  const { next, prev } = ringNeighbours(cfg.rank, cfg.worldSize);
  const nextPeer = peerOf(members, next);
  const prevPeer = peerOf(members, prev);
  const nextMember = members[next] as Member;
  const label = (p: Peer): string => `rank ${p.rank} (${p.address})`;
  const accepted = deferred<Conn>();
  const logRefusal = rateLimitedLog(log);
  const slots = new HandshakeSlots();

  listener.setHandler((socket) => {
    const conn = new Conn(socket);
    const timeout = Math.max(1, Math.min(deadline - Date.now(), HANDSHAKE_TIMEOUT_MS));
    slots.add(conn);
    handshakeAsServer(conn, secret, 'ring', cfg.jobId, timeout, prev)
      .finally(() => slots.release(conn))
      .then(() => {
        if (accepted.settled()) throw new Error('the ring is already formed');
        conn.enterSession(label(prevPeer), MAX_DATA_FRAME_BYTES);
        accepted.resolve(conn);
      })
      .catch((err: unknown) => {
        logRefusal(`ring: rank ${cfg.rank} refused connection ${peerMessage(conn.label, err)}`);
        conn.fail(err instanceof Error ? err : new Error(String(err)));
      });
  });
  const timer = setTimeout(() => {
    accepted.reject(
      new RendezvousTimeoutError(
        [prev],
        `ring: predecessor ${label(prevPeer)} did not connect to rank ${cfg.rank} at ${listener.address} within ${cfg.peerTimeoutMs / 1000} s`,
      ),
    );
  }, Math.max(0, deadline - Date.now()));

  const connectNext = async (): Promise<Conn> => {
    let lastError = 'no attempt made';
    for (let attempt = 0; Date.now() < deadline; attempt++) {
      let conn: Conn | undefined;
      try {
        const socket = await connectTcp(nextMember.host, nextMember.port, Math.max(1, deadline - Date.now()), cfg.listenHost);
        conn = new Conn(socket);
        conn.label = label(nextPeer);
        await handshakeAsClient(conn, secret, { role: 'ring', rank: cfg.rank, jobId: cfg.jobId }, Math.max(1, deadline - Date.now()));
        conn.enterSession(label(nextPeer), MAX_DATA_FRAME_BYTES);
        return conn;
      } catch (err) {
        conn?.fail(err instanceof Error ? err : new Error(String(err)));
        if (err instanceof PeerAuthError) throw err;
        lastError = errorMessage(err);
        await sleep(Math.min(backoffMs(attempt), deadline - Date.now()));
      }
    }
    throw new RendezvousTimeoutError(
      [next],
      `ring: rank ${cfg.rank} could not connect to successor ${label(nextPeer)} within ${cfg.peerTimeoutMs / 1000} s; last error: ${lastError}`,
    );
  };

  const nextPromise = connectNext();
  try {
    const [nextConn, prevConn] = await Promise.all([nextPromise, accepted.promise]);
    return { next: nextConn, prev: prevConn, nextPeer, prevPeer };
  } catch (err) {
    const e = err instanceof Error ? err : new Error(String(err));
    // Whichever side did succeed must not leak an open connection.
    accepted.reject(e);
    accepted.promise.then((c) => c.fail(e), () => undefined);
    nextPromise.then((c) => c.fail(e), () => undefined);
    throw err;
  } finally {
    clearTimeout(timer);
    listener.close();
  }
}
