/**
 * What a container's command runs on this machine. There are no images here: a command
 * name maps to a Node.js program from this repository. Everything else is refused the
 * way a kubelet refuses an image it may not pull.
 */
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface LocalCommand {
  /** Arguments to `node` that start the program, before the container's own arguments. */
  nodeArgs: string[];
}

export type CommandTable = ReadonlyMap<string, LocalCommand>;

export type TrainerSource = 'source' | 'dist';

export const TRAINER_COMMAND_NAME = 'cifar-trainer';

/** The repository checkout this file lives in (also from a dist build: dist/ has no package.json). */
export function repoRoot(from: string = fileURLToPath(import.meta.url)): string {
  let dir = dirname(from);
  for (;;) {
    if (existsSync(join(dir, 'package.json'))) return dir;
    const parent = dirname(dir);
    if (parent === dir) throw new Error(`local cluster: no package.json above ${from}`);
    dir = parent;
  }
}

/** tsx's ESM loader as a file URL: children run with their own cwd, where a bare `tsx` would not resolve. */
export function tsxLoaderUrl(): string {
  return import.meta.resolve('tsx');
}

/** A TypeScript entry point run through tsx, or its compiled twin under dist/. */
export function nodeProgram(root: string, tsEntry: string, from: TrainerSource, tsxLoader: () => string = tsxLoaderUrl): LocalCommand {
  if (from === 'dist') return { nodeArgs: [join(root, 'dist', tsEntry.replace(/\.ts$/, '.js'))] };
  return { nodeArgs: ['--import', tsxLoader(), join(root, tsEntry)] };
}

/** `cifar-trainer` → the trainer CLI of this checkout, as the trainer image's entry point would be. */
export function defaultCommands(root: string, from: TrainerSource, tsxLoader?: () => string): Map<string, LocalCommand> {
  return new Map([[TRAINER_COMMAND_NAME, nodeProgram(root, 'trainer/cli/main.ts', from, tsxLoader)]]);
}
