/**
 * The authentication exchange on a fresh connection, before any other frame is allowed:
 *   server -> CHALLENGE(server nonce)
 *   client -> HELLO(role, rank, job id, client nonce, HMAC over server nonce + identity)
 *   server -> WELCOME(HMAC over both nonces + identity)   or REJECT and close
 * The client checks WELCOME, so a listener without the secret cannot pose as a peer either;
 * until it has, anything it sends (a REJECT, a bad WELCOME, garbage) is an
 * UnverifiedPeerError: retried, and its text never repeated.
 */
import { endianness } from 'node:os';
import { clientProof, NONCE_BYTES, newNonce, proofMatches, serverProof, type Identity } from './auth.js';
import type { Conn } from './conn.js';
import { PeerRejectedError } from './conn.js';
import { PeerAuthError, UnverifiedPeerError } from './errors.js';
import { FrameType } from './framing.js';
import { decodeHello, encodeMsg, type HelloMsg, type Role } from './messages.js';

const ENDIAN = endianness();

/**
 * Proves our identity to a server and checks the server's proof. Throws
 * UnverifiedPeerError when the server refuses us or fails its proof: it has not shown it
 * holds the secret, so it may not be our peer, and what it says is not passed on.
 */
export async function handshakeAsClient(conn: Conn, secret: Buffer, id: Identity, timeoutMs: number): Promise<void> {
  try {
    const serverNonce = await conn.expect(FrameType.Challenge, timeoutMs, 'handshake challenge');
    if (serverNonce.length !== NONCE_BYTES) throw new UnverifiedPeerError(conn.label, `sent a challenge nonce of ${serverNonce.length} bytes`);
    const clientNonce = newNonce();
    const hello: HelloMsg = {
      role: id.role,
      rank: id.rank,
      jobId: id.jobId,
      nonce: clientNonce.toString('hex'),
      mac: clientProof(secret, serverNonce, id).toString('hex'),
      endian: ENDIAN,
    };
    await conn.send(FrameType.Hello, encodeMsg(hello));
    const welcome = await conn.expect(FrameType.Welcome, timeoutMs, 'handshake welcome');
    if (!proofMatches(serverProof(secret, clientNonce, serverNonce, id), welcome)) {
      const err = new UnverifiedPeerError(conn.label, 'the server failed to prove it holds the job secret (wrong secret on one side, or another job)');
      conn.fail(err);
      throw err;
    }
  } catch (err) {
    if (err instanceof PeerRejectedError) {
      throw new UnverifiedPeerError(conn.label, 'refused our handshake before proving it holds the job secret (wrong secret on one side, or another job; its reason is not trusted)');
    }
    throw err;
  }
}

/**
 * Challenges a client and checks its proof for our job id. On failure sends REJECT
 * (without saying which check failed), closes, and throws PeerAuthError.
 */
export async function handshakeAsServer(
  conn: Conn,
  secret: Buffer,
  role: Role,
  jobId: string,
  timeoutMs: number,
  expectRank?: number,
): Promise<HelloMsg> {
  const serverNonce = newNonce();
  await conn.send(FrameType.Challenge, serverNonce);
  const hello = decodeHello(await conn.expect(FrameType.Hello, timeoutMs, 'handshake hello'));
  const id: Identity = { role, rank: hello.rank, jobId };
  const refuse = (detail: string, reason: string): never => {
    const err = new PeerAuthError(conn.label, detail);
    conn.finish(FrameType.Reject, encodeMsg({ reason, code: 'auth', missing: [] }), err);
    throw err;
  };
  if (hello.role !== role) refuse(`claims role ${hello.role} on the ${role} port`, `this is the ${role} port`);
  if (!proofMatches(clientProof(secret, serverNonce, id), Buffer.from(hello.mac, 'hex'))) {
    refuse(`bad HMAC for rank ${hello.rank} (wrong secret, or job ${JSON.stringify(hello.jobId)} is not ours)`, 'authentication failed');
  }
  if (expectRank !== undefined && hello.rank !== expectRank) {
    refuse(`rank ${hello.rank} connected, but only rank ${expectRank} may connect here`, `expected rank ${expectRank}`);
  }
  if (hello.endian !== ENDIAN) refuse(`byte order ${hello.endian} differs from ours (${ENDIAN})`, `byte order must be ${ENDIAN}`);
  await conn.send(FrameType.Welcome, serverProof(secret, Buffer.from(hello.nonce, 'hex'), serverNonce, id));
  return hello;
}
