import type { Command } from './command.js';
import { inspectCommand } from './inspect.js';

/** Every subcommand of cifar-trainer, in the order `--help` lists them. */
export const commands: readonly Command[] = [inspectCommand];
