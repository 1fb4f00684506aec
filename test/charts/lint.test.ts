/**
 * The chart passes `helm lint --strict` with defaults and with the options on; its
 * values.schema.json and template checks refuse bad values naming them; its crds/ holds the
 * repository's CRD unchanged.
 */
import t from 'tap';
import { cp, readFile, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parse } from 'yaml';
import { repoRoot } from '../helpers/datasets.js';
import { ALL_OPTIONS_ON, CHART_DIR, REQUIRED_VALUES, helmTemplate, locateHelm, runCommand } from '../helpers/tools.js';

const helm = await locateHelm();

t.test('the chart CRD is a byte-for-byte copy of crds/cifartrainingjobs.yaml', async (t) => {
  t.same(await readdir(join(CHART_DIR, 'crds')), ['cifartrainingjobs.yaml'], 'the chart installs exactly the repository CRDs');
  const source = await readFile(join(repoRoot, 'crds', 'cifartrainingjobs.yaml'), 'utf8');
  const copy = await readFile(join(CHART_DIR, 'crds', 'cifartrainingjobs.yaml'), 'utf8');
  t.ok(copy === source, 'charts/cifar-operator/crds/cifartrainingjobs.yaml differs from crds/cifartrainingjobs.yaml: run npm run generate');
});

t.test('helm lint --strict passes with defaults and with every option on', { skip: helm.skip }, async (t) => {
  const variants: Record<string, readonly string[]> = {
    defaults: [],
    'every option on': ALL_OPTIONS_ON,
    'single replica without leader election': ['replicaCount=1', 'leaderElection.enabled=false', 'dashboards.enabled=false', 'rbac.create=false', 'serviceAccount.create=false', 'serviceAccount.name=existing'],
  };
  for (const [name, sets] of Object.entries(variants)) {
    const args = ['lint', '--strict', CHART_DIR, '--namespace', 'cifar-system'];
    for (const s of [...REQUIRED_VALUES, ...sets]) args.push('--set', s);
    const result = await runCommand(helm.path!, args);
    t.equal(result.code, 0, `${name}: ${result.stdout}${result.stderr}`);
    t.match(result.stdout, /1 chart\(s\) linted, 0 chart\(s\) failed/);
  }
});

t.test('no image is published: installing without the operator or trainer image is refused, saying how to build and push them', { skip: helm.skip }, async (t) => {
  const neither = await helmTemplate(helm.path!, [], [], []);
  t.not(neither.code, 0, 'refused without image.repository');
  t.match(neither.stderr, /image\.repository is not set: no cifar-operator image is published\. Build and push it first .*docker build -f images\/operator\.Dockerfile -t REGISTRY\/cifar-operator:TAG \. && docker push REGISTRY\/cifar-operator:TAG.*--set image\.repository=REGISTRY\/cifar-operator,image\.tag=TAG/);
  const noTrainer = await helmTemplate(helm.path!, [], [], [REQUIRED_VALUES[0] ?? '']);
  t.not(noTrainer.code, 0, 'refused without trainer.image');
  t.match(noTrainer.stderr, /trainer\.image is not set: .*docker build -f images\/trainer-gpu\.Dockerfile .*--set trainer\.image=/);
  // helm lint renders in lint mode, where fail() is reported but does not fail the lint.
  const lint = await runCommand(helm.path!, ['lint', '--strict', CHART_DIR]);
  t.equal(lint.code, 0, 'helm lint --strict passes without values');
  t.match(lint.stdout + lint.stderr, /image\.repository is not set/, 'and still shows the message');
});

t.test('values.schema.json rejects bad values and names them', { skip: helm.skip }, async (t) => {
  const cases: Array<[string, RegExp]> = [
    ['operator.logLevel=verbose', /operator\.logLevel must be one of the following: "debug", "info", "warn", "error"/],
    ['operator.watchNamespce=ml', /operator: Additional property watchNamespce is not allowed/],
    ['replicaCount=two', /replicaCount: Invalid type\. Expected: integer, given: string/],
    ['operator.workers=0', /operator\.workers: Must be greater than or equal to 1/],
    ['image.pullPolicy=Sometimes', /image\.pullPolicy must be one of the following/],
    ['metrics.serviceMonitor.interval=30 seconds', /metrics\.serviceMonitor\.interval: Does not match pattern/],
    ['image.digest=latest', /image\.digest: Does not match pattern/],
    ['rbac.namespaced=yes', /rbac\.namespaced: Invalid type\. Expected: boolean, given: string/],
    ['rbac.gangSchedulers={yunikorn}', /rbac\.gangSchedulers\.0 must be one of the following: "coscheduling", "volcano"/],
    ['networkPolicy.s3.ports[0]=0', /networkPolicy\.s3\.ports\.0: Must be greater than or equal to 1/],
    ['trainer.namespaces={Team_A}', /trainer\.namespaces\.0: Does not match pattern/],
  ];
  for (const [set, message] of cases) {
    const result = await helmTemplate(helm.path!, [set]);
    t.not(result.code, 0, `--set ${set} is refused`);
    t.match(result.stderr, message, `--set ${set}: ${result.stderr.trim().split('\n').pop() ?? ''}`);
  }
});

t.test('combinations the schema cannot express fail the render with the reason', { skip: helm.skip }, async (t) => {
  const cases: Array<[string[], RegExp]> = [
    [['leaderElection.enabled=false'], /replicaCount is 2 but leaderElection\.enabled is false/],
    [['leaderElection.renewDeadlineSeconds=20'], /leaseDurationSeconds must exceed renewDeadlineSeconds/],
    [['operator.shutdownTimeoutSeconds=30'], /shutdownTimeoutSeconds must be less than terminationGracePeriodSeconds/],
  ];
  for (const [sets, message] of cases) {
    const result = await helmTemplate(helm.path!, sets);
    t.not(result.code, 0, `--set ${sets.join(',')} is refused`);
    t.match(result.stderr, message);
  }
  const single = await helmTemplate(helm.path!, ['replicaCount=1', 'leaderElection.enabled=false']);
  t.equal(single.code, 0, `one replica without leader election is fine: ${single.stderr}`);
  t.match(single.stdout, /--leader-elect=false/);
  t.notMatch(single.stdout, /kind: PodDisruptionBudget/, 'no PodDisruptionBudget for a single replica');
  t.notMatch(single.stdout, /kind: Lease|leader-election/, 'no Lease permissions without leader election');
});

/**
 * Renders NOTES.txt without a cluster: `helm install --dry-run` still asks one for its APIs,
 * so a copy of the chart renders the notes through `tpl` in a template of their own.
 */
async function renderNotes(helmPath: string, dir: string, sets: string[]): Promise<string> {
  const chart = join(dir, 'chart');
  await cp(CHART_DIR, chart, { recursive: true });
  await cp(join(CHART_DIR, 'templates', 'NOTES.txt'), join(chart, 'notes-under-test.txt'));
  await writeFile(join(chart, 'templates', 'zz-notes.yaml'), 'notes: {{ tpl (.Files.Get "notes-under-test.txt") . | toJson }}\n');
  const args = ['template', 'demo', chart, '--namespace', 'cifar-system', '--show-only', 'templates/zz-notes.yaml', ...[...REQUIRED_VALUES, ...sets].flatMap((s) => ['--set', s])];
  const result = await runCommand(helmPath, args);
  if (result.code !== 0) throw new Error(`rendering NOTES.txt failed: ${result.stderr}`);
  const notes = (parse(result.stdout) as { notes?: unknown }).notes;
  if (typeof notes !== 'string' || notes === '') throw new Error(`NOTES.txt rendered empty: ${result.stdout}`);
  return notes;
}

t.test('NOTES.txt tells the user what to do next', { skip: helm.skip }, async (t) => {
  const cluster = await renderNotes(helm.path!, t.testdir(), ['metrics.podMonitor.enabled=true']);
  t.match(cluster, /kubectl -n cifar-system rollout status deployment\/demo-cifar-operator/);
  t.match(cluster, /kubectl -n <namespace> apply -f examples\/resnext-scratch\.yaml/);
  t.match(cluster, /kubectl -n <namespace> get ctj -w/);
  t.match(cluster, /CifarTrainingJobs in all namespaces/);
  t.match(cluster, /PodMonitor demo-cifar-operator-trainers scrapes the trainer pods/);
  t.match(cluster, /labelled grafana_dashboard="1" for Grafana's dashboard sidecar/);
  t.match(cluster, /create one like\s+it .* in each namespace where jobs run/s, 'cluster mode explains the per-namespace trainer ServiceAccount');
  t.match(cluster, /Trainer pods of jobs without spec\.image run registry\.example\.com\/ml\/cifar-trainer:0\.1\.0-gpu/, 'names the default trainer image');
  const namespaced = await renderNotes(helm.path!, t.testdir(), ['rbac.namespaced=true', 'operator.watchNamespace=ml-team']);
  t.match(namespaced, /in namespace ml-team only/);
  t.match(namespaced, /kubectl -n ml-team get ctj -w/);
  t.match(namespaced, /Set metrics\.podMonitor\.enabled=true/);
});
