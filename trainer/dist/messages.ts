/**
 * The control messages carried in frames: JSON bodies, each checked field by field on
 * arrival because before authentication they come from anyone who can reach the port.
 */
import { FrameFormatError } from './framing.js';

export type Role = 'master' | 'ring';

export interface HelloMsg {
  role: Role;
  rank: number;
  jobId: string;
  /** Hex client nonce the server must prove it can MAC. */
  nonce: string;
  /** Hex HMAC over the server's nonce and this identity. */
  mac: string;
  /** Ranks exchange raw float32 bytes, so they must agree on byte order. */
  endian: 'LE' | 'BE';
}

export interface RegisterMsg {
  rank: number;
  worldSize: number;
  jobId: string;
  fingerprint: string;
  host: string;
  port: number;
}

export interface Member {
  rank: number;
  host: string;
  port: number;
}

export interface MembershipMsg {
  members: Member[];
}

export type OpKind = 'allreduce' | 'broadcast';

export interface OpMsg {
  seq: number;
  kind: OpKind;
  length: number;
  root: number;
}

/** Names the peer whose loss ended the group, as seen by the rank that noticed it. */
export interface AbortMsg {
  rank: number;
  address: string;
  detail: string;
  reportedBy: number;
}

export type RejectCode = 'auth' | 'mismatch' | 'timeout' | 'refused';

export interface RejectMsg {
  reason: string;
  /** Lets the refused rank raise the same kind of error as the rank that refused it. */
  code: RejectCode;
  /** Ranks that never arrived, for code 'timeout'. */
  missing: number[];
}

type Fields = Record<string, unknown>;

function parseObject(what: string, payload: Buffer): Fields {
  let v: unknown;
  try {
    v = JSON.parse(payload.toString('utf8'));
  } catch {
    throw new FrameFormatError(`${what}: payload is not JSON`);
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new FrameFormatError(`${what}: payload is not an object`);
  return v as Fields;
}

function str(what: string, o: Fields, key: string, max = 1024): string {
  const v = o[key];
  if (typeof v !== 'string' || v.length > max) throw new FrameFormatError(`${what}: field ${key} must be a string of at most ${max} characters`);
  return v;
}

function int(what: string, o: Fields, key: string, min: number, max: number): number {
  const v = o[key];
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
    throw new FrameFormatError(`${what}: field ${key} must be an integer in [${min}, ${max}]`);
  }
  return v;
}

function oneOf<T extends string>(what: string, o: Fields, key: string, options: readonly T[]): T {
  const v = o[key];
  if (typeof v !== 'string' || !(options as readonly string[]).includes(v)) {
    throw new FrameFormatError(`${what}: field ${key} must be one of ${options.join(', ')}`);
  }
  return v as T;
}

const HEX64 = /^[0-9a-f]{64}$/;
const U32 = 0xffffffff;

export function encodeMsg(msg: object): Buffer {
  return Buffer.from(JSON.stringify(msg), 'utf8');
}

export function decodeHello(p: Buffer): HelloMsg {
  const o = parseObject('Hello', p);
  const nonce = str('Hello', o, 'nonce', 64);
  const mac = str('Hello', o, 'mac', 64);
  if (!HEX64.test(nonce) || !HEX64.test(mac)) throw new FrameFormatError('Hello: nonce and mac must be 32 bytes of hex');
  return {
    role: oneOf('Hello', o, 'role', ['master', 'ring'] as const),
    rank: int('Hello', o, 'rank', 0, U32),
    jobId: str('Hello', o, 'jobId', 200),
    nonce,
    mac,
    endian: oneOf('Hello', o, 'endian', ['LE', 'BE'] as const),
  };
}

export function decodeRegister(p: Buffer): RegisterMsg {
  const o = parseObject('Register', p);
  return {
    rank: int('Register', o, 'rank', 0, U32),
    worldSize: int('Register', o, 'worldSize', 1, U32),
    jobId: str('Register', o, 'jobId', 200),
    fingerprint: str('Register', o, 'fingerprint', 256),
    host: str('Register', o, 'host', 255),
    port: int('Register', o, 'port', 1, 65535),
  };
}

export function decodeMembership(p: Buffer, worldSize: number): MembershipMsg {
  const o = parseObject('Membership', p);
  const list = o.members;
  if (!Array.isArray(list) || list.length !== worldSize) {
    throw new FrameFormatError(`Membership: expected ${worldSize} members`);
  }
  const members = list.map((m: unknown, i): Member => {
    if (typeof m !== 'object' || m === null) throw new FrameFormatError(`Membership: member ${i} is not an object`);
    const f = m as Fields;
    const rank = int('Membership', f, 'rank', i, i);
    return { rank, host: str('Membership', f, 'host', 255), port: int('Membership', f, 'port', 1, 65535) };
  });
  return { members };
}

export function decodeOp(p: Buffer): OpMsg {
  const o = parseObject('Op', p);
  return {
    seq: int('Op', o, 'seq', 0, Number.MAX_SAFE_INTEGER),
    kind: oneOf('Op', o, 'kind', ['allreduce', 'broadcast'] as const),
    length: int('Op', o, 'length', 0, Number.MAX_SAFE_INTEGER),
    root: int('Op', o, 'root', 0, U32),
  };
}

export function decodeAbort(p: Buffer): AbortMsg {
  const o = parseObject('Abort', p);
  return {
    rank: int('Abort', o, 'rank', 0, U32),
    address: str('Abort', o, 'address', 300),
    detail: str('Abort', o, 'detail', 2000),
    reportedBy: int('Abort', o, 'reportedBy', 0, U32),
  };
}

export function decodeReject(p: Buffer): RejectMsg {
  const o = parseObject('Reject', p);
  const missing = Array.isArray(o.missing) ? o.missing.filter((x): x is number => Number.isInteger(x)) : [];
  return {
    reason: str('Reject', o, 'reason', 2000),
    code: oneOf('Reject', o, 'code', ['auth', 'mismatch', 'timeout', 'refused'] as const),
    missing,
  };
}

export function formatAddress(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}
