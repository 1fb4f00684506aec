import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import t from 'tap';
import { ensureTool } from '../../hack/tools/ensure-tool.js';
import { eventually } from '../helpers/apiserver.js';
import { datasetSkip, repoRoot } from '../helpers/datasets.js';
import { kubectl } from '../helpers/e2e.js';
import { privatePodRange } from '../helpers/operator-process.js';

// The acceptance check, as a new user does it: `npm run local-cluster`, then
// `kubectl apply -f examples/local-cpu-lenet.yaml` with nothing substituted, to Succeeded.
const skip = datasetSkip('cifar10-jpeg.tar.gz');

interface Started {
  child: ChildProcess;
  out: () => string;
  err: () => string;
  exited: Promise<number | null>;
}

function startLocalClusterCli(dir: string, podIps: { first: string; last: string }): Started {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', join(repoRoot, 'hack/local-cluster/main.ts'), '--kubeconfig', join(dir, 'kubeconfig'), '--state-dir', join(dir, 'state'), '--data', 'shared', '--pod-ips', `${podIps.first}-${podIps.last}`],
    { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let out = '';
  let err = '';
  child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (err = `${err}${d.toString()}`.slice(-20_000)));
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  return { child, out: () => out, err: () => err, exited };
}

/** SIGTERM (the cluster stops its S3, pods and operator), SIGKILL only if it hangs. */
async function stop(started: Started): Promise<number | null | 'timeout'> {
  if (started.child.exitCode !== null || started.child.signalCode !== null) return started.child.exitCode;
  started.child.kill('SIGTERM');
  const code = await Promise.race([started.exited, new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), 60_000))]);
  if (code === 'timeout') started.child.kill('SIGKILL');
  return code;
}

t.test('npm run local-cluster + kubectl apply -f examples/local-cpu-lenet.yaml as it is: Succeeded with validation accuracy', { skip }, async (t) => {
  const kubectlPath = await ensureTool('kubectl');
  const dir = t.testdir();
  const kubeconfig = join(dir, 'kubeconfig');
  const podIps = privatePodRange(8);
  const first = startLocalClusterCli(dir, podIps);
  t.teardown(() => stop(first));
  // A fresh checkout compiles every module through tsx first, then packs 60,000 images.
  t.ok(await eventually(() => /ready/.test(first.out()) || first.child.exitCode !== null, 300_000), `ready; stderr: ${first.err().slice(-3000)}`);
  t.match(first.err(), /packed 50000 train images into s3:\/\/cifar\/data\/train\.rec/, 'CIFAR-10 packed on the first start');
  t.match(first.out(), `local S3: http://${podIps.first}:4568 (pods: http://local-s3.default.svc:4568)`);

  const applied = await kubectl(kubectlPath, kubeconfig, ['apply', '-f', join(repoRoot, 'examples', 'local-cpu-lenet.yaml')]);
  t.equal(applied.code, 0, applied.stderr);
  const slice = await kubectl(kubectlPath, kubeconfig, ['get', 'endpointslice', 'local-s3', '-o', 'jsonpath={.endpoints[0].addresses[0]}']);
  t.equal(slice.stdout, podIps.first, 'the local-s3 Service is backed by an EndpointSlice with the S3 address');

  const status = async (): Promise<{ phase?: string; progress?: { validationAccuracy?: number; epoch?: number }; lastFailure?: unknown }> => {
    const got = await kubectl(kubectlPath, kubeconfig, ['get', 'ctj', 'local-cpu-lenet', '-o', 'jsonpath={.status}']);
    return got.code === 0 && got.stdout ? (JSON.parse(got.stdout) as { phase?: string }) : {};
  };
  let last: Awaited<ReturnType<typeof status>> = {};
  const finished = await eventually(async () => {
    // One kubectl process every 2 s, not every 20 ms: the trainers need the CPU.
    await new Promise((r) => setTimeout(r, 2_000));
    last = await status();
    return last.phase === 'Succeeded' || last.phase === 'Failed';
  }, 900_000);
  t.ok(finished, `the job finished; last status ${JSON.stringify(last)}`);
  t.equal(last.phase, 'Succeeded', `phase; last status ${JSON.stringify(last)}`);
  t.equal(last.progress?.epoch, 2, 'both epochs ran');
  const accuracy = last.progress?.validationAccuracy ?? 0;
  t.ok(accuracy > 0.2, `status.progress.validationAccuracy ${accuracy} is above chance (0.1)`);
  const table = await kubectl(kubectlPath, kubeconfig, ['get', 'ctj', 'local-cpu-lenet']);
  t.match(table.stdout, /local-cpu-lenet\s+Succeeded/, 'kubectl get ctj shows it');
  t.equal(await stop(first), 0, `first start stopped cleanly; stderr: ${first.err().slice(-2000)}`);

  // Started again on the same state directory, the S3 objects are still there: no packing.
  const second = startLocalClusterCli(dir, podIps);
  t.teardown(() => stop(second));
  t.ok(await eventually(() => /ready/.test(second.out()) || second.child.exitCode !== null, 300_000), `ready again; stderr: ${second.err().slice(-3000)}`);
  t.match(second.err(), /CIFAR-10 already packed in s3:\/\/cifar\/data\//);
  t.notMatch(second.err(), /packed 50000 train images/);
  t.equal(await stop(second), 0, 'second start stopped cleanly');
});
