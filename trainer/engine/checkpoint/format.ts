import { createHash } from 'node:crypto';
import { DataFormatError } from '../../util/errors.js';
import type { RngState } from '../../util/rng.js';

/**
 * A checkpoint is one self-describing file, so that writing it is a single atomic
 * operation on a local disk (rename) and on S3 (PUT):
 *
 *   "CIFARCKP" (8 bytes) | version uint32 LE | header length uint32 LE | header JSON (UTF-8)
 *   | float32 LE tensor data, in header order
 *
 * The header carries a SHA-256 of the tensor data, checked on load, so a damaged file
 * is refused instead of silently resuming from garbage.
 */
export const CHECKPOINT_MAGIC = 'CIFARCKP';
export const CHECKPOINT_VERSION = 1;

export interface TensorRecord {
  name: string;
  shape: number[];
  values: Float32Array;
}

/** Where training stands: enough to continue exactly where it stopped. */
export interface TrainingPosition {
  /** 0-based epoch in progress. */
  epoch: number;
  /** Number of batches of `epoch` already applied. */
  stepInEpoch: number;
  /** Total optimizer updates so far. */
  globalStep: number;
}

export interface CheckpointContents {
  position: TrainingPosition;
  seed: number;
  /** Free-form state owned by the trainer (per-epoch metrics so far, config fingerprint, RNG). */
  trainer: Record<string, unknown>;
  rng?: RngState;
  model: TensorRecord[];
  optimizer: TensorRecord[];
}

interface HeaderTensor {
  name: string;
  shape: number[];
  length: number;
}

interface Header {
  position: TrainingPosition;
  seed: number;
  trainer: Record<string, unknown>;
  rng?: RngState;
  model: HeaderTensor[];
  optimizer: HeaderTensor[];
  dataSha256: string;
  createdAt: string;
}

export function encodeCheckpoint(contents: CheckpointContents, now: Date = new Date()): Buffer {
  const tensors = [...contents.model, ...contents.optimizer];
  const totalValues = tensors.reduce((n, t) => n + t.values.length, 0);
  const data = Buffer.alloc(totalValues * 4);
  let offset = 0;
  for (const t of tensors) {
    const bytes = Buffer.from(t.values.buffer, t.values.byteOffset, t.values.byteLength);
    if (isLittleEndian) bytes.copy(data, offset);
    else for (let i = 0; i < t.values.length; i++) data.writeFloatLE(t.values[i], offset + i * 4);
    offset += t.values.byteLength;
  }
  const describe = (t: TensorRecord): HeaderTensor => ({ name: t.name, shape: t.shape, length: t.values.length });
  const header: Header = {
    position: contents.position,
    seed: contents.seed,
    trainer: contents.trainer,
    ...(contents.rng ? { rng: contents.rng } : {}),
    model: contents.model.map(describe),
    optimizer: contents.optimizer.map(describe),
    dataSha256: createHash('sha256').update(data).digest('hex'),
    createdAt: now.toISOString(),
  };
  const headerBytes = Buffer.from(JSON.stringify(header), 'utf8');
  const prefix = Buffer.alloc(16);
  prefix.write(CHECKPOINT_MAGIC, 0, 'ascii');
  prefix.writeUInt32LE(CHECKPOINT_VERSION, 8);
  prefix.writeUInt32LE(headerBytes.length, 12);
  return Buffer.concat([prefix, headerBytes, data]);
}

export function decodeCheckpoint(bytes: Buffer, uri: string): CheckpointContents & { createdAt: string } {
  if (bytes.length < 16 || bytes.toString('ascii', 0, 8) !== CHECKPOINT_MAGIC) {
    throw new DataFormatError(uri, 0, `not a cifar-operator checkpoint (expected magic '${CHECKPOINT_MAGIC}')`);
  }
  const version = bytes.readUInt32LE(8);
  if (version !== CHECKPOINT_VERSION) throw new DataFormatError(uri, 8, `checkpoint version ${version} is not supported (expected ${CHECKPOINT_VERSION})`);
  const headerLength = bytes.readUInt32LE(12);
  if (16 + headerLength > bytes.length) throw new DataFormatError(uri, 12, `header length ${headerLength} runs past the end of the ${bytes.length}-byte file`);
  let header: Header;
  try {
    header = JSON.parse(bytes.toString('utf8', 16, 16 + headerLength)) as Header;
  } catch (err) {
    throw new DataFormatError(uri, 16, `checkpoint header is not valid JSON: ${(err as Error).message}`);
  }
  const dataStart = 16 + headerLength;
  const data = bytes.subarray(dataStart);
  const described = [...header.model, ...header.optimizer];
  const expectedBytes = described.reduce((n, t) => n + t.length * 4, 0);
  if (data.length !== expectedBytes) {
    throw new DataFormatError(uri, dataStart, `tensor data is ${data.length} bytes, header describes ${expectedBytes} (truncated or damaged checkpoint)`);
  }
  const digest = createHash('sha256').update(data).digest('hex');
  if (digest !== header.dataSha256) throw new DataFormatError(uri, dataStart, 'tensor data does not match its SHA-256 (damaged checkpoint)');

  let offset = 0;
  const take = (t: HeaderTensor): TensorRecord => {
    const values = new Float32Array(t.length);
    if (isLittleEndian) new Uint8Array(values.buffer).set(data.subarray(offset, offset + t.length * 4));
    else for (let i = 0; i < t.length; i++) values[i] = data.readFloatLE(offset + i * 4);
    offset += t.length * 4;
    return { name: t.name, shape: t.shape, values };
  };
  const model = header.model.map(take);
  const optimizer = header.optimizer.map(take);
  return {
    position: header.position,
    seed: header.seed,
    trainer: header.trainer,
    ...(header.rng ? { rng: header.rng } : {}),
    model,
    optimizer,
    createdAt: header.createdAt,
  };
}

const isLittleEndian = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** File name of a checkpoint: sortable by global step, and telling where it was taken. */
export function checkpointName(position: TrainingPosition): string {
  return `ckpt-${String(position.globalStep).padStart(9, '0')}-e${position.epoch}-s${position.stepInEpoch}.ckpt`;
}

/** The global step encoded in a checkpoint name, or undefined for other files. */
export function parseCheckpointName(name: string): number | undefined {
  const m = /^ckpt-(\d{9})-e\d+-s\d+\.ckpt$/.exec(name);
  return m ? Number(m[1]) : undefined;
}
