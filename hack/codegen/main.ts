/**
 * `npm run generate`: writes the files derived from the CRD. `--check` writes nothing and
 * exits 1 naming each stale file (what CI would otherwise find by a failing test).
 */
import { readFileSync, writeFileSync, renameSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { GENERATED_PATH, renderApiModule } from './api-types.js';
import { REPO_ROOT, loadCrd } from './crd.js';

function current(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
}

function main(argv: readonly string[]): number {
  const check = argv.includes('--check');
  const outputs = [{ path: join(REPO_ROOT, GENERATED_PATH), text: renderApiModule(loadCrd()) }];
  let stale = 0;
  for (const { path, text } of outputs) {
    if (current(path) === text) continue;
    if (check) {
      console.error(`${path}: stale; run npm run generate`);
      stale++;
      continue;
    }
    mkdirSync(dirname(path), { recursive: true });
    // Written beside and renamed, so an interrupted run never leaves half a file.
    writeFileSync(`${path}.tmp`, text);
    renameSync(`${path}.tmp`, path);
    console.log(`wrote ${path}`);
  }
  return stale === 0 ? 0 : 1;
}

process.exitCode = main(process.argv.slice(2));
