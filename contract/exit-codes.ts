/**
 * The trainer's process exit codes: what the trainer exits with and what the operator reads
 * from a terminated pod to decide between restarting the gang and failing the job.
 *
 * Only EXIT_RETRYABLE asks for a restart from the last checkpoint; any other non-zero code
 * means the same spec would fail the same way. Killed by a signal (SIGTERM, SIGKILL) means
 * something outside the trainer stopped it (a drained or lost node, a preemption).
 */

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
/** 128 + SIGKILL: killed from outside (or OOM-killed, which the kubelet reports as such). */
export const EXIT_SIGKILL = 137;
/** 128 + SIGTERM: stopped from outside, after writing a checkpoint. */
export const EXIT_SIGTERM = 143;

/** Whether the operator should restart the gang after a trainer exited with this code. */
export function isRetryableExit(code: number): boolean {
  return code === EXIT_RETRYABLE;
}
