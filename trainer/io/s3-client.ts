import { S3Client, type S3ClientConfig } from '@aws-sdk/client-s3';
import { s3EndpointLabel, type S3Config } from './s3-config.js';
import { DEFAULT_RETRY_POLICY, type RetryPolicy } from './s3-retry.js';

export interface S3ClientOptions {
  /** Limit on establishing the TCP connection. */
  connectionTimeoutMs?: number;
  /** Limit from sending a request until the response headers arrive (includes the upload body). */
  requestTimeoutMs?: number;
  /** Limit on a socket staying idle mid-transfer, e.g. a stalled response body. */
  socketTimeoutMs?: number;
  /** Our retry policy for each call (the SDK's own retries are off). */
  retry?: Partial<RetryPolicy>;
}

export const DEFAULT_S3_TIMEOUTS = Object.freeze({
  connectionTimeoutMs: 5_000,
  requestTimeoutMs: 60_000,
  socketTimeoutMs: 30_000,
});

/** A client plus what every call needs to report errors and retry. */
export interface S3Connection {
  readonly client: S3Client;
  /** Named in error messages. */
  readonly endpoint: string;
  readonly retry: RetryPolicy;
  /** Releases sockets. Safe to call more than once. */
  close(): void;
}

/**
 * Builds an S3Client for the config. Checksums only when an operation requires them:
 * otherwise the SDK sends stream bodies with aws-chunked framing, which S3-compatible
 * servers such as s3rver store verbatim (silent corruption). SDK retries are off
 * (maxAttempts 1) so that withRetry's bounded policy is the only one in force.
 */
export function createS3Client(config: S3Config, options: S3ClientOptions = {}): S3Client {
  const clientConfig: S3ClientConfig = {
    region: config.region,
    forcePathStyle: config.forcePathStyle,
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
    maxAttempts: 1,
    requestHandler: {
      connectionTimeout: options.connectionTimeoutMs ?? DEFAULT_S3_TIMEOUTS.connectionTimeoutMs,
      requestTimeout: options.requestTimeoutMs ?? DEFAULT_S3_TIMEOUTS.requestTimeoutMs,
      // Without this the SDK only logs a warning when requestTimeout passes.
      throwOnRequestTimeout: true,
      socketTimeout: options.socketTimeoutMs ?? DEFAULT_S3_TIMEOUTS.socketTimeoutMs,
    },
  };
  if (config.endpoint !== undefined) clientConfig.endpoint = config.endpoint;
  if (config.accessKeyId !== undefined && config.secretAccessKey !== undefined) {
    clientConfig.credentials = {
      accessKeyId: config.accessKeyId,
      secretAccessKey: config.secretAccessKey,
      ...(config.sessionToken !== undefined ? { sessionToken: config.sessionToken } : {}),
    };
  }
  return new S3Client(clientConfig);
}

/** Creates a client and bundles it with the endpoint label and retry policy. */
export function connectS3(config: S3Config, options: S3ClientOptions = {}): S3Connection {
  const client = createS3Client(config, options);
  let closed = false;
  return {
    client,
    endpoint: s3EndpointLabel(config),
    retry: { ...DEFAULT_RETRY_POLICY, ...options.retry },
    close() {
      if (closed) return;
      closed = true;
      client.destroy();
    },
  };
}
