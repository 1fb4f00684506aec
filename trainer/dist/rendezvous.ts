/**
 * Rendezvous: rank 0 listens on MASTER_ADDR:MASTER_PORT; every other rank connects
 * (retrying with backoff, since pods start in any order), authenticates, and registers its
 * rank, world size, model fingerprint and ring listener address. When all have arrived,
 * rank 0 sends everyone the membership. Everything is bounded by the rendezvous timeout,
 * and a timeout names the ranks that never arrived.
 */
import { UsageError, errorMessage } from '../util/errors.js';
import { peerMessage } from './errors.js';
import type { DistConfig } from './config.js';
import { Conn, PeerRejectedError } from './conn.js';
import { GroupMismatchError, PeerAuthError, RendezvousTimeoutError } from './errors.js';
import { HANDSHAKE_TIMEOUT_MS, HandshakeSlots, rateLimitedLog } from './admission.js';
import { FrameType } from './framing.js';
import { handshakeAsClient, handshakeAsServer } from './handshake.js';
import {
  decodeMembership,
  decodeRegister,
  encodeMsg,
  formatAddress,
  type Member,
  type RegisterMsg,
  type RejectCode,
  type RejectMsg,
} from './messages.js';
import { backoffMs, deferred, sleep } from './async.js';
import { Listener, connectTcp } from './net.js';
import type { LogFn } from './types.js';

export interface RendezvousResult {
  /** Every rank's ring listener, indexed by rank. */
  members: Member[];
  /** This rank's ring listener, already bound; its address is in `members`. */
  listener: Listener;
}

export function requireSecret(cfg: DistConfig): Buffer {
  if (!cfg.secret) throw new UsageError(`rank ${cfg.rank}: no peer secret configured for WORLD_SIZE ${cfg.worldSize}`);
  return cfg.secret;
}

export function rendezvous(cfg: DistConfig, fingerprint: string, log: LogFn): Promise<RendezvousResult> {
  return cfg.rank === 0 ? runMaster(cfg, fingerprint, log) : runWorker(cfg, fingerprint, log);
}

function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(ms < 10000 ? 1 : 0)} s`;
}

function listRanks(ranks: readonly number[]): string {
  return ranks.length === 1 ? `rank ${ranks[0]}` : `ranks ${ranks.join(', ')}`;
}

interface Registrant {
  conn: Conn;
  reg: RegisterMsg;
}

async function runMaster(cfg: DistConfig, fingerprint: string, log: LogFn): Promise<RendezvousResult> {
  const secret = requireSecret(cfg);
  const n = cfg.worldSize;
  const deadline = Date.now() + cfg.rendezvousTimeoutMs;
  const host = cfg.listenHost ?? cfg.masterAddr;
  const masterAddress = formatAddress(host, cfg.masterPort);
  const ring = await Listener.open(host, cfg.listenPort);
  let master: Listener;
  try {
    master = await Listener.open(host, cfg.masterPort);
  } catch (err) {
    ring.close();
    throw err;
  }
  const members: (Member | undefined)[] = new Array<Member | undefined>(n).fill(undefined);
  members[0] = { rank: 0, host: ring.host, port: ring.port };
  const regs = new Map<number, Registrant>();
  const done = deferred<void>();
  log(`rendezvous: rank 0 waiting for ${n - 1} ranks on ${masterAddress}`);

  // Strangers can open connections freely: their refusals are logged at a bounded rate.
  const logRefusal = rateLimitedLog(log);
  const slots = new HandshakeSlots();
  const refuse = (conn: Conn, code: RejectCode, reason: string): void => {
    log(`rendezvous: refused ${conn.label}: ${reason}`);
    conn.finish(FrameType.Reject, encodeMsg({ reason, code, missing: [] }), new Error(reason));
  };

  const admit = async (conn: Conn): Promise<void> => {
    const stepTimeout = Math.max(1, Math.min(cfg.peerTimeoutMs, deadline - Date.now()));
    slots.add(conn);
    let hello;
    try {
      hello = await handshakeAsServer(conn, secret, 'master', cfg.jobId, Math.min(stepTimeout, HANDSHAKE_TIMEOUT_MS));
    } finally {
      slots.release(conn);
    }
    conn.enterSession(`rank ${hello.rank} (${conn.label})`, 0);
    const reg = decodeRegister(await conn.expect(FrameType.Register, stepTimeout, 'registration'));
    const who = `rank ${reg.rank} (${reg.host}:${reg.port})`;
    if (done.settled()) return refuse(conn, 'refused', 'rendezvous is already over');
    if (reg.rank !== hello.rank) return refuse(conn, 'auth', `registered as rank ${reg.rank} after authenticating as rank ${hello.rank}`);
    if (reg.worldSize !== n) {
      const err = new GroupMismatchError(`${who} was started with WORLD_SIZE ${reg.worldSize}, rank 0 with ${n}`);
      refuse(conn, 'mismatch', err.message);
      return done.reject(err);
    }
    if (reg.rank === 0 || reg.rank >= n) {
      const err = new GroupMismatchError(`${who}: rank ${reg.rank} cannot join as a worker of a group of ${n}`);
      refuse(conn, 'mismatch', err.message);
      return done.reject(err);
    }
    if (reg.fingerprint !== fingerprint) {
      const err = new GroupMismatchError(
        `model mismatch: ${who} has model fingerprint ${reg.fingerprint}, rank 0 has ${fingerprint}; ` +
          'all ranks must build the same model',
      );
      refuse(conn, 'mismatch', err.message);
      return done.reject(err);
    }
    const existing = regs.get(reg.rank);
    if (existing && !existing.conn.failed) {
      return refuse(conn, 'mismatch', `rank ${reg.rank} is already registered from ${existing.conn.label}`);
    }
    regs.set(reg.rank, { conn, reg });
    members[reg.rank] = { rank: reg.rank, host: reg.host, port: reg.port };
    // A registrant whose pod dies before the group forms is forgotten, so its restart can register again.
    conn.onFailure = (err) => {
      if (done.settled() || regs.get(reg.rank)?.conn !== conn) return;
      regs.delete(reg.rank);
      members[reg.rank] = undefined;
      log(`rendezvous: ${who} dropped out before the group formed: ${err.message}`);
    };
    log(`rendezvous: ${who} registered (${regs.size + 1}/${n})`);
    if (regs.size === n - 1) done.resolve();
  };

  master.setHandler((socket) => {
    const conn = new Conn(socket);
    admit(conn).catch((err: unknown) => {
      logRefusal(`rendezvous: refused connection ${peerMessage(conn.label, err)}`);
      conn.fail(err instanceof Error ? err : new Error(String(err)));
    });
  });

  const timer = setTimeout(() => {
    const missing = members.flatMap((m, r) => (m === undefined ? [r] : []));
    done.reject(
      new RendezvousTimeoutError(
        missing,
        `rendezvous at ${masterAddress}: ${listRanks(missing)} of ${n} never arrived within ${seconds(cfg.rendezvousTimeoutMs)}`,
      ),
    );
  }, Math.max(0, deadline - Date.now()));

  try {
    await done.promise;
  } catch (err) {
    const reject: RejectMsg = {
      reason: errorMessage(err),
      code: err instanceof RendezvousTimeoutError ? 'timeout' : 'mismatch',
      missing: err instanceof RendezvousTimeoutError ? [...err.missingRanks] : [],
    };
    // Tell the ranks that did arrive, so they fail now with the same reason instead of timing out.
    for (const { conn } of regs.values()) conn.finish(FrameType.Reject, encodeMsg(reject), err instanceof Error ? err : new Error(String(err)));
    ring.close();
    throw err;
  } finally {
    clearTimeout(timer);
    master.close();
  }
  const complete = members as Member[];
  const payload = encodeMsg({ members: complete });
  for (const { conn } of regs.values()) conn.finish(FrameType.Membership, payload, new Error('rendezvous complete'));
  log(`rendezvous: all ${n} ranks arrived`);
  return { members: complete, listener: ring };
}

function errorFromReject(reject: RejectMsg, master: string): Error {
  const reason = `master ${master}: ${reject.reason}`;
  switch (reject.code) {
    case 'timeout':
      return new RendezvousTimeoutError(reject.missing, reason);
    case 'auth':
      return new PeerAuthError(`master ${master}`, reject.reason);
    default:
      return new GroupMismatchError(reason);
  }
}

async function runWorker(cfg: DistConfig, fingerprint: string, log: LogFn): Promise<RendezvousResult> {
  const secret = requireSecret(cfg);
  const deadline = Date.now() + cfg.rendezvousTimeoutMs;
  const master = formatAddress(cfg.masterAddr, cfg.masterPort);
  let listener: Listener | undefined;
  let lastError = 'no attempt made';
  try {
    for (let attempt = 0; ; attempt++) {
      const remaining = deadline - Date.now();
      if (remaining <= 0) {
        throw new RendezvousTimeoutError(
          [0],
          `rank ${cfg.rank}: could not join the group through master (rank 0) at ${master} within ` +
            `${seconds(cfg.rendezvousTimeoutMs)}; last error: ${lastError}`,
        );
      }
      let conn: Conn | undefined;
      try {
        const socket = await connectTcp(cfg.masterAddr, cfg.masterPort, Math.min(remaining, 5000), cfg.listenHost);
        conn = new Conn(socket);
        conn.label = `master ${master}`;
        const stepTimeout = Math.max(1, Math.min(cfg.peerTimeoutMs, deadline - Date.now()));
        await handshakeAsClient(conn, secret, { role: 'master', rank: cfg.rank, jobId: cfg.jobId }, stepTimeout);
        conn.enterSession(`master ${master}`, 0);
        listener ??= await Listener.open(cfg.listenHost ?? socket.localAddress ?? '127.0.0.1', cfg.listenPort);
        const reg: RegisterMsg = {
          rank: cfg.rank,
          worldSize: cfg.worldSize,
          jobId: cfg.jobId,
          fingerprint,
          host: listener.host,
          port: listener.port,
        };
        await conn.send(FrameType.Register, encodeMsg(reg));
        log(`rendezvous: rank ${cfg.rank} registered with master ${master}, ring address ${listener.address}`);
        // The master answers by its own deadline, which may be a little after ours: give it
        // the peer timeout on top, so a timeout names the missing ranks the master saw.
        const answerBy = deadline + Math.min(cfg.peerTimeoutMs, 5000);
        const payload = await conn.expect(FrameType.Membership, Math.max(1, answerBy - Date.now()), 'membership from the master');
        const { members } = decodeMembership(payload, cfg.worldSize);
        conn.fail(new Error('rendezvous complete'));
        return { members, listener };
      } catch (err) {
        conn?.fail(err instanceof Error ? err : new Error(String(err)));
        // Only the authenticated master's refusals are final (PeerRejectedError after the
        // handshake, PeerAuthError); anything before it (UnverifiedPeerError) is retried.
        if (err instanceof PeerAuthError) throw err;
        if (err instanceof PeerRejectedError) throw errorFromReject(err.reject, master);
        if (attempt === 0) log(`rendezvous: rank ${cfg.rank}: master ${master} not ready (${errorMessage(err)}); retrying until the deadline`);
        lastError = errorMessage(err);
        await sleep(Math.min(backoffMs(attempt), deadline - Date.now()));
      }
    }
  } catch (err) {
    listener?.close();
    throw err;
  }
}
