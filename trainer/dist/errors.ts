/**
 * Errors of the communication layer. Each names the peer (rank and address) so that one
 * log line says which pod to look at.
 */

/** A member of a formed group died, hung past the peer timeout, left, or sent garbage. */
export class PeerLostError extends Error {
  readonly rank: number;
  readonly address: string;
  readonly detail: string;
  /** The rank that saw the loss first, when it is not this one. */
  readonly reportedBy: number | undefined;

  constructor(rank: number, address: string, detail: string, reportedBy?: number) {
    super(`lost peer rank ${rank} (${address}): ${detail}${reportedBy === undefined ? '' : ` (reported by rank ${reportedBy})`}`);
    this.name = 'PeerLostError';
    this.rank = rank;
    this.address = address;
    this.detail = detail;
    this.reportedBy = reportedBy;
  }
}

/** Rendezvous or ring formation did not complete in time. */
export class RendezvousTimeoutError extends Error {
  /** Ranks that never arrived, when known. */
  readonly missingRanks: readonly number[];

  constructor(missingRanks: readonly number[], detail: string) {
    super(detail);
    this.name = 'RendezvousTimeoutError';
    this.missingRanks = [...missingRanks];
  }
}

/** A peer failed the HMAC handshake, or refused ours. */
export class PeerAuthError extends Error {
  readonly peer: string;

  constructor(peer: string, detail: string) {
    super(`${peer}: ${detail}`);
    this.name = 'PeerAuthError';
    this.peer = peer;
  }
}

/** A peer broke the wire protocol (bad frame type, oversize frame, malformed message). */
export class ProtocolError extends Error {
  readonly peer: string;

  constructor(peer: string, detail: string) {
    super(`${peer}: ${detail}`);
    this.name = 'ProtocolError';
    this.peer = peer;
  }
}

/**
 * The ranks disagree about something that must be equal everywhere: world size, job id,
 * model fingerprint, or the sequence of collectives. Restarting will not fix it.
 */
export class GroupMismatchError extends Error {
  constructor(detail: string) {
    super(detail);
    this.name = 'GroupMismatchError';
  }
}

/** A deadline passed while waiting for a peer (handshake, connect). */
export class PeerTimeoutError extends Error {
  readonly peer: string;

  constructor(peer: string, detail: string) {
    super(`${peer}: ${detail}`);
    this.name = 'PeerTimeoutError';
    this.peer = peer;
  }
}

/** "from <peer>: <what went wrong>", without repeating the peer when the error already names it. */
export function peerMessage(peer: string, err: unknown): string {
  const msg = err instanceof Error ? err.message : String(err);
  return msg.startsWith(`${peer}: `) ? `from ${msg}` : `from ${peer}: ${msg}`;
}

/**
 * A listener refused or misled us before proving it holds the job secret. It may not be
 * our peer at all (a stale pod, another job, an attacker), so nothing it said is trusted
 * or repeated, and the attempt is retried like an unreachable peer.
 */
export class UnverifiedPeerError extends Error {
  readonly peer: string;

  constructor(peer: string, detail: string) {
    super(`${peer}: ${detail}`);
    this.name = 'UnverifiedPeerError';
    this.peer = peer;
  }
}
