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

// Part of the operator-trainer contract (a usage error is exit code 2 there).
export { UsageError, errorMessage } from '../../contract/errors.js';
