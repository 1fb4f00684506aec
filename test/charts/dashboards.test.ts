/**
 * The Grafana dashboards in charts/cifar-operator/dashboards: valid dashboard JSON (schema
 * version, unique ids, layout, datasource variable), every panel queries Prometheus, every
 * variable it uses is defined, and every metric it selects is one the trainer or operator
 * exposes, read from their sources: renaming a metric fails here.
 */
import t from 'tap';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { stringify } from 'yaml';
import {
  knownMetricNames, loadDashboards, metricNames, panelQueries, substitute, usedVariables, variableQuery, type Dashboard, type Panel,
} from '../helpers/prometheus.js';
import { locateCommand, runCommand } from '../helpers/tools.js';

const dashboards = await loadDashboards();
const known = await knownMetricNames();
const byUid = (uid: string): Dashboard => {
  const found = dashboards.find((d) => d.dashboard.uid === uid);
  if (found === undefined) throw new Error(`no dashboard with uid ${uid} in ${dashboards.map((d) => d.file).join(', ')}`);
  return found.dashboard;
};

t.test('two dashboards with stable, unique uids', async (t) => {
  t.same(dashboards.map((d) => d.dashboard.uid).sort(), ['cifar-jobs-overview', 'cifar-training-job']);
  for (const { file, dashboard } of dashboards) {
    t.ok(dashboard.schemaVersion >= 36 && dashboard.schemaVersion <= 41, `${file}: schemaVersion ${dashboard.schemaVersion} is a current Grafana model`);
    t.ok(dashboard.title.length > 0, `${file}: has a title`);
    t.ok(dashboard.tags?.includes('cifar-operator'), `${file}: tagged cifar-operator`);
    t.equal((dashboard as unknown as { id: unknown }).id, null, `${file}: id null, so Grafana assigns one on import`);
  }
});

function overlaps(a: Panel, b: Panel): boolean {
  const g = a.gridPos;
  const h = b.gridPos;
  return g.x < h.x + h.w && h.x < g.x + g.w && g.y < h.y + h.h && h.y < g.y + g.h;
}

t.test('panels: unique ids, on the 24-column grid without overlaps, each querying Prometheus through the datasource variable', async (t) => {
  for (const { file, dashboard } of dashboards) {
    const ids = dashboard.panels.map((p) => p.id);
    t.equal(new Set(ids).size, ids.length, `${file}: panel ids are unique`);
    for (const [i, p] of dashboard.panels.entries()) {
      const where = `${file} panel ${p.id} "${p.title}"`;
      t.ok(p.gridPos.x >= 0 && p.gridPos.w > 0 && p.gridPos.x + p.gridPos.w <= 24 && p.gridPos.h > 0, `${where}: fits the grid`);
      const clash = dashboard.panels.slice(i + 1).find((q) => overlaps(p, q));
      t.equal(clash, undefined, `${where}: overlaps no other panel${clash ? ` (overlaps "${clash.title}")` : ''}`);
      if (p.type === 'row') continue;
      t.same(p.datasource, { type: 'prometheus', uid: '${datasource}' }, `${where}: uses the datasource variable`);
      const targets = p.targets ?? [];
      t.ok(targets.length > 0, `${where}: has targets`);
      t.equal(new Set(targets.map((x) => x.refId)).size, targets.length, `${where}: refIds are unique`);
      for (const target of targets) t.ok((target.expr ?? '').trim().length > 0, `${where} ${target.refId}: has a PromQL expr`);
      t.ok(p.fieldConfig?.defaults?.unit !== undefined || p.type === 'stat', `${where}: states its unit`);
    }
  }
});

t.test('variables: a Prometheus datasource variable, and every variable used is defined', async (t) => {
  for (const { file, dashboard } of dashboards) {
    const variables = dashboard.templating.list;
    t.match(variables.find((v) => v.name === 'datasource'), { type: 'datasource', query: 'prometheus' }, `${file}: datasource variable`);
    const defined = new Set(variables.map((v) => v.name));
    const texts = [
      ...dashboard.panels.flatMap((p) => (p.targets ?? []).flatMap((x) => [x.expr ?? '', x.legendFormat ?? ''])),
      ...variables.map(variableQuery),
    ];
    const undefinedVars = [...new Set(texts.flatMap(usedVariables))].filter((n) => !defined.has(n) && n !== 'datasource');
    t.same(undefinedVars, [], `${file}: every $variable is defined`);
    for (const v of variables.filter((x) => x.type === 'query')) {
      const q = variableQuery(v);
      t.match(q, /^label_values\((\w+)(\{[^}]*\})?, *\w+\)$/, `${file}: $${v.name} is a label_values query`);
      for (const name of metricNames(q.replace(/^label_values\(|, *\w+\)$/g, ''))) t.ok(known.has(name), `${file}: $${v.name} reads ${name}, which exists`);
    }
  }
  const training = byUid('cifar-training-job').templating.list.map((v) => v.name);
  for (const name of ['job_namespace', 'job_name', 'rank']) t.ok(training.includes(name), `training dashboard has $${name}`);
});

t.test('every metric a query selects is exposed by the trainer or the operator', async (t) => {
  t.ok(known.has('cifar_trainer_images_total') && known.has('cifar_operator_reconcile_total'), `${known.size} metric names read from the sources`);
  for (const { file, dashboard } of dashboards) {
    for (const q of panelQueries(file, dashboard)) {
      const names = metricNames(q.expr);
      t.ok(names.length > 0, `${file} "${q.panel}" ${q.refId} selects a metric`);
      const unknown = names.filter((n) => !known.has(n));
      t.same(unknown, [], `${file} "${q.panel}" ${q.refId}: ${names.join(', ')}`);
    }
  }
  t.same(metricNames('sum by (rank) (rate(cifar_trainer_imagez_total{job_name="$job_name"}[5m]))').filter((n) => !known.has(n)), ['cifar_trainer_imagez_total'], 'a renamed metric is caught');
});

t.test('the dashboards cover what users watch', async (t) => {
  const exprs = (uid: string): string => panelQueries(uid, byUid(uid)).map((q) => q.expr).join('\n');
  const overview = exprs('cifar-jobs-overview');
  for (const m of ['cifar_operator_jobs', 'cifar_operator_restarts_total', 'cifar_operator_reconcile_errors_total', 'cifar_operator_reconcile_duration_seconds_bucket', 'cifar_operator_workqueue_depth', 'cifar_operator_leader']) {
    t.ok(metricNames(overview).includes(m), `overview shows ${m}`);
  }
  t.match(overview, /histogram_quantile\(0\.5,.*reconcile_duration/, 'reconcile latency p50');
  t.match(overview, /histogram_quantile\(0\.99,.*reconcile_duration/, 'reconcile latency p99');
  const training = exprs('cifar-training-job');
  for (const m of [
    'cifar_trainer_images_total', 'cifar_trainer_step_seconds_bucket', 'cifar_trainer_data_wait_seconds_sum', 'cifar_trainer_allreduce_seconds_sum',
    'cifar_trainer_loss', 'cifar_trainer_accuracy_ratio', 'cifar_trainer_epoch', 'cifar_trainer_learning_rate', 'cifar_trainer_last_checkpoint_timestamp_seconds',
    'cifar_trainer_tfjs_bytes',
  ]) t.ok(metricNames(training).includes(m), `training view shows ${m}`);
  t.match(training, /sum by \(rank\) \(rate\(cifar_trainer_images_total/, 'throughput per rank');
  t.match(training, /allreduce_seconds_sum.*\/.*step_seconds_sum/, 'all-reduce share of step time');
  t.match(training, /avg by \(split\) \(cifar_trainer_loss/, 'loss train vs validation');
  t.match(training, /histogram_quantile\(0\.95, sum by \(le\) \(rate\(cifar_trainer_step_seconds_bucket/, 'step time p95');
});

const promtool = locateCommand('promtool');
t.test('every panel query is valid PromQL (promtool parses it as a recording rule)', { skip: promtool.skip }, async (t) => {
  const rules = dashboards.flatMap(({ file, dashboard }) =>
    panelQueries(file, dashboard).map((q, i) => ({ record: `dashboard_check:${dashboard.uid.replace(/-/g, '_')}:${i}`, expr: substitute(q.expr, { job_namespace: 'ml', job_name: 'demo', rank: '.*' }) })),
  );
  const file = join(t.testdir(), 'panel-queries.yaml');
  await writeFile(file, stringify({ groups: [{ name: 'dashboard-queries', rules }] }));
  const result = await runCommand(promtool.path!, ['check', 'rules', file]);
  t.equal(result.code, 0, `${result.stdout}${result.stderr}`);
  t.match(result.stdout, new RegExp(`SUCCESS: ${rules.length} rules found`));
});
