/**
 * Errors that point at the input: which file or URI, and where in it, is wrong.
 * The message always starts with the location so that a log line alone is enough.
 */
export class DataFormatError extends Error {
  readonly uri: string;
  readonly offset: number | undefined;

  constructor(uri: string, offset: number | undefined, detail: string) {
    super(offset === undefined ? `${uri}: ${detail}` : `${uri}: at byte offset ${offset}: ${detail}`);
    this.name = 'DataFormatError';
    this.uri = uri;
    this.offset = offset;
  }
}

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
