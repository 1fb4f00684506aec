import t from 'tap';
import { clientProof, newNonce, proofMatches, serverProof } from '../../../trainer/dist/auth.js';
import { FrameFormatError, FrameParser, FrameType, encodeFrame, type FrameLimits } from '../../../trainer/dist/framing.js';
import { decodeHello, decodeMembership, decodeOp, encodeMsg } from '../../../trainer/dist/messages.js';

const LIMITS: FrameLimits = { maxControlBytes: 64, maxDataBytes: 1024 };
const ALL = Object.values(FrameType);

function collect(allowed: FrameType[] = ALL, limits = LIMITS) {
  const data: Buffer[] = [];
  const frames: [number, string][] = [];
  const parser = new FrameParser(
    { onData: (b) => data.push(Buffer.from(b)), onFrame: (type, p) => frames.push([type, p.toString()]) },
    limits,
    allowed,
  );
  return { parser, data, frames };
}

t.test('frames split at every byte boundary parse the same', async (t) => {
  const payload = Buffer.from(Array.from({ length: 300 }, (_, i) => i & 0xff));
  const wire = Buffer.concat([
    encodeFrame(FrameType.Op, Buffer.from('{"x":1}')),
    encodeFrame(FrameType.Data, payload),
    encodeFrame(FrameType.Heartbeat),
    encodeFrame(FrameType.Data, payload.subarray(0, 5)),
  ]);
  for (const step of [1, 2, 3, 5, 7, 64, wire.length]) {
    const { parser, data, frames } = collect();
    for (let i = 0; i < wire.length; i += step) parser.push(wire.subarray(i, i + step));
    t.same(frames, [[FrameType.Op, '{"x":1}'], [FrameType.Heartbeat, '']], `control frames, step ${step}`);
    t.same(Buffer.concat(data), Buffer.concat([payload, payload.subarray(0, 5)]), `data bytes in order, step ${step}`);
  }
});

t.test('garbage is rejected with where and what', async (t) => {
  t.throws(() => collect().parser.push(Buffer.from('GET / HTTP/1.1\r\n')), /frame at stream byte 0: bad frame type 0x2f/);
  const big = Buffer.alloc(5);
  big.writeUInt32BE(65, 0);
  big.writeUInt8(FrameType.Op, 4);
  t.throws(() => collect().parser.push(big), /Op frame of 65 bytes exceeds the limit of 64/);
  const later = Buffer.concat([encodeFrame(FrameType.Heartbeat), Buffer.from([0, 0, 0, 1, 0xee])]);
  t.throws(() => collect().parser.push(later), /stream byte 5: bad frame type 0xee/);
  const err = t.throws(() => collect([FrameType.Challenge, FrameType.Hello]).parser.push(encodeFrame(FrameType.Data, Buffer.alloc(4))));
  t.ok(err instanceof FrameFormatError);
  t.match(String(err), /unexpected Data frame/, 'DATA before authentication is refused');
});

t.test('allowed types and limits can widen after authentication', async (t) => {
  const { parser, data } = collect([FrameType.Welcome], { maxControlBytes: 64, maxDataBytes: 0 });
  parser.push(encodeFrame(FrameType.Welcome, Buffer.alloc(32)));
  parser.setAllowed([FrameType.Data], LIMITS);
  parser.push(encodeFrame(FrameType.Data, Buffer.alloc(512, 7)));
  t.equal(Buffer.concat(data).length, 512);
});

t.test('HMAC proofs bind secret, nonce, role, rank and job id', async (t) => {
  const secret = Buffer.from('0123456789abcdef0123');
  const nonce = newNonce();
  const id = { role: 'ring' as const, rank: 2, jobId: 'job-a' };
  const good = clientProof(secret, nonce, id);
  t.ok(proofMatches(good, clientProof(secret, nonce, id)));
  t.notOk(proofMatches(good, clientProof(Buffer.from('another-secret-xyz'), nonce, id)), 'other secret');
  t.notOk(proofMatches(good, clientProof(secret, newNonce(), id)), 'other nonce (replay)');
  t.notOk(proofMatches(good, clientProof(secret, nonce, { ...id, rank: 3 })), 'other rank');
  t.notOk(proofMatches(good, clientProof(secret, nonce, { ...id, jobId: 'job-b' })), 'other job');
  t.notOk(proofMatches(good, clientProof(secret, nonce, { ...id, role: 'master' })), 'other role');
  t.notOk(proofMatches(good, serverProof(secret, nonce, nonce, id)), 'server proof differs from client proof');
  t.notOk(proofMatches(good, good.subarray(0, 16)), 'truncated');
});

t.test('control messages are checked field by field', async (t) => {
  const hello = { role: 'ring', rank: 1, jobId: 'j', nonce: 'a'.repeat(64), mac: 'b'.repeat(64), endian: 'LE' };
  t.same(decodeHello(encodeMsg(hello)), hello);
  t.throws(() => decodeHello(encodeMsg({ ...hello, rank: -1 })), /field rank/);
  t.throws(() => decodeHello(encodeMsg({ ...hello, mac: 'zz' })), /32 bytes of hex/);
  t.throws(() => decodeHello(Buffer.from('not json')), /not JSON/);
  t.throws(() => decodeOp(encodeMsg({ seq: 0, kind: 'gather', length: 1, root: 0 })), /field kind/);
  t.throws(() => decodeMembership(encodeMsg({ members: [{ rank: 1, host: 'h', port: 1 }] }), 1), /field rank/);
});
