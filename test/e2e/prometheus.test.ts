/**
 * A real Prometheus (Debian's package) scrapes a running 2-rank trainer group and the
 * operator (against the local API server, with one CifarTrainingJob), loads the chart's
 * rules, and evaluates every dashboard panel's query and variable: each returns data.
 */
import t, { type Test } from 'tap';
import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { writeKubeconfig } from '../../hack/local-cluster/apiserver/kubeconfig.js';
import { startTestApiServer } from '../helpers/apiserver.js';
import { datasetSkip, repoRoot } from '../helpers/datasets.js';
import { packedCifar } from '../helpers/packed-cifar.js';
import {
  RULES_FILE, loadDashboards, panelQueries, startPrometheus, substitute, variableQuery, type PanelQuery, type PrometheusServer,
} from '../helpers/prometheus.js';
import { OPERATOR_START_TIMEOUT_MS } from '../helpers/operator-process.js';
import { locateCommand } from '../helpers/tools.js';
import { freePort, rankEnv, startTrainer, type TrainerProcess } from '../helpers/trainer-process.js';

const prometheusBinary = locateCommand('prometheus');
const skip = prometheusBinary.skip || datasetSkip('cifar10-jpeg.tar.gz');
const JOB = { job_namespace: 'ml', job_name: 'e2e' };
/** What Grafana substitutes when "All" is picked: the variables' allValue. */
const VALUES = { ...JOB, rank: '.*' };
const DEADLINE_MS = 60_000;

async function until<T>(what: string, timeoutMs: number, probe: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? `: ${String(last)}` : ''}`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

function startTrainers(train: string, test: string, checkpointDir: string, masterPort: number, metricsPorts: number[]): TrainerProcess[] {
  return metricsPorts.map((metricsPort, rank) =>
    startTrainer(
      ['train', '--model', 'lenet', '--data-train', train, '--data-val', test, '--num-examples', '1024', '--num-val-examples', '128',
        '--epochs', '1000', '--batch-size', '32', '--backend', 'wasm', '--checkpoint', checkpointDir, '--checkpoint-every', '1',
        '--metrics-port', String(metricsPort), '--metrics-host', '127.0.0.1', '--progress-interval', '60', '--prefetch-workers', '0', '--log-format', 'json'],
      { ...rankEnv(rank, metricsPorts.length, masterPort), JOB_NAME: JOB.job_name, JOB_NAMESPACE: JOB.job_namespace, CIFAR_RESTART_ATTEMPT: '1' },
      400_000,
    ),
  );
}

/** The operator from source against the local API server, with one job to reconcile. */
async function startOperator(t: Test, metricsPort: number): Promise<void> {
  const server = await startTestApiServer(t, { crdDir: join(repoRoot, 'crds') });
  const kubeconfig = join(t.testdir(), 'kubeconfig');
  await writeKubeconfig(kubeconfig, server.url);
  const child = spawn(process.execPath, ['--import', 'tsx', join(repoRoot, 'operator', 'main.ts'), '--kubeconfig', kubeconfig,
    `--metrics-addr=127.0.0.1:${metricsPort}`, '--leader-elect=false', '--log-level=warn'], { cwd: repoRoot, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const closed = new Promise<void>((resolve) => child.once('close', () => resolve()));
  t.teardown(async () => {
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    await closed;
    clearTimeout(timer);
  });
  await until('the operator to serve /readyz', OPERATOR_START_TIMEOUT_MS, async () => {
    if (child.exitCode !== null) throw new Error(`operator exited with ${child.exitCode}: ${stderr.slice(-800)}`);
    return (await fetch(`http://127.0.0.1:${metricsPort}/readyz`)).ok ? true : undefined;
  });
  const job = {
    apiVersion: 'training.cifar-operator.io/v1alpha1',
    kind: 'CifarTrainingJob',
    metadata: { name: 'e2e', namespace: 'default' },
    spec: { replicas: 1, gpusPerReplica: 0, backend: 'wasm', image: 'cifar-operator/trainer:dev', model: { architecture: 'lenet' }, data: { train: 's3://bucket/train.rec' } },
  };
  const res = await fetch(`${server.url}/apis/training.cifar-operator.io/v1alpha1/namespaces/default/cifartrainingjobs`, {
    method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(job),
  });
  if (res.status !== 201) throw new Error(`creating the job failed: ${res.status} ${await res.text()}`);
}

async function writeConfig(dir: string, trainerPorts: number[], operatorPort: number): Promise<string> {
  const file = join(dir, 'prometheus.yml');
  await writeFile(file, stringify({
    global: { scrape_interval: '1s', scrape_timeout: '1s', evaluation_interval: '1s' },
    rule_files: [RULES_FILE],
    scrape_configs: [
      { job_name: 'cifar-trainer', static_configs: [{ targets: trainerPorts.map((p) => `127.0.0.1:${p}`) }] },
      { job_name: 'cifar-operator', static_configs: [{ targets: [`127.0.0.1:${operatorPort}`] }] },
    ],
  }));
  return file;
}

t.test('Prometheus scrapes trainers and the operator; every dashboard query and variable returns data; the rules are healthy', { skip, timeout: 420_000 }, async (t) => {
  const train = await packedCifar('train');
  const test = await packedCifar('test');
  const [masterPort, m0, m1, operatorPort, promPort] = await Promise.all([freePort(), freePort(), freePort(), freePort(), freePort()]);
  const trainerPorts = [m0!, m1!];
  const trainers = startTrainers(train, test, t.testdir(), masterPort!, trainerPorts);
  t.teardown(async () => {
    for (const r of trainers) r.child.kill('SIGTERM');
    await Promise.all(trainers.map((r) => r.done));
  });
  await startOperator(t, operatorPort!);

  const dataDir = await mkdtemp(join(tmpdir(), 'cifar-prometheus-e2e-'));
  t.teardown(() => rm(dataDir, { recursive: true, force: true }));
  const prometheus: PrometheusServer = await startPrometheus(prometheusBinary.path!, await writeConfig(dataDir, trainerPorts, operatorPort!), join(dataDir, 'tsdb'), promPort!);
  t.teardown(() => prometheus.stop());

  const up = await until('every target to be scraped', 60_000, async () => {
    const samples = await prometheus.query('up == 1');
    return samples.length === 3 ? samples : undefined;
  });
  t.equal(up.length, 3, 'two trainers and the operator are up');
  // Validation metrics and checkpoints appear once an epoch has finished on both ranks.
  await Promise.all(trainers.map((r) => r.waitFor(/"event":"epoch"/, 120_000)));

  const queries: PanelQuery[] = (await loadDashboards()).flatMap(({ file, dashboard }) => panelQueries(file, dashboard));
  const pending = new Map(queries.map((q) => [`${q.dashboard} "${q.panel}" ${q.refId}`, substitute(q.expr, VALUES)]));
  const deadline = Date.now() + DEADLINE_MS;
  const results = new Map<string, number>();
  while (pending.size > 0 && Date.now() < deadline) {
    for (const [key, expr] of pending) {
      const samples = await prometheus.query(expr);
      if (samples.length > 0) {
        results.set(key, samples.length);
        pending.delete(key);
      }
    }
    if (pending.size > 0) await new Promise((r) => setTimeout(r, 1_000));
  }
  for (const q of queries) {
    const key = `${q.dashboard} "${q.panel}" ${q.refId}`;
    t.ok(results.has(key), `${key} returns data: ${pending.get(key) ?? `${results.get(key)} series`}`);
  }

  for (const { file, dashboard } of await loadDashboards()) {
    for (const v of dashboard.templating.list.filter((x) => x.type === 'query')) {
      const m = /^label_values\((.+), *(\w+)\)$/.exec(substitute(variableQuery(v), VALUES));
      if (m === null) throw new Error(`${file} $${v.name}: not a label_values query`);
      const values = await prometheus.get<string[]>(`/api/v1/label/${m[2]}/values?match[]=${encodeURIComponent(m[1]!)}`);
      const expected = v.name === 'rank' ? ['0', '1'] : [VALUES[v.name as keyof typeof VALUES]];
      t.same(values, expected, `${file} $${v.name} offers ${expected.join(', ')}`);
    }
  }

  interface RuleState { name: string; health: string; lastError?: string }
  const groups = await until('every rule to be evaluated', 20_000, async () => {
    const data = await prometheus.get<{ groups: Array<{ name: string; rules: RuleState[] }> }>('/api/v1/rules');
    return data.groups.every((g) => g.rules.every((r) => r.health !== 'unknown')) ? data.groups : undefined;
  });
  t.same(groups.map((g) => g.name).sort(), ['cifar-operator.alerts', 'cifar-operator.recording'], 'both rule groups of files/prometheus-rules.yaml are loaded');
  for (const rule of groups.flatMap((g) => g.rules)) t.equal(rule.health, 'ok', `rule ${rule.name} is healthy${rule.lastError ? `: ${rule.lastError}` : ''}`);
  // A recording rule writes its first sample at its next evaluation after the data exists: poll.
  const gang = await until('the recorded gang throughput', 30_000, async () => {
    const series = await prometheus.query(`job_namespace_job_name:cifar_trainer_images:rate5m{job_name="${JOB.job_name}"}`);
    return series.length === 1 && Number(series[0]!.value[1]) > 0 ? series : undefined;
  });
  t.ok(gang.length === 1 && Number(gang[0]!.value[1]) > 0, `the recorded gang throughput is positive (${gang[0]?.value[1]} images/s)`);
});
