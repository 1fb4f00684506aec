import t from 'tap';
import { parseFlags } from '../../../operator/controller/flags.js';
import { parseListenAddress, startObservabilityServer } from '../../../operator/observability/http-server.js';
import { createJsonLogger, parseLogLevel } from '../../../operator/observability/logger.js';
import { OperatorMetrics } from '../../../operator/observability/metrics.js';
import { testJob } from '../../helpers/fake-cluster-api.js';

t.test('/metrics exposes the operator metrics and process metrics; /healthz and /readyz', async (t) => {
  const metrics = new OperatorMetrics();
  const running = { ...testJob('a'), status: { phase: 'Running' as const } };
  metrics.bind({ queueDepth: () => 3, jobs: () => [running, testJob('b')] });
  metrics.reconcileTotal.inc({ result: 'success' });
  metrics.observeStatusWrite(undefined, { phase: 'Pending', conditions: [{ type: 'Created', status: 'True', reason: 'JobCreated', message: '', lastTransitionTime: '' }] });
  metrics.observeStatusWrite({ phase: 'Running', restarts: 0 }, { phase: 'Restarting', restarts: 1 });
  metrics.observeStatusWrite({ phase: 'Running' }, { phase: 'Failed' });
  metrics.leader.set(1);
  let ready = false;
  const server = await startObservabilityServer({ host: '127.0.0.1', port: 0, registry: metrics.registry, isReady: () => ready, logger: createJsonLogger({ write: () => undefined }) });
  t.teardown(() => server.close());
  const base = `http://127.0.0.1:${server.port}`;
  const text = await (await fetch(`${base}/metrics`)).text();
  for (const name of [
    'cifar_operator_reconcile_total{result="success"} 1',
    'cifar_operator_reconcile_errors_total 0',
    'cifar_operator_reconcile_duration_seconds_bucket',
    'cifar_operator_workqueue_depth 3',
    'cifar_operator_jobs{phase="Running"} 1',
    'cifar_operator_jobs{phase="Unknown"} 1',
    'cifar_operator_jobs_created_total 1',
    'cifar_operator_jobs_succeeded_total 0',
    'cifar_operator_jobs_failed_total 1',
    'cifar_operator_restarts_total 1',
    'cifar_operator_leader 1',
    'process_cpu_seconds_total',
  ]) {
    t.ok(text.includes(name), `exposes ${name}`);
  }
  t.equal((await fetch(`${base}/healthz`)).status, 200);
  t.equal((await fetch(`${base}/readyz`)).status, 503, 'not ready before the caches sync');
  ready = true;
  t.equal((await fetch(`${base}/readyz`)).status, 200);
  t.equal((await fetch(`${base}/nope`)).status, 404);
});

t.test('JSON logs: one object per line with time, level, msg and fields; level filtering', async (t) => {
  const lines: string[] = [];
  const logger = createJsonLogger({ level: 'info', write: (l) => lines.push(l), now: () => new Date(0) }).child({ namespace: 'ns' });
  logger.debug('hidden');
  logger.info('phase changed', { job: 'j', to: 'Running' });
  logger.error('failed', { err: new Error('boom') });
  t.equal(lines.length, 2);
  t.ok(lines.every((l) => l.endsWith('\n') && !l.slice(0, -1).includes('\n')));
  t.same(JSON.parse(lines[0] ?? ''), { time: '1970-01-01T00:00:00.000Z', level: 'info', msg: 'phase changed', namespace: 'ns', job: 'j', to: 'Running' });
  t.equal((JSON.parse(lines[1] ?? '') as { err: string }).err, 'boom', 'errors keep their message');
  t.throws(() => parseLogLevel('verbose'), /--log-level verbose: expected one of debug, info, warn, error/);
});

t.test('flags: defaults, overrides and errors naming the flag', async (t) => {
  const d = parseFlags([], {});
  t.match(d, { metricsAddr: { host: '0.0.0.0', port: 8080 }, leaderElect: true, leaderElectionNamespace: 'default', leaderElectionId: 'cifar-operator-leader', workers: 2, progressIntervalMs: 10_000, logLevel: 'info', leaseDurationMs: 15_000, renewDeadlineMs: 10_000, retryPeriodMs: 2_000 });
  t.equal(d.namespace, undefined, 'all namespaces by default');
  t.equal(parseFlags([], { POD_NAMESPACE: 'ops' }).leaderElectionNamespace, 'ops');
  const f = parseFlags(['--namespace', 'team', '--metrics-addr=127.0.0.1:0', '--leader-elect=false', '--workers', '4', '--progress-interval', '3', '--kubeconfig', '/k']);
  t.match(f, { namespace: 'team', metricsAddr: { host: '127.0.0.1', port: 0 }, leaderElect: false, workers: 4, progressIntervalMs: 3000, kubeconfig: '/k' });
  t.equal(parseFlags(['--no-leader-elect']).leaderElect, false);
  t.ok(parseFlags(['--help']).help);
  t.throws(() => parseFlags(['--workers', '0']), /--workers 0: expected an integer from 1 to 64/);
  t.throws(() => parseFlags(['--bogus']), /unknown flag --bogus/);
  t.throws(() => parseFlags(['--lease-duration', '5', '--renew-deadline', '10']), /--lease-duration must exceed --renew-deadline/);
  t.throws(() => parseListenAddress('8080'), /--metrics-addr 8080: expected \[host\]:port/);
  t.same(parseListenAddress('[::1]:9'), { host: '::1', port: 9 });
});
