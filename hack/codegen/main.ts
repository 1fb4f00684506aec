/**
 * `npm run generate`: writes the files derived from the CRD (hack/codegen/outputs.ts).
 * `--check` writes nothing and exits 1 naming each stale file.
 */
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { REPO_ROOT } from './crd.js';
import { derivedFiles } from './outputs.js';

function current(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
}

function main(argv: readonly string[]): number {
  const check = argv.includes('--check');
  let stale = 0;
  for (const { path, text } of derivedFiles()) {
    const target = join(REPO_ROOT, path);
    if (current(target) === text) continue;
    if (check) {
      console.error(`${path}: stale; run npm run generate`);
      stale++;
      continue;
    }
    mkdirSync(dirname(target), { recursive: true });
    // Written beside and renamed, so an interrupted run never leaves half a file.
    writeFileSync(`${target}.tmp`, text);
    renameSync(`${target}.tmp`, target);
    console.log(`wrote ${path}`);
  }
  if (!check) console.log('derived files are current');
  return stale === 0 ? 0 : 1;
}

process.exitCode = main(process.argv.slice(2));
