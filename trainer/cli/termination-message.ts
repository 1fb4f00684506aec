import { writeFile, access, constants } from 'node:fs/promises';
import { TERMINATION_LOG_PATH } from '../../contract/progress.js';

/** Kubernetes' default terminationMessagePath, which the operator sets on the container. */
export const DEFAULT_TERMINATION_LOG = TERMINATION_LOG_PATH;
/** Kubernetes reads at most 4 KiB of the termination message. */
const MAX_BYTES = 4096;

/**
 * Writes why the process failed where Kubernetes (or the local cluster's node agent, via
 * CIFAR_TERMINATION_LOG) picks it up. Outside a pod the default path does not exist and
 * nothing is written; a failure to write never hides the original error.
 */
export async function writeTerminationMessage(message: string, env: NodeJS.ProcessEnv): Promise<void> {
  const path = env.CIFAR_TERMINATION_LOG ?? DEFAULT_TERMINATION_LOG;
  try {
    if (!env.CIFAR_TERMINATION_LOG) await access(path, constants.W_OK);
    await writeFile(path, Buffer.from(message, 'utf8').subarray(0, MAX_BYTES));
  } catch {
    // No termination log here: stderr already carries the message.
  }
}
