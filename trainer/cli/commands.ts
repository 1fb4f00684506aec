import type { Command } from './command.js';
import { compareCommand } from './compare.js';
import { importMxnetCommand } from './import-mxnet.js';
import { inspectCommand } from './inspect.js';
import { launchCommand } from './launch.js';
import { packCommand } from './pack.js';
import { predictCommand } from './predict.js';
import { trainCommand } from './train.js';

/** Every subcommand of cifar-trainer, in the order `--help` lists them. */
export const commands: readonly Command[] = [packCommand, inspectCommand, trainCommand, launchCommand, compareCommand, importMxnetCommand, predictCommand];
