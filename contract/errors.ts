/** Errors and messages both sides of the contract use. */

/** A command-line or configuration value that cannot be used, naming the flag or field. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

/** Formats any thrown value as a one-line message. */
export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
