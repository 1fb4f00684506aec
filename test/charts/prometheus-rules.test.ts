/**
 * The chart's Prometheus rules (files/prometheus-rules.yaml): promtool accepts them, every
 * metric they read exists, and unit tests (`promtool test rules`) show each alert firing on
 * the failure it is for and staying quiet on a healthy job. Also `promtool check config` on a
 * scrape config that loads them.
 */
import t from 'tap';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import { RULES_FILE, knownMetricNames, metricNames } from '../helpers/prometheus.js';
import { locateCommand, runCommand } from '../helpers/tools.js';

const promtool = locateCommand('promtool');

interface Rule {
  record?: string;
  alert?: string;
  expr: string;
  for?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}
const rulesFile = parse(await readFile(RULES_FILE, 'utf8')) as { groups: Array<{ name: string; rules: Rule[] }> };
const rules = rulesFile.groups.flatMap((g) => g.rules);

t.test('promtool check rules accepts the rules file', { skip: promtool.skip }, async (t) => {
  const result = await runCommand(promtool.path!, ['check', 'rules', RULES_FILE]);
  t.equal(result.code, 0, `${result.stdout}${result.stderr}`);
  t.match(result.stdout, new RegExp(`SUCCESS: ${rules.length} rules found`));
});

t.test('rules read only metrics the trainer and operator expose, or rules recorded here', async (t) => {
  const known = await knownMetricNames();
  for (const r of rules) if (r.record !== undefined) known.add(r.record);
  for (const r of rules) {
    const unknown = metricNames(r.expr).filter((n) => !known.has(n));
    t.same(unknown, [], `${r.record ?? r.alert}: ${metricNames(r.expr).join(', ')}`);
  }
  for (const r of rules.filter((x) => x.alert !== undefined)) {
    t.ok(['critical', 'warning', 'info'].includes(r.labels?.severity ?? ''), `${r.alert}: has a severity`);
    t.ok(r.annotations?.summary && r.annotations.description, `${r.alert}: has a summary and a description`);
  }
  for (const r of rules.filter((x) => x.record !== undefined)) t.match(r.record, /^[a-z_]+:[a-z_]+:[a-z0-9_]+$/, `${r.record} follows level:metric:operations`);
});

const job = (name: string, rank = 0, extra = ''): string => `job_namespace="ml",job_name="${name}",rank="${rank}"${extra}`;

/** Expects alert `name` to be firing at `at` with `labels`, or (labels undefined) not firing at all. */
function firing(name: string, at: string, labels?: string): object {
  return {
    expr: `ALERTS{alertname="${name}",alertstate="firing"}`,
    eval_time: at,
    exp_samples: labels === undefined ? [] : [{ labels: `ALERTS{alertname="${name}",alertstate="firing",${labels}}`, value: 1 }],
  };
}

const UNIT_TESTS = [
  {
    name: 'a failed job fires CifarTrainingJobFailed',
    interval: '1m',
    input_series: [{ series: 'cifar_operator_jobs_failed_total{instance="op-0"}', values: '0 0 0 1 1 1 1 1 1 1 1' }],
    promql_expr_test: [firing('CifarTrainingJobFailed', '5m', 'severity="warning"'), firing('CifarTrainingJobFailed', '2m')],
  },
  {
    name: 'two gang restarts in an hour fire CifarTrainingJobRestartingOften for that job only',
    interval: '1m',
    input_series: [
      { series: `cifar_trainer_restarts{${job('demo', 0, ',pod="demo-worker-0-a"')}}`, values: '0x19 _x40' },
      { series: `cifar_trainer_restarts{${job('demo', 0, ',pod="demo-worker-0-b"')}}`, values: '_x20 1x19 _x20' },
      { series: `cifar_trainer_restarts{${job('demo', 0, ',pod="demo-worker-0-c"')}}`, values: '_x40 2x19' },
      { series: `cifar_trainer_restarts{${job('steady')}}`, values: '1x59' },
    ],
    alert_rule_test: [
      {
        eval_time: '50m',
        alertname: 'CifarTrainingJobRestartingOften',
        exp_alerts: [{
          exp_labels: { severity: 'warning', job_namespace: 'ml', job_name: 'demo' },
          exp_annotations: {
            summary: 'Training job ml/demo restarted its gang 2 times in an hour.',
            description: 'Each restart resumes from the last checkpoint and counts against runPolicy.backoffLimit. `kubectl describe ctj -n ml demo` shows status.lastFailure: a lost peer (exit 75), an eviction or a node going away.',
          },
        }],
      },
      { eval_time: '15m', alertname: 'CifarTrainingJobRestartingOften', exp_alerts: [] },
    ],
  },
  {
    name: 'throughput falling to a fifth fires CifarTrainerThroughputDropped; a steady job stays quiet',
    interval: '1m',
    input_series: [
      { series: `cifar_trainer_images_total{${job('demo')}}`, values: '0+1000x60 60200+200x40' },
      { series: `cifar_trainer_images_total{${job('steady')}}`, values: '0+1000x100' },
    ],
    promql_expr_test: [
      firing('CifarTrainerThroughputDropped', '90m', 'job_namespace="ml",job_name="demo",severity="warning"'),
      firing('CifarTrainerThroughputDropped', '62m'),
      firing('CifarTrainerStalled', '90m'),
    ],
  },
  {
    name: 'no images for 15 minutes fires CifarTrainerStalled',
    interval: '1m',
    input_series: [{ series: `cifar_trainer_images_total{${job('demo')}}`, values: '0+1000x10 10000x30' }],
    promql_expr_test: [firing('CifarTrainerStalled', '35m', 'job_namespace="ml",job_name="demo",severity="warning"'), firing('CifarTrainerStalled', '12m')],
  },
  {
    name: 'a checkpoint older than two hours fires CifarTrainerCheckpointTooOld; ranks that never checkpoint are ignored',
    interval: '1m',
    input_series: [
      { series: `cifar_trainer_last_checkpoint_timestamp_seconds{${job('demo', 0)}}`, values: '60x150' },
      { series: `cifar_trainer_last_checkpoint_timestamp_seconds{${job('demo', 1)}}`, values: '0x150' },
      { series: `cifar_trainer_last_checkpoint_timestamp_seconds{${job('fresh', 0)}}`, values: '0+60x150' },
    ],
    promql_expr_test: [
      firing('CifarTrainerCheckpointTooOld', '135m', 'job_namespace="ml",job_name="demo",severity="warning"'),
      firing('CifarTrainerCheckpointTooOld', '100m'),
      {
        expr: 'job_namespace_job_name:cifar_trainer_checkpoint_age_seconds:max',
        eval_time: '10m',
        exp_samples: [
          { labels: 'job_namespace_job_name:cifar_trainer_checkpoint_age_seconds:max{job_namespace="ml",job_name="demo"}', value: 540 },
          { labels: 'job_namespace_job_name:cifar_trainer_checkpoint_age_seconds:max{job_namespace="ml",job_name="fresh"}', value: 0 },
        ],
      },
    ],
  },
  {
    name: 'operator alerts: no leader, reconcile errors, slow reconciles',
    interval: '1m',
    input_series: [
      { series: 'cifar_operator_leader{instance="op-0"}', values: '0x30' },
      { series: 'cifar_operator_leader{instance="op-1"}', values: '0x30' },
      { series: 'cifar_operator_reconcile_errors_total{instance="op-0"}', values: '0+2x30' },
      { series: 'cifar_operator_reconcile_duration_seconds_bucket{instance="op-0",le="1"}', values: '0x30' },
      { series: 'cifar_operator_reconcile_duration_seconds_bucket{instance="op-0",le="10"}', values: '0+10x30' },
      { series: 'cifar_operator_reconcile_duration_seconds_bucket{instance="op-0",le="+Inf"}', values: '0+10x30' },
    ],
    promql_expr_test: [
      firing('CifarOperatorNoLeader', '7m', 'severity="critical"'),
      firing('CifarOperatorNoLeader', '3m'),
      firing('CifarOperatorReconcileErrors', '25m', 'severity="warning"'),
      firing('CifarOperatorReconcileSlow', '25m', 'severity="warning"'),
    ],
  },
  {
    name: 'a growing tensor count fires CifarTrainerTensorLeak; the all-reduce share is recorded',
    interval: '1m',
    input_series: [
      { series: `cifar_trainer_tfjs_tensors{${job('demo')}}`, values: '100+10x80' },
      { series: `cifar_trainer_allreduce_seconds_sum{${job('demo')}}`, values: '0+15x20' },
      { series: `cifar_trainer_step_seconds_sum{${job('demo')}}`, values: '0+60x20' },
    ],
    promql_expr_test: [
      firing('CifarTrainerTensorLeak', '70m', 'job_namespace="ml",job_name="demo",rank="0",severity="info"'),
      firing('CifarTrainerTensorLeak', '20m'),
      { expr: 'job_namespace_job_name:cifar_trainer_allreduce_share:ratio_rate5m', eval_time: '10m', exp_samples: [{ labels: 'job_namespace_job_name:cifar_trainer_allreduce_share:ratio_rate5m{job_namespace="ml",job_name="demo"}', value: 0.25 }] },
    ],
  },
];

t.test('promtool test rules: every alert fires on its failure and not on a healthy job', { skip: promtool.skip }, async (t) => {
  const alerts = rules.flatMap((r) => (r.alert === undefined ? [] : [r.alert]));
  const tested = new Set([...JSON.stringify(UNIT_TESTS).matchAll(/alertname(?:=\\"|":")(\w+)/g)].map((m) => m[1]));
  for (const a of alerts) t.ok(tested.has(a), `${a} has a unit test`);
  const file = join(t.testdir(), 'rules-test.yaml');
  await writeFile(file, stringify({ rule_files: [RULES_FILE], evaluation_interval: '1m', tests: UNIT_TESTS }));
  const result = await runCommand(promtool.path!, ['test', 'rules', file]);
  t.equal(result.code, 0, `${result.stdout}${result.stderr}`);
  t.match(result.stdout, /SUCCESS/);
});

t.test('promtool check config accepts a scrape config for trainers and the operator that loads the rules', { skip: promtool.skip }, async (t) => {
  const dir = t.testdir();
  const config = join(dir, 'prometheus.yml');
  await writeFile(config, stringify({
    global: { scrape_interval: '15s', evaluation_interval: '15s' },
    rule_files: [RULES_FILE],
    scrape_configs: [
      { job_name: 'cifar-trainer', metrics_path: '/metrics', static_configs: [{ targets: ['127.0.0.1:9400', '127.0.0.1:9401'] }] },
      { job_name: 'cifar-operator', metrics_path: '/metrics', static_configs: [{ targets: ['127.0.0.1:8080'] }] },
    ],
  }));
  const result = await runCommand(promtool.path!, ['check', 'config', config]);
  t.equal(result.code, 0, `${result.stdout}${result.stderr}`);
  t.match(result.stdout, /SUCCESS: .*is valid prometheus config file syntax/);
  t.match(result.stdout, new RegExp(`SUCCESS: ${rules.length} rules found`));
});
