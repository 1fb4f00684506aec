/** A tfjs backend that was asked for but cannot be used here, with the reason (usually the import error). */
export class BackendUnavailableError extends Error {
  readonly backend: string;
  readonly reason: string;

  constructor(backend: string, reason: string) {
    super(`backend '${backend}' is not available: ${reason}`);
    this.name = 'BackendUnavailableError';
    this.backend = backend;
    this.reason = reason;
  }
}
