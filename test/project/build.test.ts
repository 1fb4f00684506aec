import t from 'tap';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { createRequire } from 'node:module';
import { repoRoot } from '../helpers/datasets.js';

const run = promisify(execFile);

t.test('npm run build compiles both binaries, and the compiled CLIs answer --help', async (t) => {
  const outDir = join(t.testdir(), 'dist');
  const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
  await run(process.execPath, [tsc, '-p', join(repoRoot, 'tsconfig.build.json'), '--outDir', outDir], { cwd: repoRoot, timeout: 300_000 });
  const trainer = await run(process.execPath, [join(outDir, 'trainer', 'cli', 'main.js'), '--help'], { cwd: repoRoot });
  t.match(trainer.stdout, /Usage: cifar-trainer <command>/);
  for (const command of ['pack', 'inspect', 'train', 'compare']) t.match(trainer.stdout, new RegExp(`^  ${command} `, 'm'));
  const train = await run(process.execPath, [join(outDir, 'trainer', 'cli', 'main.js'), 'train', '--help'], { cwd: repoRoot });
  t.match(train.stdout, /--data-train/);
  const operator = await run(process.execPath, [join(outDir, 'operator', 'main.js'), '--help'], { cwd: repoRoot });
  t.match(operator.stdout, /Usage: cifar-operator/);
});
