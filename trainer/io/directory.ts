import { readdir, rm, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { ByteSource } from './byte-source.js';
import { parseDataUri, openSource, openSink } from './uri.js';
import { connectS3 } from './s3-client.js';
import { resolveS3Config, type S3Config } from './s3-config.js';
import { listKeys, deleteObject } from './s3-list.js';

/**
 * A flat directory of named objects: a local folder or an S3 prefix. Checkpoints and
 * run outputs are written through this so the same code serves both. Every write is
 * atomic (temp file + rename locally, one PUT or completed multipart upload on S3).
 */
export interface ObjectDirectory {
  readonly uri: string;
  uriOf(name: string): string;
  /** Names directly inside the directory, sorted. Missing directory: empty list. */
  list(): Promise<string[]>;
  read(name: string): Promise<Buffer>;
  write(name: string, bytes: Uint8Array): Promise<void>;
  remove(name: string): Promise<void>;
}

export function openDirectory(uri: string, s3Config?: S3Config): ObjectDirectory {
  if (!/^s3:\/\//i.test(uri)) {
    const parsed = parseDataUri(uri);
    if (parsed.scheme !== 'file') throw new Error(`${uri}: not a directory location`);
    return new LocalDirectory(parsed.path, s3Config);
  }
  // A directory may be a bare bucket or end in '/': validate through a placeholder key.
  const trimmed = uri.replace(/\/+$/, '');
  const parsed = parseDataUri(`${trimmed}/placeholder`);
  if (parsed.scheme !== 's3') throw new Error(`${uri}: not an S3 location`);
  const prefix = parsed.key.slice(0, -'placeholder'.length).replace(/\/+$/, '');
  return new S3Directory(parsed.bucket, prefix, s3Config ?? resolveS3Config({}, process.env));
}

async function readAll(source: ByteSource): Promise<Buffer> {
  try {
    const size = await source.size();
    return await source.read(0, size);
  } finally {
    await source.close();
  }
}

async function writeAll(uri: string, bytes: Uint8Array, s3Config: S3Config | undefined): Promise<void> {
  const sink = openSink(uri, s3Config);
  try {
    await sink.write(bytes);
    await sink.commit();
  } catch (err) {
    await sink.abort().catch(() => undefined);
    throw err;
  }
}

class LocalDirectory implements ObjectDirectory {
  constructor(
    readonly uri: string,
    private readonly s3Config: S3Config | undefined,
  ) {}

  uriOf(name: string): string {
    return join(this.uri, name);
  }

  async list(): Promise<string[]> {
    try {
      const entries = await readdir(this.uri, { withFileTypes: true });
      return entries.filter((e) => e.isFile() && !e.name.startsWith('.')).map((e) => e.name).sort();
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw err;
    }
  }

  read(name: string): Promise<Buffer> {
    return readAll(openSource(this.uriOf(name)));
  }

  async write(name: string, bytes: Uint8Array): Promise<void> {
    await mkdir(this.uri, { recursive: true });
    await writeAll(this.uriOf(name), bytes, this.s3Config);
  }

  async remove(name: string): Promise<void> {
    await rm(this.uriOf(name), { force: true });
  }
}

class S3Directory implements ObjectDirectory {
  readonly uri: string;

  constructor(
    private readonly bucket: string,
    private readonly prefix: string,
    private readonly s3Config: S3Config,
  ) {
    this.uri = `s3://${bucket}/${prefix}`;
  }

  uriOf(name: string): string {
    return this.prefix ? `s3://${this.bucket}/${this.prefix}/${name}` : `s3://${this.bucket}/${name}`;
  }

  async list(): Promise<string[]> {
    const conn = connectS3(this.s3Config);
    try {
      const base = this.prefix ? `${this.prefix}/` : '';
      const keys = await listKeys(conn, this.bucket, base);
      return keys.map((k) => k.slice(base.length)).filter((n) => n !== '' && !n.includes('/')).sort();
    } finally {
      conn.close();
    }
  }

  read(name: string): Promise<Buffer> {
    return readAll(openSource(this.uriOf(name), this.s3Config));
  }

  write(name: string, bytes: Uint8Array): Promise<void> {
    return writeAll(this.uriOf(name), bytes, this.s3Config);
  }

  async remove(name: string): Promise<void> {
    const conn = connectS3(this.s3Config);
    try {
      await deleteObject(conn, this.bucket, this.prefix ? `${this.prefix}/${name}` : name);
    } finally {
      conn.close();
    }
  }
}
