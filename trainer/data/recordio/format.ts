/**
 * The dmlc-core RecordIO wire format (as MXNet's .rec files use it).
 *
 * Every physical part is: uint32 LE magic, uint32 LE lrecord = (cflag << 29) | length,
 * then `length` payload bytes zero-padded to a multiple of 4. A logical record whose
 * payload contains the magic at a 4-byte-aligned offset is split there: the magic word is
 * dropped and readers put it back between parts. Escaping the magic this way means an
 * aligned magic word in a file is always a header, which is what lets a reader find record
 * starts from an arbitrary aligned offset (see shard.ts).
 */

export const RECORDIO_MAGIC = 0xced7230a;
/** The magic as it appears on disk, for byte searches. */
export const MAGIC_BYTES: Buffer = Buffer.from([0x0a, 0x23, 0xd7, 0xce]);
export const HEADER_BYTES = 8;
/** Payloads (and parts) must be shorter than this: the length field has 29 bits. */
export const MAX_RECORD_BYTES = 2 ** 29;
const LENGTH_MASK = MAX_RECORD_BYTES - 1;

/** The cflag of a physical part: where it sits in its logical record. */
// A const object rather than an enum so that per-file transpilers (tsx, tap) inline nothing.
export const CFlag = { Whole: 0, First: 1, Middle: 2, Last: 3 } as const;
export type CFlag = (typeof CFlag)[keyof typeof CFlag];

export function encodeLRecord(cflag: CFlag, length: number): number {
  return ((cflag << 29) | length) >>> 0;
}

export function decodeCFlag(lrecord: number): number {
  return lrecord >>> 29;
}

export function decodeLength(lrecord: number): number {
  return lrecord & LENGTH_MASK;
}

/** Bytes a part of `length` payload bytes occupies after padding. */
export function padded(length: number): number {
  return (length + 3) & ~3;
}

/** True when a part with this cflag begins a logical record. */
export function isRecordStart(cflag: number): boolean {
  return cflag === CFlag.Whole || cflag === CFlag.First;
}

function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/**
 * Aligned offsets at which the payload holds the magic (only whole words count, as in
 * dmlc's RecordIOWriter::WriteRecord). Uses indexOf so that payloads without the magic,
 * the common case, cost one memchr-like scan.
 */
export function alignedMagicOffsets(payload: Uint8Array): number[] {
  const buf = asBuffer(payload);
  const lastWord = buf.length - 4;
  const found: number[] = [];
  for (let at = buf.indexOf(MAGIC_BYTES, 0); at >= 0 && at <= lastWord; at = buf.indexOf(MAGIC_BYTES, at + 1)) {
    if ((at & 3) === 0) found.push(at);
  }
  return found;
}

/** Size in bytes of the encoded form of a payload, given its aligned magic offsets. */
export function encodedSize(payloadLength: number, magicCount: number): number {
  // Each escaped magic word turns into one extra header; the dropped word itself
  // cancels against the 4 bytes of that header's magic.
  return HEADER_BYTES + padded(payloadLength) + magicCount * (HEADER_BYTES - 4);
}

/**
 * The exact bytes dmlc's writer emits for one logical record.
 * Throws RangeError for payloads of 2^29 bytes or more, which the format cannot express.
 */
export function encodeRecord(payload: Uint8Array): Buffer {
  if (payload.length >= MAX_RECORD_BYTES) {
    throw new RangeError(`RecordIO record of ${payload.length} bytes is too large: the limit is ${MAX_RECORD_BYTES - 1} bytes (2^29 - 1)`);
  }
  const src = asBuffer(payload);
  const magics = alignedMagicOffsets(src);
  const out = Buffer.allocUnsafe(encodedSize(src.length, magics.length));
  let pos = 0;
  let from = 0;
  const writePart = (cflag: CFlag, end: number): void => {
    out.writeUInt32LE(RECORDIO_MAGIC, pos);
    out.writeUInt32LE(encodeLRecord(cflag, end - from), pos + 4);
    pos += HEADER_BYTES + src.copy(out, pos + HEADER_BYTES, from, end);
  };
  for (const at of magics) {
    writePart(from === 0 ? CFlag.First : CFlag.Middle, at);
    from = at + 4;
  }
  writePart(from === 0 ? CFlag.Whole : CFlag.Last, src.length);
  out.fill(0, pos);
  return out;
}
