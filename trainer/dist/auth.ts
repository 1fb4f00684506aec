/**
 * HMAC-SHA256 challenge-response, both ways. The server proves nothing by accepting a
 * connection and the client proves nothing by connecting: each side MACs the other's
 * fresh nonce together with the claimed identity (role, rank, job id), so a proof cannot
 * be replayed on another connection, for another rank, or into another job.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Role } from './messages.js';

export const NONCE_BYTES = 32;

export interface Identity {
  role: Role;
  rank: number;
  jobId: string;
}

export function newNonce(): Buffer {
  return randomBytes(NONCE_BYTES);
}

/** Unambiguous encoding: fixed-width fields and a length-prefixed job id. */
function identityBytes(id: Identity): Buffer {
  const job = Buffer.from(id.jobId, 'utf8');
  const b = Buffer.alloc(1 + 4 + 4 + job.length);
  b.writeUInt8(id.role === 'master' ? 1 : 2, 0);
  b.writeUInt32BE(id.rank, 1);
  b.writeUInt32BE(job.length, 5);
  job.copy(b, 9);
  return b;
}

/** What the client sends: HMAC(secret, "client" || serverNonce || identity). */
export function clientProof(secret: Buffer, serverNonce: Buffer, id: Identity): Buffer {
  return createHmac('sha256', secret)
    .update('cifar-dist-v1 client\0')
    .update(serverNonce)
    .update(identityBytes(id))
    .digest();
}

/** What the server answers: HMAC(secret, "server" || clientNonce || serverNonce || identity). */
export function serverProof(secret: Buffer, clientNonce: Buffer, serverNonce: Buffer, id: Identity): Buffer {
  return createHmac('sha256', secret)
    .update('cifar-dist-v1 server\0')
    .update(clientNonce)
    .update(serverNonce)
    .update(identityBytes(id))
    .digest();
}

/** Constant-time comparison; false for any length mismatch. */
export function proofMatches(expected: Buffer, got: Buffer): boolean {
  return expected.length === got.length && timingSafeEqual(expected, got);
}
