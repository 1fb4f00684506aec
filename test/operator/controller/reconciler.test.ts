import t from 'tap';
import type { Pod } from '../../../operator/api/k8s-types.js';
import type { TrainingProgress } from '../../../operator/api/types.js';
import { ApiStatusError } from '../../../operator/runtime/api-errors.js';
import { EventRecorder, eventName } from '../../../operator/runtime/event-recorder.js';
import { Informers } from '../../../operator/controller/informers.js';
import type { ProgressSource, ProgressTarget } from '../../../operator/controller/progress.js';
import { ConflictError, Reconciler } from '../../../operator/controller/reconciler.js';
import { runWorkers } from '../../../operator/runtime/workers.js';
import { WorkQueue } from '../../../operator/runtime/workqueue.js';
import { silentLogger } from '../../../operator/observability/logger.js';
import { OperatorMetrics } from '../../../operator/observability/metrics.js';
import type { TeardownHost } from '../../helpers/apiserver.js';
import { FakeClusterApi, testJob, waitFor } from '../../helpers/fake-cluster-api.js';

class FixedProgress implements ProgressSource {
  targets: ProgressTarget[] = [];
  constructor(private readonly value: TrainingProgress) {}
  current(target: ProgressTarget): TrainingProgress {
    this.targets.push(target);
    return this.value;
  }
  forget(): void {}
}

async function setup(t: TeardownHost, opts: { progress?: ProgressSource } = {}) {
  const api = new FakeClusterApi();
  const informers = new Informers({ api, logger: silentLogger, enqueue: () => undefined });
  informers.start();
  t.teardown(() => informers.stop());
  if (!(await informers.waitForSync(2000))) throw new Error('caches did not sync');
  const metrics = new OperatorMetrics({ defaultMetrics: false });
  const reconciler = new Reconciler({
    api,
    caches: informers.caches,
    events: new EventRecorder({ api, logger: silentLogger, instance: 'test' }),
    logger: silentLogger,
    metrics,
    ...(opts.progress === undefined ? {} : { progress: opts.progress, progressIntervalMs: 10_000 }),
  });
  /** Waits until the caches hold what the fake API holds. */
  const settle = () => waitFor(() => informers.caches.jobs.list().every((j) => api.get('CifarTrainingJob', j.metadata.namespace ?? '', j.metadata.name)?.metadata.resourceVersion === j.metadata.resourceVersion) && informers.caches.pods.size === api.all('Pod').length);
  return { api, informers, reconciler, metrics, settle };
}

function setPodPhase(api: FakeClusterApi, name: string, phase: 'Running' | 'Succeeded' | 'Failed', exitCode?: number): void {
  const pod = api.get('Pod', 'default', name) as Pod;
  pod.status = {
    phase,
    podIP: '127.0.0.9',
    ...(exitCode === undefined ? {} : { containerStatuses: [{ name: 'trainer', state: { terminated: { exitCode, reason: exitCode === 0 ? 'Completed' : 'Error' } } }] }),
  };
  api.put('Pod', pod);
}

t.test('a new job: status is written first, then the Service, Secret and pods are created with owner references', async (t) => {
  const { api, reconciler, settle } = await setup(t);
  const job = api.put('CifarTrainingJob', testJob('j1'));
  await settle();
  await reconciler.reconcile('default/j1');
  t.match(api.calls[0], /^status j1 Pending$/, 'the status write comes before any change');
  t.same(api.calls.slice(1).filter((c) => c.startsWith('create')).sort(), ['create Pod j1-worker-0', 'create Pod j1-worker-1', 'create Secret j1-peer-key', 'create Service j1-workers']);
  for (const kind of ['Pod', 'Service', 'Secret'] as const) {
    for (const obj of api.all(kind)) t.equal(obj.metadata.ownerReferences?.[0]?.uid, job.metadata.uid, `${kind} ${obj.metadata.name} is owned by the job`);
  }
  const status = api.get('CifarTrainingJob', 'default', 'j1')?.status;
  t.equal(status?.observedGeneration, 1, 'observedGeneration recorded');
  const secret = api.get('Secret', 'default', 'j1-peer-key');
  t.equal(Buffer.from(secret?.data?.['peer-key'] ?? '', 'base64').toString().length, 64, 'a 32-byte key as hex');
});

t.test('reconciling again changes nothing (idempotent), and AlreadyExists / NotFound are not errors', async (t) => {
  const { api, reconciler, settle } = await setup(t);
  api.put('CifarTrainingJob', testJob('j2'));
  await settle();
  await reconciler.reconcile('default/j2');
  await settle();
  api.calls.length = 0;
  await reconciler.reconcile('default/j2');
  t.same(api.calls, ['status j2 Created'], 'only the phase moves on once the pods are seen');
  await settle();
  api.calls.length = 0;
  await reconciler.reconcile('default/j2');
  t.same(api.calls, [], 'a converged job needs no writes');

  // A stale cache: the pod is gone from the API but the cache has not heard yet.
  api.failNext('create', new ApiStatusError(409, 'AlreadyExists', 'pods "j2-worker-0" already exists'));
  await api.delete('Pod', 'default', 'j2-worker-0');
  await reconciler.reconcile('default/j2').catch((err: unknown) => t.fail(`AlreadyExists must be tolerated: ${String(err)}`));
  t.pass('AlreadyExists on create tolerated');
});

t.test('a 409 on the status write applies nothing and surfaces as ConflictError; the worker retries', async (t) => {
  const { api, reconciler, informers, settle, metrics } = await setup(t);
  api.put('CifarTrainingJob', testJob('j3'));
  await settle();
  // Someone updates the job; the cache has not seen it when reconcile runs.
  const fresh = api.get('CifarTrainingJob', 'default', 'j3');
  if (fresh === undefined) throw new Error('job missing');
  fresh.metadata.labels = { touched: 'yes' };
  api.put('CifarTrainingJob', fresh);
  await t.rejects(reconciler.reconcile('default/j3'), ConflictError);
  t.notOk(api.calls.some((c) => c.startsWith('create')), 'no action after a failed status write');

  const queue = new WorkQueue();
  queue.add('default/j3');
  const workers = runWorkers({ queue, reconcile: (k) => reconciler.reconcile(k), logger: silentLogger, metrics }, 1);
  t.ok(await waitFor(() => api.all('Pod').length === 2), 'the retry, after backoff, converges');
  await queue.drain();
  await workers;
  t.equal((await metrics.reconcileErrors.get()).values[0]?.value ?? 0, 0, 'a conflict is not an error');
  t.ok(informers.caches.jobs.get('default/j3'));
});

t.test('the worker counts a conflict, backs off and succeeds on retry', async (t) => {
  const metrics = new OperatorMetrics({ defaultMetrics: false });
  const queue = new WorkQueue();
  let calls = 0;
  const reconcile = async () => {
    calls++;
    if (calls === 1) throw new ConflictError('stale');
    if (calls === 2) throw new Error('boom');
    return {};
  };
  queue.add('k');
  const workers = runWorkers({ queue, reconcile, logger: silentLogger, metrics }, 2);
  t.ok(await waitFor(() => calls === 3), 'retried after a conflict and an error');
  await queue.drain();
  await workers;
  const byResult = Object.fromEntries((await metrics.reconcileTotal.get()).values.map((v) => [v.labels.result, v.value]));
  t.same(byResult, { conflict: 1, error: 1, success: 1 });
  t.equal((await metrics.reconcileErrors.get()).values[0]?.value, 1);
  t.equal(queue.numRequeues('k'), 0, 'backoff reset by the success');
});

t.test('rank 0 exiting 0 makes the job Succeeded, counted once, with an Event; cleanup follows', async (t) => {
  const { api, reconciler, settle, metrics } = await setup(t);
  api.put('CifarTrainingJob', testJob('j4'));
  for (let i = 0; i < 3; i++) {
    await settle();
    await reconciler.reconcile('default/j4');
  }
  setPodPhase(api, 'j4-worker-0', 'Running');
  setPodPhase(api, 'j4-worker-1', 'Running');
  await settle();
  await reconciler.reconcile('default/j4');
  t.equal(api.get('CifarTrainingJob', 'default', 'j4')?.status?.phase, 'Running');
  setPodPhase(api, 'j4-worker-0', 'Succeeded', 0);
  await settle();
  await reconciler.reconcile('default/j4');
  await settle();
  await reconciler.reconcile('default/j4');
  t.equal(api.get('CifarTrainingJob', 'default', 'j4')?.status?.phase, 'Succeeded');
  t.equal((await metrics.jobsSucceeded.get()).values[0]?.value, 1, 'jobs_succeeded_total counts it once');
  t.equal((await metrics.jobsCreated.get()).values[0]?.value, 1);
  t.ok(api.events.some((e) => e.reason === 'Succeeded' && e.involvedObject.name === 'j4' && e.component === 'cifar-operator'), 'a Succeeded Event');
  t.notOk(api.get('Secret', 'default', 'j4-peer-key'), 'the peer key is deleted at the end');
  t.notOk(api.get('Pod', 'default', 'j4-worker-1'), 'cleanPodPolicy Running deletes the pod still running');
});

t.test('a retryable failure restarts the gang: restarts counted, old pods deleted by uid', async (t) => {
  const { api, reconciler, settle, metrics } = await setup(t);
  api.put('CifarTrainingJob', testJob('j5'));
  for (let i = 0; i < 2; i++) {
    await settle();
    await reconciler.reconcile('default/j5');
  }
  setPodPhase(api, 'j5-worker-0', 'Running');
  setPodPhase(api, 'j5-worker-1', 'Running');
  await settle();
  await reconciler.reconcile('default/j5');
  setPodPhase(api, 'j5-worker-1', 'Failed', 75);
  await settle();
  await reconciler.reconcile('default/j5');
  const status = api.get('CifarTrainingJob', 'default', 'j5')?.status;
  t.equal(status?.phase, 'Restarting');
  t.equal(status?.restarts, 1);
  t.equal((await metrics.restarts.get()).values[0]?.value, 1);
  t.equal(api.all('Pod').length, 0, 'both pods deleted');
  const statusIndex = api.calls.findIndex((c) => c === 'status j5 Restarting');
  const deleteIndex = api.calls.findIndex((c) => c.startsWith('delete Pod'));
  t.ok(statusIndex >= 0 && statusIndex < deleteIndex, 'the decision is written before the failed pod is deleted');
});

t.test('a create the API server refuses (403) shows on the job as PodsReady=False FailedCreate with a Warning Event, and is retried', async (t) => {
  const { api, reconciler, settle } = await setup(t);
  api.put('CifarTrainingJob', testJob('q1'));
  await settle();
  api.refusals.set('Pod', new ApiStatusError(403, 'Forbidden', 'create Pod default/q1-worker-0: pods "q1-worker-0" is forbidden: exceeded quota: gpu-quota, requested: requests.cpu=2, used: requests.cpu=8, limited: requests.cpu=8'));
  await t.rejects(reconciler.reconcile('default/q1'), /2 of 4 change\(s\) failed/, 'the key is retried with backoff');
  const status = api.get('CifarTrainingJob', 'default', 'q1')?.status;
  t.equal(status?.phase, 'Pending');
  t.match(status?.conditions?.find((c) => c.type === 'PodsReady'), { status: 'False', reason: 'FailedCreate', message: /could not create Pod q1-worker-\d \(HTTP 403 Forbidden\): .*exceeded quota: gpu-quota/ });
  t.match(api.events.filter((e) => e.reason === 'FailedCreate'), [{ type: 'Warning', involvedObject: { name: 'q1' } }, { type: 'Warning' }], 'a Warning Event per refused pod');
  await settle();
  await t.rejects(reconciler.reconcile('default/q1'));
  t.equal(api.get('CifarTrainingJob', 'default', 'q1')?.status?.conditions?.find((c) => c.type === 'PodsReady')?.reason, 'FailedCreate', 'the reason stays while the pods are missing');
  t.ok(api.events.filter((e) => e.reason === 'FailedCreate').every((e) => e.count >= 1) && api.events.filter((e) => e.reason === 'FailedCreate').length === 2, 'repeats bump the count instead of adding Events');
  api.refusals.delete('Pod');
  await settle();
  await reconciler.reconcile('default/q1');
  await settle();
  await reconciler.reconcile('default/q1');
  t.equal(api.all('Pod').length, 2, 'created once the quota allows');
  t.not(api.get('CifarTrainingJob', 'default', 'q1')?.status?.conditions?.find((c) => c.type === 'PodsReady')?.reason, 'FailedCreate');
});

t.test('a pod the API server finds invalid (422) fails the job naming the pod field and the spec field behind it', async (t) => {
  const { api, reconciler, settle } = await setup(t);
  api.put('CifarTrainingJob', testJob('q2'));
  await settle();
  api.refusals.set('Pod', new ApiStatusError(422, 'Invalid', 'Pod "q2-worker-0" is invalid', [{ field: 'spec.containers[0].resources.limits[memory]', message: 'Invalid value: "12X": quantities must match the regular expression' }]));
  await reconciler.reconcile('default/q2');
  const status = api.get('CifarTrainingJob', 'default', 'q2')?.status;
  t.equal(status?.phase, 'Failed', 'retrying the same pod cannot help');
  t.match(status?.conditions?.find((c) => c.type === 'Failed'), {
    reason: 'InvalidPodSpec',
    message: /refused Pod q2-worker-\d as invalid \(HTTP 422 Invalid\): spec\.containers\[0\]\.resources\.limits\[memory\] \(from spec\.resources\): Invalid value: "12X"/,
  });
  t.ok(status?.completionTime !== undefined);
  t.ok(api.events.some((e) => e.reason === 'InvalidPodSpec' && e.type === 'Warning'));
});

t.test('a PodGroup is created before the pods; a refused one keeps the pods from being created', async (t) => {
  const { api, reconciler, settle } = await setup(t);
  api.put('CifarTrainingJob', testJob('g1', { runPolicy: { schedulingPolicy: { gangScheduler: 'volcano' } } }));
  await settle();
  api.failNext('createPodGroup', new ApiStatusError(404, 'NotFound', 'the server could not find the requested resource (post podgroups.scheduling.volcano.sh)'));
  await t.rejects(reconciler.reconcile('default/g1'));
  t.equal(api.all('Pod').length, 0, 'no pod without its PodGroup');
  t.match(api.get('CifarTrainingJob', 'default', 'g1')?.status?.conditions?.find((c) => c.type === 'PodsReady')?.message, /could not create PodGroup g1-gang-0 \(HTTP 404 NotFound\)/);
  await settle();
  api.calls.length = 0;
  await reconciler.reconcile('default/g1');
  const group = api.calls.indexOf('create PodGroup g1-gang-0');
  const pod = api.calls.findIndex((c) => c.startsWith('create Pod '));
  t.ok(group >= 0 && group < pod, `PodGroup first: ${api.calls.join(', ')}`);
});

t.test('a status write keeps the object the server returned: the next write does not conflict even before the watch catches up', async (t) => {
  const api = new FakeClusterApi();
  const informers = new Informers({ api, logger: silentLogger, enqueue: () => undefined });
  informers.start();
  t.teardown(() => informers.stop());
  t.ok(await informers.waitForSync(2000));
  api.put('CifarTrainingJob', testJob('kept', { runPolicy: { activeDeadlineSeconds: 10 } }));
  t.ok(await waitFor(() => informers.caches.jobs.get('default/kept') !== undefined));
  // From here the watch delivers nothing: only the reconciler's own writes can move the cache.
  api.dropWatches();
  let now = new Date('2025-01-01T00:00:00Z');
  const reconciler = new Reconciler({ api, caches: informers.caches, events: new EventRecorder({ api, logger: silentLogger, instance: 'test' }), logger: silentLogger, now: () => now });
  await reconciler.reconcile('default/kept');
  t.equal(informers.caches.jobs.get('default/kept')?.status?.phase, 'Pending', 'the cache holds the written status');
  t.equal(informers.caches.jobs.get('default/kept')?.metadata.resourceVersion, api.get('CifarTrainingJob', 'default', 'kept')?.metadata.resourceVersion, 'and its new resourceVersion');
  now = new Date('2025-01-01T00:01:00Z');
  await t.resolves(reconciler.reconcile('default/kept'), 'the second status write (deadline passed) does not conflict');
  t.equal(api.get('CifarTrainingJob', 'default', 'kept')?.status?.phase, 'Failed');
});

t.test('the same event twice on one object bumps the count of one Event', async (t) => {
  const api = new FakeClusterApi();
  const recorder = new EventRecorder({ api, logger: silentLogger, instance: 'test' });
  const ref = { apiVersion: 'training.cifar-operator.io/v1alpha1', kind: 'CifarTrainingJob', namespace: 'default', name: 'j', uid: 'u1' };
  await recorder.record(ref, { type: 'Warning', reason: 'NameConflict', message: 'pod x exists' });
  await recorder.record(ref, { type: 'Warning', reason: 'NameConflict', message: 'pod x exists' });
  await recorder.record(ref, { type: 'Normal', reason: 'Running', message: 'all running' });
  t.equal(api.events.length, 2);
  t.equal(api.events[0]?.count, 2);
  t.equal(api.events[1]?.count, 1);
  api.events.length = 0;
  await recorder.record(ref, { type: 'Warning', reason: 'NameConflict', message: 'pod x exists' });
  t.equal(api.events.length, 1, 'an expired Event is written anew');
  api.failNext('createEvent', new Error('API down'));
  await recorder.record(ref, { type: 'Normal', reason: 'Other', message: 'x' });
  t.pass('a failed Event write does not throw');
});

t.test('Event names stay valid names of at most 253 characters, whatever the object name', async (t) => {
  const api = new FakeClusterApi();
  const recorder = new EventRecorder({ api, logger: silentLogger, instance: 'test' });
  const longest = `${'a'.repeat(61)}.${'b'.repeat(63)}.${'c'.repeat(63)}.${'d'.repeat(63)}`;
  t.equal(longest.length, 253);
  await recorder.record({ apiVersion: 'v1', kind: 'CifarTrainingJob', namespace: 'default', name: longest }, { type: 'Normal', reason: 'Running', message: 'x' });
  const name = api.events[0]?.name ?? '';
  t.ok(name.length <= 253, `${name.length} characters`);
  t.match(name, /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/, 'a DNS subdomain');
  t.ok(name.startsWith('aaaa'), 'still starts with the object name');
  t.equal(eventName('short', 'abc'), 'short.abc');
  t.equal(eventName(`${'x'.repeat(245)}-.yyy`, '12345'), `${'x'.repeat(245)}.12345`, 'a cut ending in a separator is trimmed');
});

t.test('progress from rank 0 of a running job reaches status.progress, and the job is looked at again', async (t) => {
  const progress = new FixedProgress({ epoch: 3, totalEpochs: 10, validationAccuracy: 0.61, updatedAt: '2025-01-01T00:00:00Z' });
  const { api, reconciler, settle } = await setup(t, { progress });
  api.put('CifarTrainingJob', testJob('j6', { metricsPort: 9555 }));
  for (let i = 0; i < 2; i++) {
    await settle();
    await reconciler.reconcile('default/j6');
  }
  t.equal(progress.targets.length, 0, 'no polling before the job runs');
  setPodPhase(api, 'j6-worker-0', 'Running');
  setPodPhase(api, 'j6-worker-1', 'Running');
  await settle();
  await reconciler.reconcile('default/j6');
  await settle();
  const outcome = await reconciler.reconcile('default/j6');
  t.same(api.get('CifarTrainingJob', 'default', 'j6')?.status?.progress, { epoch: 3, totalEpochs: 10, validationAccuracy: 0.61, updatedAt: '2025-01-01T00:00:00Z' });
  t.match(progress.targets[0], { key: 'default/j6', podIP: '127.0.0.9', port: 9555, attempt: 0 });
  t.equal(outcome.requeueAfterMs, 10_000, 'requeued at the progress interval');
});
