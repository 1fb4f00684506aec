/**
 * Process exit codes of the trainer, as the operator reads them from a terminated pod.
 *
 * The operator restarts the whole gang from the last checkpoint only for the retryable
 * code; any other non-zero code marks the job Failed, because running the same spec again
 * would fail the same way.
 */
import { UsageError } from '../util/errors.js';
import { PeerLostError, RendezvousTimeoutError } from './errors.js';

/** Training finished. */
export const EXIT_OK = 0;
/** Not retryable: bad data, a bad spec, peers that disagree about the model, a wrong secret. */
export const EXIT_FAILURE = 1;
/** Not retryable: a flag or environment variable that cannot be used. */
export const EXIT_USAGE = 2;
/**
 * Retryable (EX_TEMPFAIL from sysexits.h): the group lost a member (died, hung, sent
 * garbage) or rendezvous timed out because some ranks never arrived.
 */
export const EXIT_RETRYABLE = 75;

/** The exit code for an error that ended training. */
export function exitCodeFor(err: unknown): number {
  if (err instanceof PeerLostError || err instanceof RendezvousTimeoutError) return EXIT_RETRYABLE;
  if (err instanceof UsageError) return EXIT_USAGE;
  // GroupMismatchError, PeerAuthError, data errors and bugs: the same spec fails again.
  return EXIT_FAILURE;
}

/** Whether the operator should restart the gang after a pod exited with this code. */
export function isRetryableExit(code: number): boolean {
  return code === EXIT_RETRYABLE;
}
