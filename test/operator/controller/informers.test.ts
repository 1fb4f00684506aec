import t from 'tap';
import type { Pod } from '../../../operator/api/k8s-types.js';
import { LABEL_JOB_NAME, LABEL_MANAGED_BY } from '../../../operator/core/labels.js';
import { Informers, ownerJobKey } from '../../../operator/controller/informers.js';
import { silentLogger } from '../../../operator/observability/logger.js';
import { ApiStatusError } from '../../../operator/runtime/api-errors.js';
import type { TeardownHost } from '../../helpers/apiserver.js';
import { FakeClusterApi, ManualClock, testJob, waitFor } from '../../helpers/fake-cluster-api.js';

function ownedPod(name: string, jobName: string, jobUid: string, managed = true): Pod {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name,
      namespace: 'default',
      labels: { ...(managed ? { [LABEL_MANAGED_BY]: 'cifar-operator' } : {}), [LABEL_JOB_NAME]: jobName },
      ownerReferences: [{ apiVersion: 'training.cifar-operator.io/v1alpha1', kind: 'CifarTrainingJob', name: jobName, uid: jobUid, controller: true }],
    },
    spec: { restartPolicy: 'Never', containers: [{ name: 'trainer', image: 'x' }] },
  };
}

async function started(t: TeardownHost, api: FakeClusterApi, namespace?: string) {
  const keys: string[] = [];
  const informers = new Informers({ api, logger: silentLogger, enqueue: (k) => keys.push(k), backoffInitialMs: 5, backoffMaxMs: 20, ...(namespace === undefined ? {} : { namespace }) });
  informers.start();
  t.teardown(() => informers.stop());
  if (!(await informers.waitForSync(2000))) throw new Error('informer caches did not sync within 2 s');
  return { informers, keys };
}

t.test('ownerJobKey follows only a CifarTrainingJob controller reference', async (t) => {
  t.equal(ownerJobKey(ownedPod('p', 'j', 'u')), 'default/j');
  const pod = ownedPod('p', 'j', 'u');
  pod.metadata.ownerReferences = [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'rs', uid: 'x', controller: true }];
  t.equal(ownerJobKey(pod), undefined);
});

t.test('jobs enqueue themselves; managed children enqueue their owner; unmanaged pods are not watched', async (t) => {
  const api = new FakeClusterApi();
  const job = api.put('CifarTrainingJob', testJob('j1'));
  const { informers, keys } = await started(t, api);
  t.same(keys, ['default/j1'], 'the initial list delivers the job');
  keys.length = 0;
  api.put('Pod', ownedPod('j1-worker-0', 'j1', job.metadata.uid ?? ''));
  api.put('Pod', ownedPod('stray', 'j1', job.metadata.uid ?? '', false));
  t.ok(await waitFor(() => keys.length >= 1));
  t.same(keys, ['default/j1'], 'a child change enqueues the owner key');
  t.equal(informers.caches.pods.size, 1, 'pods without the managed-by label are not cached');
  t.same(informers.caches.pods.byIndex('byJobLabel', 'default/j1').map((p) => p.metadata.name), ['j1-worker-0'], 'pods are indexed by job label');
  keys.length = 0;
  await api.delete('Pod', 'default', 'j1-worker-0');
  t.ok(await waitFor(() => keys.length >= 1));
  t.same(keys, ['default/j1'], 'a deleted child enqueues the owner');
  t.equal(informers.caches.pods.size, 0);
});

t.test('a watch that ends resumes; 410 Expired relists and reports what changed meanwhile', async (t) => {
  const api = new FakeClusterApi();
  api.put('CifarTrainingJob', testJob('a'));
  const { informers, keys } = await started(t, api);
  api.endWatches();
  await new Promise((r) => setTimeout(r, 20));
  api.put('CifarTrainingJob', testJob('b'));
  t.ok(await waitFor(() => informers.caches.jobs.get('default/b') !== undefined), 'resumed watch sees new objects');
  keys.length = 0;
  // Simulate changes missed while the watch was broken, then the server saying it is too old.
  const lost = api.get('CifarTrainingJob', 'default', 'a');
  api.objects.delete('CifarTrainingJob:default/a');
  api.expireWatches('CifarTrainingJob');
  t.ok(await waitFor(() => informers.caches.jobs.get('default/a') === undefined), 'relist drops the object deleted while the watch was down');
  t.ok(lost !== undefined);
  t.ok(keys.includes('default/a'), 'the vanished job is enqueued so reconcile sees it gone');
});

t.test('a watch that goes silent (a dropped connection) is abandoned after the idle timeout and the kind relisted', async (t) => {
  const api = new FakeClusterApi();
  api.put('CifarTrainingJob', testJob('quiet'));
  const clock = new ManualClock();
  const informers = new Informers({ api, logger: silentLogger, enqueue: () => undefined, clock, watchTimeoutSeconds: 60, watchIdleTimeoutMs: 90_000 });
  informers.start();
  t.teardown(() => informers.stop());
  t.ok(await informers.waitForSync(2000), 'synced');
  api.dropWatches();
  api.put('CifarTrainingJob', testJob('missed'));
  await new Promise((r) => setTimeout(r, 20));
  t.equal(informers.caches.jobs.get('default/missed'), undefined, 'the dropped watch delivers nothing');
  const lists = api.calls.length;
  clock.advance(89_000);
  await new Promise((r) => setTimeout(r, 20));
  t.equal(informers.caches.jobs.get('default/missed'), undefined, 'nothing happens before the idle timeout');
  clock.advance(2_000);
  t.ok(await waitFor(() => informers.caches.jobs.get('default/missed') !== undefined, 5000), 'after the idle timeout the relist finds the object the dead watch missed');
  t.equal(api.calls.length, lists, 'only reads: nothing was written');
});

t.test('list errors are retried with backoff until the cache syncs', async (t) => {
  const api = new FakeClusterApi();
  api.failNext('list', new ApiStatusError(500, 'InternalError', 'etcd unavailable'));
  api.put('CifarTrainingJob', testJob('c'));
  const { informers } = await started(t, api);
  t.ok(informers.caches.jobs.get('default/c'));
});

t.test('--namespace limits the watch to one namespace', async (t) => {
  const api = new FakeClusterApi();
  api.put('CifarTrainingJob', testJob('mine', {}, 'team-a'));
  api.put('CifarTrainingJob', testJob('theirs', {}, 'team-b'));
  const { informers } = await started(t, api, 'team-a');
  t.same(informers.caches.jobs.keys(), ['team-a/mine']);
});
