import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';

const MAIN = fileURLToPath(new URL('../../../../hack/local-cluster/apiserver/main.ts', import.meta.url));
const ROOT = fileURLToPath(new URL('../../../..', import.meta.url));

t.test('main.ts prints ready, writes a kubeconfig, serves (with --scheduler, schedules), and stops on SIGTERM', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'apiserver-cli-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const kubeconfig = join(dir, 'kubeconfig');
  // A clean NODE_OPTIONS keeps tap's loaders out of the child.
  const child = spawn(process.execPath, ['--import', 'tsx', MAIN, '--port', '0', '--kubeconfig', kubeconfig, '--scheduler', '--quiet'], { cwd: ROOT, env: { ...process.env, NODE_OPTIONS: '' }, stdio: ['ignore', 'pipe', 'pipe'] });
  t.teardown(() => {
    if (child.exitCode === null) child.kill('SIGKILL');
  });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const line = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no ready line within 20 s; stderr: ${stderr}`)), 20_000);
    let out = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('\n')) {
        clearTimeout(timer);
        resolve(out.split('\n')[0]);
      }
    });
  });
  const url = /ready at (http:\/\/127\.0\.0\.1:\d+)/.exec(line)?.[1];
  t.ok(url, `ready line names the URL: ${line}`);
  t.match(await readFile(kubeconfig, 'utf8'), `server: "${url}"`);
  const version = (await (await fetch(`${url}/version`, { signal: AbortSignal.timeout(5_000) })).json()) as { gitVersion: string };
  t.match(version.gitVersion, /^v1\.32\./);
  const created = await fetch(`${url}/api/v1/namespaces/default/pods`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ metadata: { name: 'p' }, spec: { containers: [{ name: 'c', image: 'busybox:1.36' }] } }), signal: AbortSignal.timeout(5_000) });
  t.equal(created.status, 201);
  const scheduled = async () => {
    const pod = (await (await fetch(`${url}/api/v1/namespaces/default/pods/p`, { signal: AbortSignal.timeout(5_000) })).json()) as { status?: { conditions?: Array<{ type: string; message?: string }> } };
    return pod.status?.conditions?.find((c) => c.type === 'PodScheduled')?.message;
  };
  let message = await scheduled();
  for (const deadline = Date.now() + 10_000; message === undefined && Date.now() < deadline; ) {
    await new Promise((r) => setTimeout(r, 100));
    message = await scheduled();
  }
  t.equal(message, 'no nodes available to schedule pods', 'the scheduler runs with --scheduler');
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  child.kill('SIGTERM');
  t.equal(await Promise.race([exited, new Promise((r) => setTimeout(() => r('timeout'), 10_000))]), 0, 'exits 0 on SIGTERM');
});

t.test('main.ts rejects a bad flag with usage', async (t) => {
  const child = spawn(process.execPath, ['--import', 'tsx', MAIN, '--port', 'eighty'], { cwd: ROOT, env: { ...process.env, NODE_OPTIONS: '' }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const code = await new Promise<number | null>((resolve) => {
    const timer = setTimeout(() => (child.kill('SIGKILL'), resolve(null)), 20_000);
    child.once('exit', (c) => (clearTimeout(timer), resolve(c)));
  });
  t.equal(code, 2);
  t.match(stderr, '--port: "eighty" is not a port number');
});
