import { rename, writeFile } from 'node:fs/promises';
import type { HostsMap } from './hosts-map.js';

/**
 * Replaces the hosts file in one rename, so a pod process reading it concurrently sees
 * the old map or the new one, never half of either. Writes are serialized.
 */
export class HostsFile {
  #last = '';
  #chain: Promise<void> = Promise.resolve();
  #seq = 0;

  constructor(readonly path: string) {}

  write(hosts: HostsMap): Promise<void> {
    const text = `${JSON.stringify({ hosts }, null, 1)}\n`;
    if (text === this.#last) return this.#chain;
    this.#last = text;
    const tmp = `${this.path}.${process.pid}.${this.#seq++}.tmp`;
    const run = this.#chain.then(async () => {
      await writeFile(tmp, text, { mode: 0o644 });
      await rename(tmp, this.path);
    });
    // A failed write must not block the ones after it; the caller still sees the error.
    this.#chain = run.catch(() => undefined);
    return run;
  }
}
