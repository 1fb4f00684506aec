import {
  DeleteObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
} from '@aws-sdk/client-s3';
import type { S3Connection } from './s3-client.js';
import { callS3, s3Uri } from './s3-call.js';
import { S3Error, makeS3Error } from './s3-errors.js';

export interface S3ObjectInfo {
  key: string;
  size: number;
  etag: string | undefined;
  lastModified: Date | undefined;
}

export interface ListOptions {
  /** Keys per ListObjectsV2 page (S3's maximum and default is 1000). */
  pageSize?: number;
  /** Stop after this many pages; a guard against a server that never stops paging. */
  maxPages?: number;
}

/**
 * Lists every object whose key starts with `prefix`, following continuation tokens,
 * in S3's key order. Each page is one retried call.
 */
export async function* listObjects(conn: S3Connection, bucket: string, prefix: string, options: ListOptions = {}): AsyncGenerator<S3ObjectInfo> {
  const uri = s3Uri(bucket, prefix);
  const maxPages = options.maxPages ?? 1_000_000;
  let token: string | undefined;
  for (let page = 1; page <= maxPages; page++) {
    const out = await callS3(conn, uri, `ListObjectsV2 page ${page}`, () =>
      conn.client.send(
        new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, MaxKeys: options.pageSize, ContinuationToken: token }),
      ),
    );
    for (const obj of out.Contents ?? []) {
      if (obj.Key === undefined) continue;
      yield { key: obj.Key, size: obj.Size ?? 0, etag: obj.ETag, lastModified: obj.LastModified };
    }
    if (!out.IsTruncated) return;
    const next = out.NextContinuationToken;
    if (!next || next === token) {
      throw new Error(`${uri}: ListObjectsV2 page ${page} at endpoint ${conn.endpoint} is truncated but gave no new continuation token`);
    }
    token = next;
  }
  throw new Error(`${uri}: listing at endpoint ${conn.endpoint} did not finish within ${maxPages} pages`);
}

/** Collects listObjects' keys into an array. */
export async function listKeys(conn: S3Connection, bucket: string, prefix: string, options: ListOptions = {}): Promise<string[]> {
  const keys: string[] = [];
  for await (const obj of listObjects(conn, bucket, prefix, options)) keys.push(obj.key);
  return keys;
}

export interface S3ObjectHead {
  size: number;
  etag: string | undefined;
}

/**
 * HeadObject. A HEAD 404 has no body to say whether the bucket or the key is missing,
 * so on 404 the bucket is checked too, to report which one it is.
 */
export async function headObject(conn: S3Connection, bucket: string, key: string): Promise<S3ObjectHead> {
  const uri = s3Uri(bucket, key);
  try {
    const out = await callS3(conn, uri, 'HeadObject', () => conn.client.send(new HeadObjectCommand({ Bucket: bucket, Key: key })));
    if (out.ContentLength === undefined) {
      throw new Error(`${uri}: HeadObject at endpoint ${conn.endpoint} returned no Content-Length`);
    }
    return { size: out.ContentLength, etag: out.ETag };
  } catch (err) {
    if (err instanceof S3Error && err.kind === 'not-found' && !(await bucketExists(conn, bucket, uri))) {
      const failure = { kind: 'no-such-bucket', transient: false, status: 404, code: 'NoSuchBucket', detail: 'HeadBucket answered 404' } as const;
      throw makeS3Error(failure, { uri, endpoint: conn.endpoint, operation: 'HeadBucket', attempts: 1 }, err);
    }
    throw err;
  }
}

/** Whether the object exists; false only for a definite 404, other failures throw. */
export async function objectExists(conn: S3Connection, bucket: string, key: string): Promise<boolean> {
  try {
    await headObject(conn, bucket, key);
    return true;
  } catch (err) {
    if (err instanceof S3Error && (err.kind === 'not-found' || err.kind === 'no-such-key')) return false;
    throw err;
  }
}

/** Whether the bucket exists; false only for a definite 404. */
export async function bucketExists(conn: S3Connection, bucket: string, uri = `s3://${bucket}`): Promise<boolean> {
  try {
    await callS3(conn, uri, 'HeadBucket', () => conn.client.send(new HeadBucketCommand({ Bucket: bucket })));
    return true;
  } catch (err) {
    if (err instanceof S3Error && (err.kind === 'not-found' || err.kind === 'no-such-bucket')) return false;
    throw err;
  }
}

/** Deletes the object. Deleting a missing key succeeds, as in S3. */
export async function deleteObject(conn: S3Connection, bucket: string, key: string): Promise<void> {
  const uri = s3Uri(bucket, key);
  await callS3(conn, uri, 'DeleteObject', () => conn.client.send(new DeleteObjectCommand({ Bucket: bucket, Key: key })));
}
