import t from 'tap';
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, relative } from 'node:path';
import { repoRoot } from '../helpers/datasets.js';

// Tests mirror the source tree: the tests of operator/core/names.ts are in
// test/operator/core/names.test.ts. Folders that test no single source folder are listed here.
const CROSS_CUTTING = new Map([
  ['e2e', 'whole-system runs on the local cluster'],
  ['project', 'the repository as a whole: build, README, structure rules'],
  ['helpers', 'shared helpers and the one fake per level'],
  ['fixtures', 'programs tests start as child processes'],
]);

function testFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return testFiles(path);
    return name.endsWith('.test.ts') ? [path] : [];
  });
}

t.test('every test file sits under test/ at the path of the source folder it tests', async (t) => {
  const testRoot = join(repoRoot, 'test');
  const files = testFiles(testRoot).map((f) => relative(testRoot, f));
  t.ok(files.length > 100, `found ${files.length} test files`);
  const misplaced = files.filter((file) => {
    const folder = file.split('/').slice(0, -1).join('/');
    if (folder === '') return true;
    const top = folder.split('/')[0];
    return !CROSS_CUTTING.has(top) && !existsSync(join(repoRoot, folder));
  });
  t.same(misplaced, [], 'test files whose folder is neither a source folder nor a cross-cutting one');
});

t.test('no test file lies directly in test/', async (t) => {
  // A flat name such as operator-names.test.ts is the old layout coming back.
  const flat = readdirSync(join(repoRoot, 'test')).filter((name) => name.endsWith('.test.ts'));
  t.same(flat, [], 'no test files directly in test/');
});

t.test('tap runs every test file (its default exclude drops any folder named dist, as test/trainer/dist)', async (t) => {
  const testRoot = join(repoRoot, 'test');
  const onDisk = testFiles(testRoot).map((f) => relative(repoRoot, f)).sort();
  const tapPackage = createRequire(import.meta.url).resolve('tap/package.json');
  const { bin } = JSON.parse(readFileSync(tapPackage, 'utf8')) as { bin: { tap: string } };
  const tapBin = join(dirname(tapPackage), bin.tap);
  // `tap list` prints the files a plain `tap` (npm test) would run, after include and exclude.
  const listed = execFileSync(process.execPath, [tapBin, 'list'], { cwd: repoRoot, encoding: 'utf8', timeout: 120_000 })
    .split('\n').map((l) => l.trim()).filter((l) => l.endsWith('.test.ts')).sort();
  t.same(onDisk.filter((f) => !listed.includes(f)), [], 'test files tap would not run');
  t.ok(listed.includes('test/trainer/dist/ring.test.ts'), 'the trainer/dist tests are among them');
});
