/**
 * The authentication exchange on a fresh connection, before any other frame is allowed:
 *   server -> CHALLENGE(server nonce)
 *   client -> HELLO(role, rank, job id, client nonce, HMAC over server nonce + identity)
 *   server -> WELCOME(HMAC over both nonces + identity)   or REJECT and close
 * The client checks WELCOME, so a listener without the secret cannot pose as a peer either.
 */
import { endianness } from 'node:os';
import { clientProof, NONCE_BYTES, newNonce, proofMatches, serverProof, type Identity } from './auth.js';
import type { Conn } from './conn.js';
import { PeerRejectedError } from './conn.js';
import { PeerAuthError } from './errors.js';
import { FrameType } from './framing.js';
import { decodeHello, encodeMsg, type HelloMsg, type Role } from './messages.js';

const ENDIAN = endianness();

/** Proves our identity to a server and checks the server's proof. Throws PeerAuthError when either fails. */
export async function handshakeAsClient(conn: Conn, secret: Buffer, id: Identity, timeoutMs: number): Promise<void> {
  try {
    const serverNonce = await conn.expect(FrameType.Challenge, timeoutMs, 'handshake challenge');
    if (serverNonce.length !== NONCE_BYTES) throw new PeerAuthError(conn.label, `challenge nonce of ${serverNonce.length} bytes`);
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
      const err = new PeerAuthError(conn.label, 'the server failed to prove it holds the job secret (wrong secret or another job)');
      conn.fail(err);
      throw err;
    }
  } catch (err) {
    if (err instanceof PeerRejectedError) throw new PeerAuthError(conn.label, `refused our handshake: ${err.reject.reason}`);
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
