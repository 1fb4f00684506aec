/**
 * Wire format between ranks: a 5-byte header (payload length as u32 big-endian, then a
 * type byte) and the payload. DATA payloads are raw float32 bytes and are handed on as
 * they arrive so a receiver can copy them straight into place; every other frame is a
 * small control message delivered whole. The parser is pure: bytes in, callbacks out.
 */

export const FrameType = {
  /** Server -> client: the server's nonce. */
  Challenge: 1,
  /** Client -> server: identity, the client's nonce, and HMAC over the server's nonce. */
  Hello: 2,
  /** Server -> client: HMAC over the client's nonce (mutual authentication). */
  Welcome: 3,
  /** Either way: refusal with a reason; the sender closes next. */
  Reject: 4,
  /** Rank -> master: rank, ring address, job id, model fingerprint. */
  Register: 5,
  /** Master -> rank: every rank's ring address. */
  Membership: 6,
  /** Header of one collective, so ranks that call different collectives fail loudly. */
  Op: 7,
  /** Raw float32 bytes of a collective. */
  Data: 8,
  /** Liveness while idle. */
  Heartbeat: 9,
  /** A rank saw the group fail; carries which peer was lost, so everyone names the same one. */
  Abort: 10,
  /** Orderly leave. */
  Bye: 11,
} as const;
export type FrameType = (typeof FrameType)[keyof typeof FrameType];

export const HEADER_BYTES = 5;

const TYPE_NAMES = new Map<number, string>(Object.entries(FrameType).map(([k, v]) => [v, k]));

export function frameTypeName(type: number): string {
  return TYPE_NAMES.get(type) ?? `unknown(0x${type.toString(16).padStart(2, '0')})`;
}

/** Garbage on the wire; the connection must be closed. */
export class FrameFormatError extends Error {
  constructor(detail: string) {
    super(detail);
    this.name = 'FrameFormatError';
  }
}

export function encodeHeader(type: FrameType, payloadBytes: number): Buffer {
  const h = Buffer.allocUnsafe(HEADER_BYTES);
  h.writeUInt32BE(payloadBytes, 0);
  h.writeUInt8(type, 4);
  return h;
}

export function encodeFrame(type: FrameType, payload: Uint8Array = new Uint8Array(0)): Buffer {
  return Buffer.concat([encodeHeader(type, payload.byteLength), payload]);
}

export interface FrameSink {
  /** A piece of a DATA frame's payload, in stream order; the buffer is the caller's to keep. */
  onData(bytes: Buffer): void;
  /** A whole control frame. */
  onFrame(type: FrameType, payload: Buffer): void;
}

export interface FrameLimits {
  /** Largest control payload accepted. Kept small before authentication so strangers cannot make us allocate. */
  maxControlBytes: number;
  /** Largest DATA payload accepted. */
  maxDataBytes: number;
}

export class FrameParser {
  private readonly header = Buffer.alloc(HEADER_BYTES);
  private headerFill = 0;
  private type: FrameType | undefined;
  private remaining = 0;
  private control: Buffer[] = [];
  private streamOffset = 0;
  private allowed: ReadonlySet<number>;

  constructor(
    private readonly sink: FrameSink,
    private limits: FrameLimits,
    allowed: Iterable<FrameType>,
  ) {
    this.allowed = new Set(allowed);
  }

  /** Changes which frame types are legal, e.g. DATA only after authentication. */
  setAllowed(allowed: Iterable<FrameType>, limits?: FrameLimits): void {
    this.allowed = new Set(allowed);
    if (limits) this.limits = limits;
  }

  /** Feeds received bytes; throws FrameFormatError on garbage. */
  push(chunk: Buffer): void {
    let pos = 0;
    while (pos < chunk.length) {
      if (this.type === undefined) {
        const take = Math.min(HEADER_BYTES - this.headerFill, chunk.length - pos);
        chunk.copy(this.header, this.headerFill, pos, pos + take);
        this.headerFill += take;
        pos += take;
        this.streamOffset += take;
        if (this.headerFill === HEADER_BYTES) this.startFrame();
        continue;
      }
      const take = Math.min(this.remaining, chunk.length - pos);
      const piece = chunk.subarray(pos, pos + take);
      pos += take;
      this.streamOffset += take;
      this.remaining -= take;
      if (this.type === FrameType.Data) {
        if (take > 0) this.sink.onData(piece);
      } else {
        this.control.push(piece);
      }
      if (this.remaining === 0) this.endFrame();
    }
  }

  private startFrame(): void {
    const length = this.header.readUInt32BE(0);
    const type = this.header.readUInt8(4);
    const at = `frame at stream byte ${this.streamOffset - HEADER_BYTES}`;
    if (!TYPE_NAMES.has(type)) throw new FrameFormatError(`${at}: bad frame type 0x${type.toString(16).padStart(2, '0')}`);
    if (!this.allowed.has(type)) throw new FrameFormatError(`${at}: unexpected ${frameTypeName(type)} frame`);
    const max = type === FrameType.Data ? this.limits.maxDataBytes : this.limits.maxControlBytes;
    if (length > max) throw new FrameFormatError(`${at}: ${frameTypeName(type)} frame of ${length} bytes exceeds the limit of ${max}`);
    this.headerFill = 0;
    this.type = type as FrameType;
    this.remaining = length;
    this.control = [];
    if (length === 0) this.endFrame();
  }

  private endFrame(): void {
    const type = this.type;
    this.type = undefined;
    if (type === undefined || type === FrameType.Data) return;
    const payload = this.control.length === 1 ? this.control[0] : Buffer.concat(this.control);
    this.control = [];
    this.sink.onFrame(type, payload ?? Buffer.alloc(0));
  }
}
