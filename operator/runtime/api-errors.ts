/**
 * Errors from the API server, reduced to what the controller decides on: the HTTP code and
 * the Status reason. Every ClusterApi implementation (real or fake) throws these, so the
 * reconciler's "AlreadyExists is fine, 409 means requeue" logic has one shape to test.
 */
/** One entry of a Status's details.causes: which field the API server refused, and why. */
export interface StatusCause {
  field?: string;
  reason?: string;
  message?: string;
}

export class ApiStatusError extends Error {
  constructor(
    readonly code: number,
    /** The Status reason (NotFound, AlreadyExists, Conflict, Expired, Invalid, Forbidden, ...), '' when the body had none. */
    readonly reason: string,
    message: string,
    /** details.causes of a 422 Invalid: the refused fields. */
    readonly causes: readonly StatusCause[] = [],
  ) {
    super(message);
    this.name = 'ApiStatusError';
  }
}

export function isNotFound(err: unknown): boolean {
  return err instanceof ApiStatusError && err.code === 404;
}

export function isAlreadyExists(err: unknown): boolean {
  return err instanceof ApiStatusError && err.code === 409 && err.reason === 'AlreadyExists';
}

/** A stale resourceVersion or a failed precondition: someone else changed the object first. */
export function isConflict(err: unknown): boolean {
  return err instanceof ApiStatusError && err.code === 409 && err.reason !== 'AlreadyExists';
}

/** 410 Gone: a watch asked for a resourceVersion older than the server keeps. */
export function isExpired(err: unknown): boolean {
  return err instanceof ApiStatusError && err.code === 410;
}

/** 422 Invalid: the object itself is wrong; sending it again cannot succeed. */
export function isInvalid(err: unknown): boolean {
  return err instanceof ApiStatusError && err.code === 422;
}

/**
 * A refusal that a person must look at: 4xx other than the ones a retry resolves (409
 * conflicts and AlreadyExists, 429 throttling). 403 from a quota or Pod Security admission,
 * 404 for an API the cluster does not serve, 400 and 422 for an object it will not take.
 */
export function isRefusal(err: unknown): boolean {
  return err instanceof ApiStatusError && err.code >= 400 && err.code < 500 && err.code !== 409 && err.code !== 429;
}

export { errorMessage } from '../../contract/errors.js';

/** A write lost a race with another writer or was based on a stale cache; the worker retries later. */
export class ConflictError extends Error {
  override readonly name = 'ConflictError';
}
