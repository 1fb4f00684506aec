import type { ObjectDirectory } from '../../io/directory.js';
import { errorMessage } from '../../util/errors.js';
import { checkpointName, decodeCheckpoint, encodeCheckpoint, parseCheckpointName, type CheckpointContents } from './format.js';

export interface SavedCheckpoint {
  uri: string;
  bytes: number;
}

/**
 * Writes a checkpoint, then removes all but the newest `keep`. The new file is complete
 * before any old one is removed, so a crash at any point leaves a loadable checkpoint.
 */
export async function saveCheckpoint(dir: ObjectDirectory, contents: CheckpointContents, keep = 3): Promise<SavedCheckpoint> {
  const name = checkpointName(contents.position);
  const bytes = encodeCheckpoint(contents);
  await dir.write(name, bytes);
  const all = (await dir.list()).filter((n) => parseCheckpointName(n) !== undefined);
  const stale = all.sort().slice(0, Math.max(all.length - keep, 0)).filter((n) => n !== name);
  for (const old of stale) await dir.remove(old);
  return { uri: dir.uriOf(name), bytes: bytes.length };
}

/**
 * Loads the newest checkpoint that verifies. A damaged newest file (e.g. a disk that
 * filled up) is reported through `warn` and the next older one is tried.
 */
export async function loadLatestCheckpoint(
  dir: ObjectDirectory,
  warn: (message: string) => void = () => undefined,
): Promise<(CheckpointContents & { uri: string }) | undefined> {
  const names = (await dir.list()).filter((n) => parseCheckpointName(n) !== undefined).sort().reverse();
  for (const name of names) {
    const uri = dir.uriOf(name);
    try {
      return { ...decodeCheckpoint(await dir.read(name), uri), uri };
    } catch (err) {
      warn(`skipping unreadable checkpoint: ${errorMessage(err)}`);
    }
  }
  return undefined;
}
