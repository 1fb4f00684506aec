/**
 * Two real cifar-operator processes whose clocks disagree by 80 seconds share one Lease on
 * the local API server: sampled all along, they never both report themselves leader, and
 * when the leader dies the other takes over within the lease duration.
 */
import t from 'tap';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { writeKubeconfig } from '../../../hack/local-cluster/apiserver/kubeconfig.js';
import { startTestApiServer } from '../../helpers/apiserver.js';
import { waitFor } from '../../helpers/fake-cluster-api.js';

const MAIN = new URL('../../../operator/main.ts', import.meta.url).pathname;
const SKEW = new URL('../../fixtures/skewed-clock.ts', import.meta.url).pathname;
const CRDS = new URL('../../../crds', import.meta.url).pathname;

interface Replica {
  child: ChildProcess;
  address?: string;
}

function startReplica(kubeconfig: string, name: string, offsetMs: number): Replica {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', '--import', SKEW, MAIN, '--kubeconfig', kubeconfig, '--metrics-addr', '127.0.0.1:0', '--leader-election-id', 'skew-lease', '--leader-election-namespace', 'default',
      '--lease-duration', '4', '--renew-deadline', '3', '--retry-period', '0.5', '--progress-interval', '0'],
    { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, POD_NAME: name, CIFAR_TEST_CLOCK_OFFSET_MS: String(offsetMs) } },
  );
  const replica: Replica = { child };
  createInterface({ input: child.stderr! }).on('line', (line) => {
    try {
      const entry = JSON.parse(line) as { msg?: string; address?: string };
      if (entry.msg === 'metrics server listening') replica.address = entry.address;
    } catch {
      // not a log line
    }
  });
  return replica;
}

async function leads(replica: Replica): Promise<boolean | undefined> {
  if (replica.address === undefined || replica.child.exitCode !== null || replica.child.signalCode !== null) return undefined;
  try {
    const text = await (await fetch(`http://${replica.address}/metrics`, { signal: AbortSignal.timeout(2000) })).text();
    return /^cifar_operator_leader 1$/m.test(text);
  } catch {
    return undefined;
  }
}

t.test('replicas with clocks 80 s apart never lead together; a dead leader is replaced', async (t) => {
  const server = await startTestApiServer(t, { crdDir: CRDS });
  const dir = await mkdtemp(join(tmpdir(), 'cifar-skew-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const kubeconfig = join(dir, 'kubeconfig');
  await writeKubeconfig(kubeconfig, server.url);
  const ahead = startReplica(kubeconfig, 'ahead', 40_000);
  const behind = startReplica(kubeconfig, 'behind', -40_000);
  const replicas = [ahead, behind];
  t.teardown(() => replicas.forEach((r) => r.child.exitCode === null && r.child.kill('SIGKILL')));
  // Starting two processes under tsx on a busy machine can take a while.
  t.ok(await waitFor(async () => (await Promise.all(replicas.map(leads))).some((l) => l === true), 120_000), 'one replica leads');
  t.ok(await waitFor(() => replicas.every((r) => r.address !== undefined), 60_000), 'both serve metrics');

  let both = 0;
  let samples = 0;
  const sample = async (ms: number): Promise<void> => {
    const end = Date.now() + ms;
    while (Date.now() < end) {
      const states = await Promise.all(replicas.map(leads));
      samples++;
      if (states.every((s) => s === true)) both++;
      await new Promise((r) => setTimeout(r, 50));
    }
  };
  await sample(10_000);
  const leader = (await leads(ahead)) === true ? ahead : behind;
  const standby = leader === ahead ? behind : ahead;
  t.equal(await leads(standby), false, 'the other replica stands by after more than two lease durations');

  leader.child.kill('SIGKILL');
  const killedAt = Date.now();
  t.ok(await waitFor(async () => (await leads(standby)) === true, 30_000), 'the standby takes over once the dead leader stops renewing');
  const takeover = Date.now() - killedAt;
  t.ok(takeover < 20_000, `took over after ${takeover} ms (lease 4 s, retry 0.5 s)`);
  t.equal(both, 0, `never two leaders in ${samples} samples`);
});
