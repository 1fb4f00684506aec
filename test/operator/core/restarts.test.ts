import t from 'tap';
import type { PodStatus } from '../../../operator/api/k8s-types.js';
import { KUBELET_CONFIRM_MARGIN_MS } from '../../../operator/core/old-attempts.js';
import { FakeCluster, at, exited, kinds, running } from '../../helpers/fake-plan-cluster.js';

const unschedulable: PodStatus = {
  phase: 'Pending',
  conditions: [{ type: 'PodScheduled', status: 'False', reason: 'Unschedulable', message: '0/3 nodes are available: 3 Insufficient nvidia.com/gpu.' }],
};
function waiting(reason: string, message: string): PodStatus {
  return { phase: 'Pending', conditions: [{ type: 'PodScheduled', status: 'True' }], containerStatuses: [{ name: 'trainer', state: { waiting: { reason, message } } }] };
}
/** A trainer that ran from `start` to `end` (seconds after T0) and exited with `code`. */
function ranAndExited(code: number, start: number, end: number): PodStatus {
  return { phase: 'Failed', containerStatuses: [{ name: 'trainer', state: { terminated: { exitCode: code, startedAt: at(start).toISOString(), finishedAt: at(end).toISOString() } } }] };
}
function runningSince(start: number): PodStatus {
  return { phase: 'Running', containerStatuses: [{ name: 'trainer', state: { running: { startedAt: at(start).toISOString() } } }] };
}

/** A 2-replica gang that ran, with real 30 s termination grace on deletion. */
function runningGang(): FakeCluster {
  const c = new FakeCluster();
  c.graceSeconds = 30;
  c.settle(at(0));
  c.runAll();
  c.reconcile(at(1));
  return c;
}

t.test('a new attempt does not wait for the old pods to finish terminating, only for old rank 0 to stop', async (t) => {
  const c = runningGang();
  c.setPod(1, exited(137));
  const restart = c.reconcile(at(10));
  t.equal(c.job.status?.attempt, 1);
  t.same(kinds(restart), ['DeletePod cifar-worker-0', 'DeletePod cifar-worker-1'], 'the old gang is deleted gracefully');

  const waiting0 = c.reconcile(at(11));
  t.same(kinds(waiting0), [], 'old rank 0 is still running (it may be writing a checkpoint): nothing is created yet');
  t.equal(waiting0.requeueAfterSeconds, 30 + KUBELET_CONFIRM_MARGIN_MS / 1000 - 1, 'looked at again when its grace period runs out');

  // Old rank 0 stops within a step of SIGTERM; old rank 1's pod is still Terminating.
  const old0 = c.pods.get('cifar-worker-0');
  if (old0 === undefined) throw new Error('old worker-0 is gone too early');
  c.pods.set('cifar-worker-0', { ...old0, status: exited(143) });
  const created = c.reconcile(at(12));
  t.same(kinds(created), ['CreatePod cifar-worker-0-a1', 'CreatePod cifar-worker-1-a1'], 'the new gang is created while old pods are still Terminating');
  t.ok([...c.pods.values()].some((p) => p.metadata.name === 'cifar-worker-1' && p.metadata.deletionTimestamp !== undefined), 'old worker-1 still terminating');
  const env = (name: string) => Object.fromEntries((c.pods.get(name)?.spec.containers[0]?.env ?? []).map((e) => [e.name, e.value]));
  t.equal(env('cifar-worker-1-a1').MASTER_ADDR, 'cifar-worker-0-a1.cifar-workers.ml.svc', 'rendezvous at the new attempt\'s rank 0');
  t.equal(c.pods.get('cifar-worker-1-a1')?.spec.hostname, 'cifar-worker-1-a1', 'hostname carries the attempt too');
});

t.test('an old pod whose node stopped answering is force-deleted after its grace period and no longer waited for', async (t) => {
  const c = runningGang();
  c.setPod(1, exited(75));
  c.reconcile(at(10));
  // Old rank 0 sits on a lost node: it never reports its exit.
  t.same(kinds(c.reconcile(at(20))), [], 'within the grace period: wait');
  const deadline = 10 + 30 + KUBELET_CONFIRM_MARGIN_MS / 1000;
  const plan = c.reconcile(at(deadline));
  t.same(kinds(plan), ['CreatePod cifar-worker-0-a1', 'CreatePod cifar-worker-1-a1', 'DeletePod cifar-worker-0'].sort());
  t.match(plan.actions.find((a) => a.kind === 'DeletePod'), { force: true, reason: /grace period; its node is not reporting/ });
  t.same(c.forced, ['cifar-worker-0'], 'force deletion with grace 0');
  t.notOk(c.forced.includes('cifar-worker-1'), 'an old pod that has exited is not force-deleted');
});

t.test('restarts of a gang that never ran together do not spend backoffLimit', async (t) => {
  const c = new FakeCluster({ runPolicy: { backoffLimit: 0 } });
  c.settle(at(0));
  c.setPod(0, runningSince(1));
  c.setPod(1, unschedulable);
  const waitingPlan = c.reconcile(at(2));
  t.match(c.condition('PodsReady'), { status: 'False', reason: 'Unschedulable', message: 'worker-1 (pod cifar-worker-1): 0/3 nodes are available: 3 Insufficient nvidia.com/gpu.' });
  t.same(waitingPlan.events.map((e) => [e.type, e.reason]), [['Warning', 'Unschedulable']], 'an Event says it once');
  t.same(c.reconcile(at(3)).events, [], 'not again while it stays unschedulable');

  // Rank 0 gives up waiting for its peer.
  c.setPod(0, ranAndExited(75, 1, 121));
  c.reconcile(at(122));
  t.equal(c.phase, 'Restarting', 'restarted, not failed, with backoffLimit 0');
  t.equal(c.job.status?.restarts, 0, 'no restart counted');
  t.equal(c.job.status?.attempt, 1, 'but a new attempt');
  t.match(c.condition('Restarting'), {
    reason: 'GangNotFormed',
    message: /^worker-0 exited with code 75 .*not counted against backoffLimit \(0 of 0 used\) because the gang never ran together: worker-1 never started \(Unschedulable: 0\/3 nodes/,
  });
  c.finishDeletions();
  c.reconcile(at(123));
  t.same([...c.pods.keys()].sort(), ['cifar-worker-0-a1', 'cifar-worker-1-a1']);
  c.setPod(1, unschedulable);
  c.setPod(0, runningSince(124));
  t.match(c.reconcile(at(124)).status.conditions?.find((x) => x.type === 'PodsReady'), { reason: 'Unschedulable' });
  t.equal(c.job.status?.replicaStatuses?.active, 2);
});

t.test('a restart counts once the ranks ran together, by phase or by container times', async (t) => {
  const seen = new FakeCluster();
  seen.settle(at(0));
  seen.runAll();
  seen.reconcile(at(1));
  t.equal(seen.phase, 'Running');
  seen.setPod(1, exited(75));
  seen.reconcile(at(5));
  t.equal(seen.job.status?.restarts, 1, 'the job was seen Running: counted');

  const overlapped = new FakeCluster();
  overlapped.settle(at(0));
  overlapped.setPod(0, runningSince(10));
  overlapped.setPod(1, ranAndExited(75, 10, 50));
  overlapped.reconcile(at(51));
  t.equal(overlapped.job.status?.restarts, 1, 'both trainers ran between 10 s and 50 s: counted even though no reconcile saw them together');

  const apart = new FakeCluster();
  apart.settle(at(0));
  apart.setPod(0, ranAndExited(75, 1, 121));
  apart.setPod(1, runningSince(130));
  apart.reconcile(at(131));
  t.equal(apart.job.status?.restarts, 0, 'rank 0 had given up before rank 1 started: not counted');
  t.match(apart.condition('Restarting')?.message, /worker-0 had exited before the last rank started/);
});

t.test('PodsReady says why pods wait: image pulls, missing configuration, and all running', async (t) => {
  const c = new FakeCluster();
  c.settle(at(0));
  c.setPod(0, runningSince(1));
  c.setPod(1, waiting('ErrImagePull', 'rpc error: failed to pull image "trainer:1": not found'));
  const first = c.reconcile(at(2));
  t.match(c.condition('PodsReady'), { status: 'False', reason: 'ErrImagePull', message: /worker-1 \(pod cifar-worker-1\): rpc error: failed to pull image "trainer:1": not found/ });
  t.same(first.events.map((e) => e.reason), ['ErrImagePull']);
  c.setPod(1, waiting('ImagePullBackOff', 'Back-off pulling image "trainer:1"'));
  const flip = c.reconcile(at(3));
  t.equal(c.condition('PodsReady')?.reason, 'ImagePullBackOff', 'the condition follows the kubelet');
  t.same(flip.events, [], 'but the back-off after a failed pull is the same problem: no second Event');
  c.setPod(1, waiting('CreateContainerConfigError', 'secret "s3-creds" not found'));
  t.same(c.reconcile(at(4)).events.map((e) => [e.type, e.reason, e.message]), [['Warning', 'CreateContainerConfigError', 'worker-1 (pod cifar-worker-1): secret "s3-creds" not found']]);
  c.setPod(1, running);
  c.reconcile(at(5));
  t.match(c.condition('PodsReady'), { status: 'True', reason: 'AllRunning', message: 'all 2 worker pod(s) of attempt 0 are running' });
  c.setPod(0, { phase: 'Succeeded', containerStatuses: [{ name: 'trainer', state: { terminated: { exitCode: 0 } } }] });
  c.reconcile(at(6));
  t.match(c.condition('PodsReady'), { status: 'False', reason: 'JobFinished' });
});

t.test('a pod held by a scheduling gate (a queue such as Kueue) is reported without a Warning', async (t) => {
  const c = new FakeCluster();
  c.settle(at(0));
  const pod = c.pod(1);
  c.pods.set(pod.metadata.name, { ...pod, spec: { ...pod.spec, schedulingGates: [{ name: 'kueue.x-k8s.io/admission' }] }, status: { phase: 'Pending', conditions: [{ type: 'PodScheduled', status: 'False', reason: 'SchedulingGated' }] } });
  const plan = c.reconcile(at(1));
  t.match(c.condition('PodsReady'), { reason: 'SchedulingGated', message: /held by scheduling gates kueue.x-k8s.io\/admission/ });
  t.same(plan.events, []);
});
