import { DataFormatError } from '../../util/errors.js';

/**
 * MXNet's image record payload (mx.recordio.pack / unpack): a 24-byte little-endian
 * IRHeader { flag: uint32, label: float32, id: uint64, id2: uint64 }, then, when flag > 0,
 * `flag` float32 labels (and the header's label field is ignored), then the image bytes.
 */
export const IR_HEADER_BYTES = 24;
const MAX_UINT64 = (1n << 64n) - 1n;

export interface ImageRecordHeader {
  /** One label is stored in the header (flag 0); more are stored after it (flag = count). */
  labels: readonly number[];
  id: bigint | number;
  id2?: bigint | number;
}

export interface ImageRecord {
  flag: number;
  /** Always a list: [header label] when flag is 0. Values are float32-rounded. */
  labels: number[];
  /** uint64 ids as bigint, since MXNet ids may exceed 2^53; see `safeId`. */
  id: bigint;
  id2: bigint;
  /** A view into the payload. */
  image: Buffer;
}

export function packImageRecord(header: ImageRecordHeader, image: Uint8Array): Buffer {
  const { labels } = header;
  if (labels.length === 0) throw new RangeError('packImageRecord: at least one label is required');
  const id = toUint64(header.id, 'id');
  const id2 = toUint64(header.id2 ?? 0n, 'id2');
  const extra = labels.length === 1 ? 0 : labels.length;
  const out = Buffer.allocUnsafe(IR_HEADER_BYTES + 4 * extra + image.length);
  out.writeUInt32LE(extra, 0);
  // MXNet's pack writes label 0 in the header when the labels follow it.
  out.writeFloatLE(extra === 0 ? labels[0] : 0, 4);
  out.writeBigUInt64LE(id, 8);
  out.writeBigUInt64LE(id2, 16);
  for (let i = 0; i < extra; i++) out.writeFloatLE(labels[i], IR_HEADER_BYTES + 4 * i);
  out.set(image, IR_HEADER_BYTES + 4 * extra);
  return out;
}

/** Parses a record payload; `uri` and `offset` (the record's offset) go into errors. */
export function unpackImageRecord(payload: Uint8Array, uri: string, offset: number): ImageRecord {
  const parsed = parseImageRecord(payload);
  if (typeof parsed === 'string') throw new DataFormatError(uri, offset, parsed);
  return parsed;
}

/** The image record in `payload`, or undefined when it cannot be one. */
export function tryUnpackImageRecord(payload: Uint8Array): ImageRecord | undefined {
  const parsed = parseImageRecord(payload);
  return typeof parsed === 'string' ? undefined : parsed;
}

/** A uint64 id as a number, or a RangeError naming the field when it exceeds 2^53 - 1. */
export function safeId(value: bigint, field = 'id'): number {
  if (value > BigInt(Number.MAX_SAFE_INTEGER)) {
    throw new RangeError(`image record ${field} ${value} exceeds 2^53 - 1 and cannot be a JavaScript number`);
  }
  return Number(value);
}

// Returns the problem as a string so that tryUnpackImageRecord does not pay for exceptions.
function parseImageRecord(payload: Uint8Array): ImageRecord | string {
  const buf = Buffer.isBuffer(payload) ? payload : Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength);
  if (buf.length < IR_HEADER_BYTES) {
    return `image record payload is ${buf.length} bytes, shorter than the ${IR_HEADER_BYTES}-byte IRHeader`;
  }
  const flag = buf.readUInt32LE(0);
  const labelBytes = 4 * flag;
  if (labelBytes > buf.length - IR_HEADER_BYTES) {
    return `IRHeader flag ${flag} calls for ${labelBytes} label bytes but only ${buf.length - IR_HEADER_BYTES} follow the header`;
  }
  const labels: number[] = [];
  if (flag === 0) labels.push(buf.readFloatLE(4));
  for (let i = 0; i < flag; i++) labels.push(buf.readFloatLE(IR_HEADER_BYTES + 4 * i));
  return {
    flag,
    labels,
    id: buf.readBigUInt64LE(8),
    id2: buf.readBigUInt64LE(16),
    image: buf.subarray(IR_HEADER_BYTES + labelBytes),
  };
}

function toUint64(value: bigint | number, field: string): bigint {
  if (typeof value === 'number' && !Number.isSafeInteger(value)) {
    throw new RangeError(`packImageRecord: ${field} ${value} is not a safe integer; pass a bigint`);
  }
  const big = BigInt(value);
  if (big < 0n || big > MAX_UINT64) throw new RangeError(`packImageRecord: ${field} ${value} is outside uint64`);
  return big;
}
