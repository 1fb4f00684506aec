import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { startChild } from '../../../../hack/local-cluster/node-agent/child-process.js';
import { eventually } from '../../../helpers/apiserver.js';

const env = { PATH: process.env.PATH ?? '' };

/** The file's text, or '' until the log stream has created it. */
function read(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
}

t.test('stop escalates to SIGKILL when the process ignores SIGTERM past its grace period', async (t) => {
  const dir = t.testdir();
  const log = join(dir, 'stubborn.log');
  const child = await startChild({ file: process.execPath, args: ['-e', "process.on('SIGTERM', () => console.log('ignored SIGTERM')); console.log('up'); setInterval(() => {}, 1000)"], env, cwd: dir }, log);
  t.teardown(() => child.killNow());
  t.ok(await eventually(() => read(log).includes('up'), 10_000), 'handler installed');
  const started = Date.now();
  const exit = await child.stop(300);
  const took = Date.now() - started;
  t.same(exit, { code: null, signal: 'SIGKILL' });
  t.ok(took >= 300 && took < 3_000, `killed after the grace period (${took} ms)`);
  t.match(read(log), /ignored SIGTERM/, 'it did get SIGTERM first');
});

t.test('stdout and stderr go to the log file; stderr is also kept as a bounded tail', async (t) => {
  const dir = t.testdir();
  const log = join(dir, 'out.log');
  const child = await startChild({ file: process.execPath, args: ['-e', "console.log('to stdout'); console.error('x'.repeat(20000)); console.error('last words'); process.exit(3)"], env, cwd: dir }, log);
  t.same(await child.exited, { code: 3, signal: null });
  t.match(readFileSync(log, 'utf8'), /to stdout/);
  t.ok(child.stderrTail().length <= 8192);
  t.match(child.stderrTail(), /last words\n$/);
  t.same(await child.stop(100), { code: 3, signal: null }, 'stopping an exited process is a no-op');
});

t.test('a program that cannot be started rejects', async (t) => {
  const dir = t.testdir();
  await t.rejects(startChild({ file: join(dir, 'missing-binary'), args: [], env, cwd: dir }, join(dir, 'x.log')), { code: 'ENOENT' });
});
