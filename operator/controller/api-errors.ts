/**
 * Errors from the API server, reduced to what the controller decides on: the HTTP code and
 * the Status reason. Every ClusterApi implementation (real or fake) throws these, so the
 * reconciler's "AlreadyExists is fine, 409 means requeue" logic has one shape to test.
 */
export class ApiStatusError extends Error {
  constructor(
    readonly code: number,
    /** The Status reason (NotFound, AlreadyExists, Conflict, Expired, ...), '' when the body had none. */
    readonly reason: string,
    message: string,
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

export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
