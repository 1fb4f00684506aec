import type { S3Connection } from './s3-client.js';
import { classifyS3Error, toS3Error } from './s3-errors.js';
import { RetryGaveUp, withRetry } from './s3-retry.js';

/**
 * Runs one logical S3 operation under the connection's retry policy, retrying only
 * transient failures, and turns the final failure into an S3Error naming `uri`.
 */
export async function callS3<T>(conn: S3Connection, uri: string, operation: string, op: (attempt: number) => Promise<T>): Promise<T> {
  try {
    return await withRetry(op, conn.retry, (err) => classifyS3Error(err).transient);
  } catch (err) {
    if (err instanceof RetryGaveUp) {
      throw toS3Error(err.cause, { uri, endpoint: conn.endpoint, operation, attempts: err.attempts });
    }
    throw toS3Error(err, { uri, endpoint: conn.endpoint, operation, attempts: 1 });
  }
}

/** Formats bucket and key as the s3:// URI used in messages. */
export function s3Uri(bucket: string, key: string): string {
  return `s3://${bucket}/${key}`;
}
