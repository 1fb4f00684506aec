import { fileURLToPath } from 'node:url';
import { isIP } from 'node:net';
import { UsageError } from '../util/errors.js';
import type { ByteSink, ByteSource } from './byte-source.js';
import { LocalFileSink, LocalFileSource } from './local-source.js';
import { connectS3, type S3ClientOptions } from './s3-client.js';
import { resolveS3Config, type S3Config } from './s3-config.js';
import { S3ObjectSink, type S3SinkOptions } from './s3-sink.js';
import { S3ObjectSource } from './s3-source.js';

/** Where data lives: a local file or an S3 object. */
export type DataUri = { scheme: 'file'; path: string } | { scheme: 's3'; bucket: string; key: string };

// Two or more letters, so a Windows drive letter is never mistaken for a scheme.
const SCHEME = /^([a-zA-Z][a-zA-Z0-9+.-]+):/;

/**
 * Parses a data location: `s3://bucket/key`, `file:///abs/path`, or a plain relative or
 * absolute path. Anything else with a scheme (http:, gs:, ...) is rejected, naming the URI.
 */
export function parseDataUri(uri: string): DataUri {
  if (uri.trim() === '') throw new UsageError('data URI is empty');
  const scheme = SCHEME.exec(uri)?.[1]?.toLowerCase();
  if (scheme === undefined) return { scheme: 'file', path: uri };
  if (scheme === 's3') return parseS3(uri);
  if (scheme === 'file') return { scheme: 'file', path: parseFileUrl(uri) };
  throw new UsageError(`${uri}: unsupported scheme "${scheme}:"; use s3://bucket/key, file:///path or a plain path`);
}

/** The canonical string form: the path for files, s3://bucket/key for S3. */
export function formatDataUri(parsed: DataUri): string {
  return parsed.scheme === 's3' ? `s3://${parsed.bucket}/${parsed.key}` : parsed.path;
}

/**
 * A sibling location with the final extension replaced (or added when there is none):
 * withSuffix('s3://b/data/train.rec', '.idx') is 's3://b/data/train.idx'.
 */
export function withSuffix(uri: string, suffix: string): string {
  if (!/^\.[^/\\]+$/.test(suffix)) {
    throw new UsageError(`withSuffix: suffix must start with "." and contain no "/", got "${suffix}"`);
  }
  parseDataUri(uri); // rejects what could never be opened
  const slash = uri.lastIndexOf('/');
  const base = uri.slice(slash + 1);
  if (base === '' || base === '.' || base === '..') {
    throw new UsageError(`${uri}: has no file name to put the suffix "${suffix}" on`);
  }
  const dot = base.lastIndexOf('.');
  // A leading dot marks a hidden name, not an extension.
  const stem = dot > 0 ? base.slice(0, dot) : base;
  return uri.slice(0, slash + 1) + stem + suffix;
}

export interface OpenOptions {
  s3Client?: S3ClientOptions;
  /** Bytes per ranged GET when streaming from S3. */
  chunkBytes?: number;
  sink?: Omit<S3SinkOptions, 'ownsConnection'>;
}

/**
 * Opens a location for reading. S3 settings default to the process environment.
 * The returned source owns its S3 connection and releases it on close().
 */
export function openSource(uri: string, s3Config?: S3Config, options: OpenOptions = {}): ByteSource {
  const parsed = parseDataUri(uri);
  if (parsed.scheme === 'file') return new LocalFileSource(parsed.path);
  const conn = connectS3(s3Config ?? resolveS3Config({}, process.env), options.s3Client);
  const chunk = options.chunkBytes !== undefined ? { chunkBytes: options.chunkBytes } : {};
  return new S3ObjectSource(conn, parsed.bucket, parsed.key, { ...chunk, ownsConnection: true });
}

/** Opens a location for writing; nothing is visible there until commit(). */
export function openSink(uri: string, s3Config?: S3Config, options: OpenOptions = {}): ByteSink {
  const parsed = parseDataUri(uri);
  if (parsed.scheme === 'file') return new LocalFileSink(parsed.path);
  const conn = connectS3(s3Config ?? resolveS3Config({}, process.env), options.s3Client);
  return new S3ObjectSink(conn, parsed.bucket, parsed.key, { ...options.sink, ownsConnection: true });
}

function parseS3(uri: string): DataUri {
  const m = /^s3:\/\/([^/]*)(?:\/(.*))?$/is.exec(uri);
  if (!m) throw new UsageError(`${uri}: expected s3://bucket/key`);
  const bucket = m[1] ?? '';
  const key = m[2] ?? '';
  const bad = bucketNameProblem(bucket);
  if (bad) throw new UsageError(`${uri}: invalid bucket name "${bucket}": ${bad}`);
  if (key === '') throw new UsageError(`${uri}: the object key is empty; expected s3://${bucket}/path/to/object`);
  if (Buffer.byteLength(key, 'utf8') > 1024) throw new UsageError(`${uri}: the object key is longer than S3's 1024-byte limit`);
  return { scheme: 's3', bucket, key };
}

/** S3's naming rules for general-purpose buckets; undefined when the name is valid. */
export function bucketNameProblem(name: string): string | undefined {
  if (name.length < 3 || name.length > 63) return 'must be 3 to 63 characters long';
  if (!/^[a-z0-9.-]+$/.test(name)) return 'may contain only lowercase letters, digits, "." and "-"';
  if (!/^[a-z0-9].*[a-z0-9]$/.test(name)) return 'must begin and end with a letter or digit';
  if (name.includes('..')) return 'must not contain two adjacent periods';
  if (isIP(name)) return 'must not be formatted as an IP address';
  return undefined;
}

function parseFileUrl(uri: string): string {
  // WHATWG URL parsing would read file:data.rec as /data.rec; insist on the explicit form.
  if (!/^file:\/\//i.test(uri)) throw new UsageError(`${uri}: expected file:///absolute/path`);
  let url: URL;
  try {
    url = new URL(uri);
  } catch {
    throw new UsageError(`${uri}: not a valid file URL; expected file:///absolute/path`);
  }
  if (url.search || url.hash) throw new UsageError(`${uri}: a file URL must not have a query or fragment`);
  try {
    return fileURLToPath(url);
  } catch (err) {
    const why = err instanceof Error ? err.message : String(err);
    throw new UsageError(`${uri}: not a local file URL (${why}); expected file:///absolute/path`);
  }
}
