// What the training benches share: the CIFAR-10 check and running cifar-trainer in-process
// with its stderr (progress lines) dropped and its stdout returned.
import { Writable } from 'node:stream';
import { runCli } from '../../../trainer/cli/main.js';
import { datasetSkip } from '../../../test/helpers/datasets.js';

/** Exits the bench with a message (and status 0) when the shared CIFAR-10 copy is absent. */
export function exitWithoutCifar(bench: string): void {
  const skip = datasetSkip('cifar10-jpeg.tar.gz');
  if (skip) {
    console.log(`${bench} skipped: ${skip}`);
    process.exit(0);
  }
}

/** Runs `cifar-trainer ARGS...`; its stdout, or an error naming the command and exit code. */
export async function runTrainerQuietly(args: string[]): Promise<string> {
  let stdout = '';
  const sink = (keep: boolean) => new Writable({ write(chunk: Buffer, _e, done) { if (keep) stdout += chunk.toString(); done(); } });
  const code = await runCli(args, { stdout: sink(true), stderr: sink(false), env: process.env });
  if (code !== 0) throw new Error(`cifar-trainer ${args.slice(0, 1).join(' ')} failed with exit code ${code}`);
  return stdout;
}
