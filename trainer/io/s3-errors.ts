import { errorMessage } from '../util/errors.js';

export type S3ErrorKind =
  | 'no-such-bucket'
  | 'no-such-key'
  /** A bodiless 404 (HEAD): bucket or key, the caller has to find out which. */
  | 'not-found'
  | 'access-denied'
  | 'invalid-range'
  /** The object was replaced while being read (ETag precondition failed). */
  | 'changed'
  | 'unreachable'
  | 'connection-lost'
  | 'timeout'
  | 'throttled'
  | 'server-error'
  | 'truncated'
  | 'client-error'
  | 'unknown';

export interface S3Failure {
  kind: S3ErrorKind;
  /** Worth retrying: the same request may succeed later. */
  transient: boolean;
  status?: number;
  code?: string;
  detail: string;
}

/** An S3 call failed; the message names the URI, the endpoint and what went wrong. */
export class S3Error extends Error {
  readonly uri: string;
  readonly endpoint: string;
  readonly kind: S3ErrorKind;
  readonly status: number | undefined;
  readonly code: string | undefined;
  readonly attempts: number;

  constructor(message: string, info: { uri: string; endpoint: string; failure: S3Failure; attempts: number; cause?: unknown }) {
    super(message, { cause: info.cause });
    this.name = 'S3Error';
    this.uri = info.uri;
    this.endpoint = info.endpoint;
    this.kind = info.failure.kind;
    this.status = info.failure.status;
    this.code = info.failure.code;
    this.attempts = info.attempts;
  }
}

/** The body ended before the promised byte count: the connection dropped mid-transfer. */
export class TruncatedBodyError extends Error {
  constructor(expected: number, got: number) {
    super(`response body ended after ${got} of ${expected} bytes`);
    this.name = 'TruncatedBodyError';
  }
}

const UNREACHABLE_CODES = new Set(['ECONNREFUSED', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN', 'EADDRNOTAVAIL']);
const CONNECTION_LOST_CODES = new Set(['ECONNRESET', 'EPIPE', 'ECONNABORTED', 'ERR_STREAM_PREMATURE_CLOSE', 'UND_ERR_SOCKET']);
const TIMEOUT_CODES = new Set(['ETIMEDOUT', 'ESOCKETTIMEDOUT', 'TimeoutError', 'RequestTimeout', 'RequestTimeoutException']);
const THROTTLE_CODES = new Set(['SlowDown', 'Throttling', 'ThrottlingException', 'TooManyRequestsException', 'RequestLimitExceeded']);
const SERVER_CODES = new Set(['InternalError', 'ServiceUnavailable', 'ServerError']);

/** Sorts any error thrown by the S3 client or its HTTP layer into one of a few kinds. */
export function classifyS3Error(err: unknown): S3Failure {
  if (err instanceof TruncatedBodyError) return { kind: 'truncated', transient: true, detail: err.message };
  const status = httpStatus(err);
  const code = errorCode(err);
  const detail = errorMessage(err) || code || 'unknown error';

  if (code === 'NoSuchBucket') return { kind: 'no-such-bucket', transient: false, status, code, detail };
  if (code === 'NoSuchKey') return { kind: 'no-such-key', transient: false, status, code, detail };
  if (code === 'AccessDenied' || code === 'Forbidden' || code === 'InvalidAccessKeyId' || code === 'SignatureDoesNotMatch' || status === 403) {
    return { kind: 'access-denied', transient: false, status, code, detail };
  }
  if (code === 'InvalidRange' || status === 416) return { kind: 'invalid-range', transient: false, status, code, detail };
  if (code === 'PreconditionFailed' || status === 412) return { kind: 'changed', transient: false, status, code, detail };
  if (status === 404) return { kind: 'not-found', transient: false, status, code, detail };
  if ((code && THROTTLE_CODES.has(code)) || status === 429 || status === 503) {
    return { kind: 'throttled', transient: true, status, code, detail };
  }
  if ((code && TIMEOUT_CODES.has(code)) || status === 408) return { kind: 'timeout', transient: true, status, code, detail };
  if ((code && SERVER_CODES.has(code)) || (status !== undefined && status >= 500)) {
    return { kind: 'server-error', transient: true, status, code, detail };
  }
  if (status !== undefined && status >= 400) return { kind: 'client-error', transient: false, status, code, detail };
  if (code && UNREACHABLE_CODES.has(code)) return { kind: 'unreachable', transient: true, code, detail };
  if ((code && CONNECTION_LOST_CODES.has(code)) || /socket hang up|aborted/i.test(detail)) {
    return { kind: 'connection-lost', transient: true, code, detail };
  }
  return { kind: 'unknown', transient: false, status, code, detail };
}

export interface S3ErrorContext {
  uri: string;
  endpoint: string;
  /** What was being done, e.g. "GetObject bytes=0-99". */
  operation: string;
  attempts: number;
}

/** Builds the readable S3Error for a failure. */
export function toS3Error(err: unknown, ctx: S3ErrorContext): S3Error {
  if (err instanceof S3Error) return err;
  return makeS3Error(classifyS3Error(err), ctx, err);
}

/** Builds the S3Error for an already classified failure. */
export function makeS3Error(failure: S3Failure, ctx: S3ErrorContext, cause?: unknown): S3Error {
  const tries = ctx.attempts > 1 ? ` (after ${ctx.attempts} attempts)` : '';
  const at = `endpoint ${ctx.endpoint}`;
  const message = `${ctx.uri}: ${describeFailure(failure, at, ctx.operation)}${tries}`;
  return new S3Error(message, { uri: ctx.uri, endpoint: ctx.endpoint, failure, attempts: ctx.attempts, cause });
}

function describeFailure(f: S3Failure, at: string, operation: string): string {
  switch (f.kind) {
    case 'no-such-bucket':
      return `bucket does not exist at ${at}`;
    case 'no-such-key':
    case 'not-found':
      return `object does not exist at ${at}`;
    case 'access-denied':
      return `access denied by ${at} (${f.code ?? `HTTP ${f.status}`}); check the credentials and the bucket policy`;
    case 'invalid-range':
      return `${operation}: range not satisfiable at ${at}`;
    case 'changed':
      return `object changed at ${at} while it was being read; open it again`;
    case 'unreachable':
      return `cannot connect to ${at}: ${f.code === 'ECONNREFUSED' ? 'connection refused' : f.detail} (${f.code})`;
    case 'connection-lost':
      return `${operation}: connection to ${at} was lost: ${f.detail}`;
    case 'timeout':
      return `${operation}: ${at} did not answer in time: ${f.detail}`;
    case 'throttled':
      return `${operation}: ${at} is throttling or unavailable (${statusText(f)})`;
    case 'server-error':
      return `${operation}: ${at} failed (${statusText(f)})`;
    case 'truncated':
      return `${operation}: ${f.detail} from ${at}`;
    case 'client-error':
      return `${operation}: ${at} rejected the request (${statusText(f)})`;
    case 'unknown':
      return `${operation} at ${at} failed: ${f.detail}`;
  }
}

function statusText(f: S3Failure): string {
  const parts = [f.status !== undefined ? `HTTP ${f.status}` : undefined, f.code, f.detail !== f.code ? f.detail : undefined];
  return parts.filter((p) => p).join(' ');
}

function httpStatus(err: unknown): number | undefined {
  if (!isRecord(err)) return undefined;
  const meta = err.$metadata;
  if (isRecord(meta) && typeof meta.httpStatusCode === 'number') return meta.httpStatusCode;
  const response = err.$response;
  if (isRecord(response) && typeof response.statusCode === 'number') return response.statusCode;
  return undefined;
}

/** Node network codes (also inside AggregateError from dual-stack connects) or the S3 error name. */
function errorCode(err: unknown): string | undefined {
  if (!isRecord(err)) return undefined;
  if (typeof err.code === 'string' && err.code) return err.code;
  if (err instanceof AggregateError) {
    for (const inner of err.errors) {
      const code = errorCode(inner);
      if (code) return code;
    }
  }
  if (typeof err.Code === 'string' && err.Code) return err.Code;
  const cause = err.cause;
  if (cause !== undefined && cause !== err) {
    const inner = errorCode(cause);
    if (inner) return inner;
  }
  // The SDK names bodiless error responses (HEAD) "Unknown" or by bare status, e.g. "403".
  const name = err.name;
  if (typeof name === 'string' && name && name !== 'Error' && name !== 'Unknown' && !/^\d+$/.test(name)) return name;
  return undefined;
}

function isRecord(value: unknown): value is Record<string | symbol, unknown> {
  return typeof value === 'object' && value !== null;
}
