import * as tf from '@tensorflow/tfjs';
import { errorMessage } from '../../util/errors.js';
import { BackendUnavailableError } from './backend-error.js';

/**
 * Makes `name` the active tfjs backend and checks that it really is. A backend whose
 * initialisation fails (a wasm binary that does not load, say) only makes tfjs log a
 * warning and return false; the engine is then left with no backend instance, and the
 * next op quietly initialises the highest-priority backend that works (often cpu). So we
 * check, put the previous backend back, and throw with the reason.
 */
export async function activateBackend(name: string): Promise<void> {
  if (tf.findBackendFactory(name) === null) {
    throw new BackendUnavailableError(name, `no backend named '${name}' is registered with @tensorflow/tfjs`);
  }
  // Only reads the engine's current name; unlike tf.backend() it initialises nothing.
  const previous: string | null = tf.getBackend() ?? null;
  let ok: boolean;
  let failure = '';
  try {
    ok = await tf.setBackend(name);
  } catch (err) {
    ok = false;
    failure = `: ${errorMessage(err)}`;
  }
  const active = tf.getBackend();
  if (ok && active === name) return;
  if (previous !== null && previous !== name) await tf.setBackend(previous).catch(() => false);
  throw new BackendUnavailableError(
    name,
    `initialisation failed${failure || ` (tf.setBackend('${name}') returned ${ok}; tfjs logged the cause as a warning)`}`,
  );
}
