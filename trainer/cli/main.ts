#!/usr/bin/env node
import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Command, CommandIO } from './command.js';
import { UsageError, errorMessage } from '../util/errors.js';
import { commands } from './commands.js';

/** Exit codes of the trainer CLI, documented in the README and used by the operator. */
export const EXIT_OK = 0;
export const EXIT_FAILURE = 1;
export const EXIT_USAGE = 2;

function topLevelHelp(list: readonly Command[]): string {
  const width = Math.max(...list.map((c) => c.name.length));
  return [
    'Usage: cifar-trainer <command> [options]',
    '',
    'Commands:',
    ...list.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`),
    '',
    "Run 'cifar-trainer <command> --help' for a command's options.",
    '',
  ].join('\n');
}

/** Runs the CLI with the given arguments and returns the exit code. */
export async function runCli(argv: string[], io: CommandIO, list: readonly Command[] = commands): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    io.stdout.write(topLevelHelp(list));
    return name === undefined ? EXIT_USAGE : EXIT_OK;
  }
  const command = list.find((c) => c.name === name);
  if (!command) {
    io.stderr.write(`cifar-trainer: unknown command '${name}'\n\n${topLevelHelp(list)}`);
    return EXIT_USAGE;
  }
  if (rest.includes('--help') || rest.includes('-h')) {
    io.stdout.write(`${command.usage.trimEnd()}\n`);
    return EXIT_OK;
  }
  try {
    return await command.run(rest, io);
  } catch (err) {
    io.stderr.write(`cifar-trainer ${command.name}: ${errorMessage(err)}\n`);
    return err instanceof UsageError ? EXIT_USAGE : EXIT_FAILURE;
  }
}

function invokedDirectly(): boolean {
  const script = process.argv[1];
  if (!script) return false;
  try {
    return realpathSync(script) === realpathSync(fileURLToPath(import.meta.url));
  } catch {
    return false;
  }
}

if (invokedDirectly()) {
  const code = await runCli(process.argv.slice(2), { stdout: process.stdout, stderr: process.stderr, env: process.env });
  process.exitCode = code;
}
