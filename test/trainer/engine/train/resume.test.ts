import t from 'tap';
import { spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { repoRoot, datasetSkip } from '../../../helpers/datasets.js';
import { packedCifar } from '../../../helpers/packed-cifar.js';

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the trainer as a real process; `stopAfter` sends SIGTERM once that many step lines were seen. */
function trainProcess(args: string[], stopAfter?: number): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', join(repoRoot, 'trainer', 'cli', 'main.ts'), 'train', ...args], { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let steps = 0;
    const timer = setTimeout(() => child.kill('SIGKILL'), 240_000);
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
      steps = (stderr.match(/"event":"step"/g) ?? []).length;
      if (stopAfter !== undefined && steps >= stopAfter && !child.killed) child.kill('SIGTERM');
    });
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

t.test('same seed gives identical weights; SIGTERM mid-epoch then --resume ends identical to an uninterrupted run', { skip: datasetSkip('cifar10-jpeg.tar.gz') }, async (t) => {
  const train = await packedCifar('train');
  const dir = t.testdir();
  const common = ['--model', 'lenet', '--data-train', train, '--num-examples', '1024', '--epochs', '2', '--batch-size', '64', '--backend', 'wasm', '--log-format', 'json', '--progress-interval', '0', '--seed', '5'];
  const full = await trainProcess([...common, '--out', join(dir, 'full')]);
  t.equal(full.code, 0, full.stderr);
  const again = await trainProcess([...common, '--out', join(dir, 'again'), '--prefetch-workers', '0']);
  t.equal(again.code, 0, again.stderr);
  const sha = async (name: string) => (JSON.parse(await readFile(join(dir, name, 'metrics.json'), 'utf8')) as { weightsSha256: string }).weightsSha256;
  t.equal(await sha('again'), await sha('full'), 'two runs with the same seed (with and without worker prefetch) give identical weights');

  const ckpt = join(dir, 'ckpt');
  // 16 steps per epoch: stop in the middle of the first epoch.
  const stopped = await trainProcess([...common, '--checkpoint', ckpt, '--out', join(dir, 'resumed')], 5);
  t.equal(stopped.code, 143, `stopped with 143 after a checkpoint: ${stopped.stderr.slice(-400)}`);
  t.match(stopped.stderr, /"event":"checkpoint".*"epoch":0/, 'mid-epoch checkpoint written');
  const resumed = await trainProcess([...common, '--checkpoint', ckpt, '--resume', '--out', join(dir, 'resumed')]);
  t.equal(resumed.code, 0, resumed.stderr);
  t.match(resumed.stderr, /resumed from .*ckpt-0+\d+-e0-s\d+\.ckpt at epoch 0, step \d+/);
  t.equal(await sha('resumed'), await sha('full'), 'resumed run ends with the same weightsSha256');
});
