#!/usr/bin/env node
// Placeholder until the controller lands (issue 5): says so plainly instead of pretending to run.
const message = [
  'cifar-operator: the controller is not implemented in this build yet.',
  'The trainer CLI (cifar-trainer) and the data layer are available; see README.md.',
].join('\n');

if (process.argv.includes('--help') || process.argv.includes('-h')) {
  process.stdout.write(`Usage: cifar-operator [--help]\n\n${message}\n`);
} else {
  process.stderr.write(`${message}\n`);
  process.exitCode = 1;
}
