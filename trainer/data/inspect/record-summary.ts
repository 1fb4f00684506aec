import { createHash } from 'node:crypto';
import { tryUnpackImageRecord, safeId } from '../recordio/image-record.js';

/** One record as `cifar-trainer inspect --json` prints it. */
export interface RecordListing {
  index: number;
  offset: number;
  id: number | string | null;
  id2: number | string | null;
  labels: number[] | null;
  payloadBytes: number;
  payloadSha256: string;
}

/**
 * Describes a RecordIO payload. For MXNet image records the payload counted and
 * hashed is the image bytes after the IRHeader (and labels), so that a passthrough pack
 * can be checked against the source files; other records are described whole.
 */
export function describeRecord(index: number, offset: number, payload: Uint8Array): RecordListing {
  const image = tryUnpackImageRecord(payload);
  const body = image ? image.image : payload;
  return {
    index,
    offset,
    id: image ? idValue(image.id) : null,
    id2: image ? idValue(image.id2) : null,
    labels: image ? image.labels : null,
    payloadBytes: body.length,
    payloadSha256: createHash('sha256').update(body).digest('hex'),
  };
}

// JSON has no 64-bit integers: ids beyond 2^53 are printed as decimal strings.
function idValue(id: bigint): number | string {
  return id <= BigInt(Number.MAX_SAFE_INTEGER) ? safeId(id) : id.toString();
}

/** Sniffs the stored image format from its first bytes. */
export function imageFormat(bytes: Uint8Array): 'jpeg' | 'png' | 'other' {
  if (bytes.length >= 3 && bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff) return 'jpeg';
  if (bytes.length >= 4 && bytes[0] === 0x89 && bytes[1] === 0x50 && bytes[2] === 0x4e && bytes[3] === 0x47) return 'png';
  return 'other';
}

/** Running totals for the human summary. */
export class SummaryAccumulator {
  records = 0;
  imageRecords = 0;
  payloadBytes = 0;
  minPayload = Infinity;
  maxPayload = 0;
  readonly labelCounts = new Map<string, number>();
  readonly formats = new Map<string, number>();
  readonly offsets: number[] = [];

  add(offset: number, payload: Uint8Array): void {
    this.records++;
    this.offsets.push(offset);
    const image = tryUnpackImageRecord(payload);
    const body = image ? image.image : payload;
    this.payloadBytes += body.length;
    this.minPayload = Math.min(this.minPayload, body.length);
    this.maxPayload = Math.max(this.maxPayload, body.length);
    if (image) {
      this.imageRecords++;
      const key = image.labels.join(',');
      this.labelCounts.set(key, (this.labelCounts.get(key) ?? 0) + 1);
      const format = imageFormat(image.image);
      this.formats.set(format, (this.formats.get(format) ?? 0) + 1);
    }
  }

  /** Records whose first header lies in [start, end). */
  countInRange(start: number, end: number): number {
    let n = 0;
    for (const o of this.offsets) if (o >= start && o < end) n++;
    return n;
  }
}
