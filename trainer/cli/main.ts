#!/usr/bin/env node
import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Command, CommandIO } from './command.js';
import { errorMessage } from '../util/errors.js';
import { EXIT_OK, EXIT_USAGE, exitCodeFor } from '../dist/exit-codes.js';
import { writeTerminationMessage } from './termination-message.js';
import { commands } from './commands.js';
import { printableLine } from '../util/printable.js';

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
    // Errors quote names from the input; escaped, they stay one line and cannot drive the terminal.
    const message = `cifar-trainer ${command.name}: ${printableLine(errorMessage(err))}`;
    io.stderr.write(`${message}\n`);
    // In a pod, the reason becomes the container's termination message, which the operator
    // copies into the job's status.
    await writeTerminationMessage(message, io.env);
    return exitCodeFor(err);
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
  // Exit once the output is flushed, even if a library left a handle open (an idle
  // keep-alive socket, a timer): a finished trainer must end its pod, not linger in it.
  await Promise.all([process.stdout, process.stderr].map((stream) => new Promise<void>((resolve) => stream.write('', () => resolve()))));
  process.exit(code);
}
