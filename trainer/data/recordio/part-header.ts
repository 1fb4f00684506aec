import { DataFormatError } from '../../util/errors.js';
import { RECORDIO_MAGIC, decodeCFlag, decodeLength, isRecordStart } from './format.js';

export interface PartHeader {
  cflag: number;
  length: number;
}

const CFLAG_NAMES = ['whole record', 'first part', 'middle part', 'last part'];

/**
 * Checks one part header against the format and against the part sequence so far:
 * `recordStart` is undefined when a new record must begin here, else the offset of the
 * record this part continues. Every failure names the source and the header's offset.
 */
export function checkPartHeader(
  uri: string,
  offset: number,
  magic: number,
  lrecord: number,
  recordStart: number | undefined,
): PartHeader {
  if (magic !== RECORDIO_MAGIC) {
    const where = recordStart === undefined ? 'not a record start' : `inside the record that starts at ${recordStart}`;
    throw new DataFormatError(uri, offset, `bad RecordIO magic 0x${hex(magic)} (expected 0x${hex(RECORDIO_MAGIC)}): ${where}`);
  }
  const cflag = decodeCFlag(lrecord);
  const length = decodeLength(lrecord);
  if (cflag > 3) {
    throw new DataFormatError(
      uri,
      offset,
      `lrecord 0x${hex(lrecord)} has cflag ${cflag} (valid: 0-3); read as a length it is 2^29 or more, which RecordIO cannot hold`,
    );
  }
  if (recordStart === undefined && !isRecordStart(cflag)) {
    throw new DataFormatError(
      uri,
      offset,
      `part has cflag ${cflag} (${CFLAG_NAMES[cflag]}) where a record must start (cflag 0 or 1): ` +
        'the offset points inside a record, or the first part is missing',
    );
  }
  if (recordStart !== undefined && isRecordStart(cflag)) {
    throw new DataFormatError(
      uri,
      offset,
      `part has cflag ${cflag} (${CFLAG_NAMES[cflag]}) but the record that starts at ${recordStart} is not closed (expected cflag 2 or 3)`,
    );
  }
  return { cflag, length };
}

/** Payload of a multi-part record: the parts with the magic put back between them. */
export function joinParts(parts: Buffer[]): Buffer {
  const magic = Buffer.allocUnsafe(4);
  magic.writeUInt32LE(RECORDIO_MAGIC, 0);
  const pieces: Buffer[] = [];
  parts.forEach((part, i) => {
    if (i > 0) pieces.push(magic);
    pieces.push(part);
  });
  return Buffer.concat(pieces);
}

function hex(n: number): string {
  return n.toString(16).padStart(8, '0');
}
