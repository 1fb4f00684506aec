/**
 * Which exit code (contract/exit-codes.ts, what the operator reads from a terminated pod)
 * an error that ended training maps to.
 */
import { EXIT_FAILURE, EXIT_RETRYABLE, EXIT_USAGE } from '../../contract/exit-codes.js';
import { UsageError } from '../util/errors.js';
import { PeerLostError, RendezvousTimeoutError } from './errors.js';

export { EXIT_FAILURE, EXIT_OK, EXIT_RETRYABLE, EXIT_USAGE, isRetryableExit } from '../../contract/exit-codes.js';

/** The exit code for an error that ended training. */
export function exitCodeFor(err: unknown): number {
  if (err instanceof PeerLostError || err instanceof RendezvousTimeoutError) return EXIT_RETRYABLE;
  if (err instanceof UsageError) return EXIT_USAGE;
  // GroupMismatchError, PeerAuthError, data errors and bugs: the same spec fails again.
  return EXIT_FAILURE;
}
