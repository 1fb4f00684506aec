import { parseArgs, type ParseArgsConfig } from 'node:util';
import { UsageError } from '../util/errors.js';

/** What a subcommand of `cifar-trainer` looks like to the dispatcher. */
export interface Command {
  name: string;
  summary: string;
  usage: string;
  run(argv: string[], io: CommandIO): Promise<number>;
}

/** The process's streams, injected so commands can be tested without spawning. */
export interface CommandIO {
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
  env: NodeJS.ProcessEnv;
}

export type OptionSpec = NonNullable<ParseArgsConfig['options']>;

/**
 * Parses flags strictly: unknown flags and missing values are errors that name the flag
 * and point at the command's usage, instead of being silently ignored.
 */
export function parseFlags<T extends OptionSpec>(command: string, argv: string[], options: T, allowPositionals = false) {
  try {
    return parseArgs({ args: argv, options, allowPositionals, strict: true });
  } catch (err) {
    const detail = err instanceof Error ? err.message : String(err);
    throw new UsageError(`${command}: ${detail} (see 'cifar-trainer ${command} --help')`);
  }
}

/** Parses an integer flag value with bounds, naming the flag on error. */
export function intFlag(flag: string, value: string | undefined, fallback: number, min = Number.MIN_SAFE_INTEGER, max = Number.MAX_SAFE_INTEGER): number {
  if (value === undefined) return fallback;
  if (!/^-?\d+$/.test(value.trim())) throw new UsageError(`--${flag} must be an integer, got '${value}'`);
  const n = Number(value);
  if (n < min || n > max) throw new UsageError(`--${flag} must be between ${min} and ${max}, got ${n}`);
  return n;
}

/** Parses a number flag value with bounds, naming the flag on error. */
export function numberFlag(flag: string, value: string | undefined, fallback: number, min = -Infinity, max = Infinity): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n)) throw new UsageError(`--${flag} must be a number, got '${value}'`);
  if (n < min || n > max) throw new UsageError(`--${flag} must be between ${min} and ${max}, got ${n}`);
  return n;
}

/** Parses an enumerated flag value, listing the allowed values on error. */
export function choiceFlag<C extends string>(flag: string, value: string | undefined, choices: readonly C[], fallback: C): C {
  if (value === undefined) return fallback;
  if ((choices as readonly string[]).includes(value)) return value as C;
  throw new UsageError(`--${flag} must be one of ${choices.join(', ')}, got '${value}'`);
}

/** Parses `I/N` (a shard), 0 <= I < N. */
export function partFlag(flag: string, value: string | undefined): { index: number; count: number } | undefined {
  if (value === undefined) return undefined;
  const m = /^(\d+)\/(\d+)$/.exec(value.trim());
  if (!m) throw new UsageError(`--${flag} must look like I/N (e.g. 0/4), got '${value}'`);
  const index = Number(m[1]);
  const count = Number(m[2]);
  if (count < 1 || index >= count) throw new UsageError(`--${flag} needs 0 <= I < N and N >= 1, got '${value}'`);
  return { index, count };
}
