import { Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import type { ByteSource } from '../../io/byte-source.js';
import { DataFormatError } from '../../util/errors.js';
import { DEFAULT_INPUT_LIMITS, LIMIT_FLAGS } from '../limits.js';
import { ChunkReader } from './chunk-reader.js';
import { TAR_BLOCK, isZeroBlock, parsePaxRecords, parseTarHeader, tarPadding } from './tar-header.js';

/** A regular file in a tar archive. */
export interface TarEntry {
  /** Path as stored in the archive (after GNU long-name and pax path overrides). */
  name: string;
  size: number;
  /** Offset of the member's first header in the uncompressed tar stream. */
  offset: number;
}

export interface TarMember extends TarEntry {
  bytes: Buffer;
}

/** Bounds on what an archive may make us read and hold. */
export interface TarLimits {
  /** Largest member that will be read into memory; a larger one is an error before any of it is read. */
  maxMemberBytes: number;
  /** The uncompressed tar stream may not go past this many bytes (a gzip bomb stops here). */
  maxArchiveBytes: number;
  /** The flag that sets maxMemberBytes, named in errors. */
  memberFlag?: string;
}

export interface ReadTarOptions extends Partial<TarLimits> {
  /** Which members to read; the data of the others is skipped without being kept. */
  select?: (entry: TarEntry) => boolean;
}

const DEFAULT_TAR_LIMITS: TarLimits = {
  maxMemberBytes: DEFAULT_INPUT_LIMITS.maxFileBytes,
  maxArchiveBytes: DEFAULT_INPUT_LIMITS.maxArchiveBytes,
  memberFlag: LIMIT_FLAGS.maxFileBytes,
};
// GNU long names and pax headers are metadata: a huge one means a corrupt archive.
const MAX_METADATA_BYTES = 1 << 20;
const GUNZIP_CHUNK_BYTES = 256 * 1024;

const REGULAR_TYPES = new Set(['0', '\0', '7']);

interface ChunkStream {
  chunks: AsyncIterator<Buffer>;
  close(): void;
}

/** The archive's bytes as a stream of uncompressed chunks, gunzipped when gzip magic is present. */
async function openTarStream(source: ByteSource): Promise<ChunkStream> {
  const size = await source.size();
  const magic = await source.read(0, 2);
  const raw = source.stream(0, size);
  if (magic.length === 2 && magic[0] === 0x1f && magic[1] === 0x8b) {
    const input = Readable.from(raw);
    const gunzip = createGunzip({ chunkSize: GUNZIP_CHUNK_BYTES });
    input.on('error', (err) => gunzip.destroy(err));
    input.pipe(gunzip);
    return {
      chunks: gunzip[Symbol.asyncIterator]() as AsyncIterator<Buffer>,
      close: () => {
        input.destroy();
        gunzip.destroy();
      },
    };
  }
  const chunks = raw[Symbol.asyncIterator]();
  return { chunks, close: () => void chunks.return?.() };
}

function isZlibError(err: unknown): err is Error {
  const code: unknown = err instanceof Error ? (err as NodeJS.ErrnoException).code : undefined;
  return typeof code === 'string' && code.startsWith('Z_');
}

/**
 * Walks a .tar or .tar.gz archive's headers in order, yielding each regular file;
 * `wantBytes` decides per member whether its data is read (into a fresh buffer) or
 * skipped, so one pass can both list an archive and read a few members. Memory is bounded
 * by the largest member read plus one decompression chunk; work is bounded by the
 * archive limit, checked against each member's declared size before it is read or skipped.
 */
export async function* scanTar(
  source: ByteSource,
  wantBytes: (entry: TarEntry) => boolean,
  limits: Partial<TarLimits> = {},
): AsyncGenerator<{ entry: TarEntry; bytes: Buffer | undefined }> {
  const { maxMemberBytes, maxArchiveBytes, memberFlag } = { ...DEFAULT_TAR_LIMITS, ...limits };
  const uri = source.uri;
  const overArchive = (at: number, size: number): void => {
    if (at + size > maxArchiveBytes) {
      throw new DataFormatError(
        uri,
        at,
        `archive goes past the limit of ${maxArchiveBytes} uncompressed bytes (${LIMIT_FLAGS.maxArchiveBytes}): a member here declares ${size} bytes`,
      );
    }
  };
  const stream = await openTarStream(source);
  const reader = new ChunkReader(stream.chunks);
  try {
    let longName: string | undefined;
    let pax: { path?: string; size?: number } = {};
    let entryOffset: number | undefined; // where the first header of the current member (long name, pax) began
    for (;;) {
      const headerOffset = reader.offset;
      const block = reader.viewNow(TAR_BLOCK) ?? (await reader.readView(TAR_BLOCK));
      if (block.length === 0) return; // no end-of-archive blocks: accepted, as GNU tar does
      if (block.length < TAR_BLOCK) {
        throw new DataFormatError(uri, headerOffset, `truncated tar header: archive ends after ${block.length} of ${TAR_BLOCK} bytes`);
      }
      if (isZeroBlock(block)) return;
      const header = parseTarHeader(block, uri, headerOffset);
      entryOffset ??= headerOffset;
      const dataOffset = reader.offset;
      overArchive(dataOffset, header.size);

      if (header.type === 'L' || header.type === 'x') {
        const size = header.size;
        if (size > MAX_METADATA_BYTES) {
          throw new DataFormatError(uri, headerOffset, `${header.type === 'L' ? 'GNU long name' : 'pax header'} of ${size} bytes is implausibly large`);
        }
        const data = await readRare(reader, uri, dataOffset, header.name, size);
        if (header.type === 'L') {
          const nul = data.indexOf(0);
          longName = data.toString('utf8', 0, nul < 0 ? data.length : nul);
        } else {
          pax = { ...pax, ...parsePaxRecords(data, uri, dataOffset) };
        }
        continue;
      }

      if (header.type === 'g' || header.type === 'K') {
        // Global pax headers and GNU long link names do not name the next member: skip
        // them without dropping a pending long name or pax path.
        await skipRare(reader, uri, dataOffset, header.name, header.size);
        continue;
      }

      const size = pax.size ?? header.size;
      overArchive(dataOffset, size);
      const name = pax.path ?? longName ?? header.name;
      const entry: TarEntry = { name, size, offset: entryOffset };
      longName = undefined;
      pax = {};
      entryOffset = undefined;
      if (!REGULAR_TYPES.has(header.type) || (header.type === '\0' && name.endsWith('/'))) {
        // Link sizes describe the target, not data that follows (POSIX); others may carry data.
        await skipRare(reader, uri, dataOffset, name, header.type === '1' || header.type === '2' ? 0 : size);
        continue;
      }
      // Regular files are the hot path (60,000 per CIFAR-10 archive): take bytes without
      // awaiting whenever the current chunk holds them.
      let bytes: Buffer | undefined;
      if (wantBytes(entry)) {
        if (size > maxMemberBytes) {
          throw new DataFormatError(uri, headerOffset, `member "${name}" is ${size} bytes, over the limit of ${maxMemberBytes} bytes${memberFlag ? ` (${memberFlag})` : ''}`);
        }
        // A fresh copy: a view would pin the whole decompressed chunk for as long as the member lives.
        const view = reader.viewNow(size);
        bytes = view === undefined ? await reader.readCopy(size) : Buffer.from(view);
        if (bytes.length < size) throw truncated(uri, dataOffset, name, size, bytes.length);
      } else if (!reader.skipNow(size)) {
        const skipped = await reader.skip(size);
        if (skipped < size) throw truncated(uri, dataOffset, name, size, skipped);
      }
      if (!reader.skipNow(tarPadding(size))) await reader.skip(tarPadding(size));
      yield { entry, bytes };
    }
  } catch (err) {
    if (isZlibError(err)) throw new DataFormatError(uri, reader.offset, `corrupt gzip stream: ${err.message}`);
    throw err;
  } finally {
    stream.close();
  }
}

/** Reads metadata (long names, pax records) and its padding. */
async function readRare(reader: ChunkReader, uri: string, dataOffset: number, name: string, size: number): Promise<Buffer> {
  const data = await reader.readCopy(size);
  if (data.length < size) throw truncated(uri, dataOffset, name, size, data.length);
  await reader.skip(tarPadding(size));
  return data;
}

/** Skips the data and padding of a member that is not a regular file. */
async function skipRare(reader: ChunkReader, uri: string, dataOffset: number, name: string, size: number): Promise<void> {
  const skipped = await reader.skip(size);
  if (skipped < size) throw truncated(uri, dataOffset, name, size, skipped);
  await reader.skip(tarPadding(size));
}

function truncated(uri: string, dataOffset: number, name: string, size: number, got: number): DataFormatError {
  return new DataFormatError(uri, dataOffset + got, `member "${name}" is truncated: archive ends after ${got} of its ${size} bytes`);
}

/**
 * Streams the regular files of a .tar or .tar.gz archive in archive order, with their
 * bytes. Members rejected by `select` are skipped without being buffered. Errors name the
 * archive and the offset in the uncompressed tar stream.
 */
export async function* readTar(source: ByteSource, opts: ReadTarOptions = {}): AsyncGenerator<TarMember> {
  const { select = () => true, ...limits } = opts;
  for await (const { entry, bytes } of scanTar(source, select, limits)) {
    if (bytes !== undefined) yield { ...entry, bytes };
  }
}

/** Lists the regular files of a .tar or .tar.gz archive without reading their data. Stop early by breaking out. */
export async function* listTar(source: ByteSource, limits: Partial<TarLimits> = {}): AsyncGenerator<TarEntry> {
  for await (const { entry } of scanTar(source, () => false, { ...limits, maxMemberBytes: 0 })) yield entry;
}

/** A member path split into its components, without empty and "." components (so "./a//b" is ["a", "b"]). */
export function memberPathParts(name: string): string[] {
  return name.split('/').filter((part) => part !== '' && part !== '.');
}

/** How errors and listings name a member inside an archive. */
export function memberUri(archiveUri: string, memberName: string): string {
  return `${archiveUri} (member ${memberName})`;
}
