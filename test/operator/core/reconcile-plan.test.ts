import t from 'tap';
import type { Pod } from '../../../operator/api/k8s-types.js';
import { LABEL_ATTEMPT } from '../../../operator/core/labels.js';
import { planReconcile } from '../../../operator/core/reconcile-plan.js';
import { FakeCluster, PEER_KEY, assertIdempotent, at, exited, kinds, running, succeeded } from '../../helpers/fake-plan-cluster.js';

t.test('pending -> created -> running -> succeeded', async (t) => {
  const c = new FakeCluster();
  const first = c.reconcile(at(0));
  t.same(kinds(first), ['CreatePod cifar-worker-0', 'CreatePod cifar-worker-1', 'CreateSecret', 'CreateService'].sort());
  t.equal(first.status.phase, 'Pending', 'phase is computed before the pods exist');
  t.match(c.condition('Created'), { status: 'True', reason: 'JobCreated' });
  t.equal(first.status.startTime, at(0).toISOString());
  t.equal(first.status.observedGeneration, 1);
  t.equal(first.status.conditions?.[0].observedGeneration, 1);

  c.reconcile(at(1));
  t.equal(c.phase, 'Created', 'every pod exists, none has started');
  assertIdempotent(t, c, at(2));

  c.setPod(0, running);
  c.reconcile(at(3));
  t.equal(c.phase, 'Created', 'one rank running is not the gang running');
  c.setPod(1, running);
  const up = c.reconcile(at(4));
  t.equal(c.phase, 'Running');
  t.same(up.events.map((e) => e.reason), ['Running']);
  t.match(c.condition('Running'), { status: 'True', reason: 'AllReplicasRunning' });
  t.same(c.job.status?.replicaStatuses, { active: 2, ready: 2, succeeded: 0, failed: 0 });
  assertIdempotent(t, c, at(5));

  const progress = { epoch: 2, totalEpochs: 3, validationAccuracy: 0.71 };
  t.same(planReconcile(c.job, { pods: [...c.pods.values()], service: c.service, secret: c.secret }, at(6), { peerKey: PEER_KEY, progress }).status.progress, progress, 'progress from rank 0 lands in status');

  c.setPod(1, succeeded);
  c.reconcile(at(7));
  t.equal(c.phase, 'Running', 'a worker finishing first does not end the job');
  c.setPod(0, succeeded);
  const done = c.reconcile(at(8));
  t.equal(c.phase, 'Succeeded', 'rank 0 succeeding is the job succeeding');
  t.equal(c.job.status?.completionTime, at(8).toISOString());
  t.match(c.condition('Succeeded'), { status: 'True', reason: 'JobSucceeded' });
  t.match(c.condition('Running'), { status: 'False', reason: 'JobSucceeded' });
  t.same(done.events.map((e) => [e.type, e.reason]), [['Normal', 'Succeeded']]);
  t.same(kinds(done), ['DeleteSecret cifar-peer-key', 'DeleteService cifar-workers'], 'finished pods stay (cleanPodPolicy Running)');
  assertIdempotent(t, c, at(9));

  c.setPod(0, running);
  t.equal(c.plan(at(10)).status.phase, 'Succeeded', 'Succeeded is final: never Running again');
});

t.test('retryable failure -> restarting -> running -> succeeded', async (t) => {
  const c = new FakeCluster();
  c.settle(at(0));
  c.runAll();
  c.reconcile(at(1));
  c.setPod(1, exited(75, 'PeerLostError: rank 0 silent for 30s'));
  const restart = c.reconcile(at(10));
  t.equal(c.phase, 'Restarting');
  t.equal(c.job.status?.restarts, 1);
  t.same(kinds(restart), ['DeletePod cifar-worker-0', 'DeletePod cifar-worker-1'], 'the whole gang goes');
  t.match(c.condition('Restarting'), {
    status: 'True',
    reason: 'ReplicaFailed',
    message: 'worker-1 exited with code 75 (peer lost or rendezvous timed out): PeerLostError: rank 0 silent for 30s; restarting the gang from the last checkpoint (restart 1 of 3)',
  });
  t.match(c.job.status?.lastFailure, { rank: 1, exitCode: 75, reason: 'PeerLost' });
  t.same(restart.events.map((e) => [e.type, e.reason]), [['Warning', 'Restarting']]);
  t.match(c.condition('Running'), { status: 'False', reason: 'JobRestarting' });

  const waiting = c.reconcile(at(11));
  t.same(waiting.actions, [], 'no new pod while the old ones are still terminating');
  t.equal(c.phase, 'Restarting');

  c.finishDeletions();
  const recreate = c.reconcile(at(12));
  t.same(kinds(recreate), ['CreatePod cifar-worker-0-a1', 'CreatePod cifar-worker-1-a1'], 'the new attempt has pods of its own names');
  for (const a of recreate.actions) if (a.kind === 'CreatePod') t.equal(a.pod.metadata.labels?.[LABEL_ATTEMPT], '1', 'new pods carry the new attempt');
  t.equal(c.phase, 'Restarting', 'still restarting until the new gang runs');
  assertIdempotent(t, c, at(13));

  c.runAll();
  c.reconcile(at(14));
  t.equal(c.phase, 'Running');
  t.match(c.condition('Restarting'), { status: 'False', reason: 'GangRecovered' });
  t.equal(c.job.status?.restarts, 1);

  c.setPod(0, succeeded);
  c.reconcile(at(20));
  t.equal(c.phase, 'Succeeded');
});

t.test('backoff exhaustion fails the job and stops the pods still running', async (t) => {
  const c = new FakeCluster({ runPolicy: { backoffLimit: 1 } });
  c.settle(at(0));
  c.runAll();
  c.reconcile(at(1));
  c.setPod(0, exited(143));
  c.settle(at(2));
  t.equal(c.job.status?.restarts, 1);
  c.runAll();
  c.reconcile(at(3));
  c.setPod(1, exited(75));
  const fail = c.reconcile(at(4));
  t.equal(c.phase, 'Failed');
  t.equal(c.job.status?.restarts, 1, 'no restart beyond the limit');
  t.match(c.condition('Failed'), { status: 'True', reason: 'BackoffLimitExceeded', message: /^worker-1 exited with code 75 .*; backoffLimit 1 reached after 1 restart$/ });
  t.same(kinds(fail), ['DeletePod cifar-worker-0-a1', 'DeleteSecret cifar-peer-key', 'DeleteService cifar-workers'], 'the running rank is stopped, the failed one kept');
  t.equal(c.job.status?.completionTime, at(4).toISOString());
  c.finishDeletions();
  assertIdempotent(t, c, at(5));
});

t.test('backoffLimit 0 fails on the first retryable failure', async (t) => {
  const c = new FakeCluster({ runPolicy: { backoffLimit: 0 } });
  c.settle(at(0));
  c.runAll();
  c.reconcile(at(1));
  c.setPod(1, { phase: 'Failed', reason: 'Evicted', message: 'The node was low on resource: memory.' });
  c.reconcile(at(1));
  t.equal(c.phase, 'Failed');
  t.match(c.condition('Failed')?.message, /worker-1 was stopped by the cluster \(Evicted\)/);
});

t.test('a permanent failure fails the job at once with the trainer message', async (t) => {
  const c = new FakeCluster();
  c.settle(at(0));
  c.runAll();
  c.reconcile(at(1));
  c.setPod(0, exited(75));
  c.setPod(1, exited(1, 'DataFormatError: s3://b/train.rec: at byte offset 4096: bad record magic'));
  const plan = c.reconcile(at(5));
  t.equal(c.phase, 'Failed', 'the permanent failure wins over the peer that exited 75 because of it');
  t.equal(c.job.status?.restarts, 0);
  t.match(c.condition('Failed'), { reason: 'TrainerFailed', message: 'worker-1 exited with code 1 (training failed): DataFormatError: s3://b/train.rec: at byte offset 4096: bad record magic' });
  t.match(c.job.status?.lastFailure, { rank: 1, exitCode: 1, reason: 'TrainerFailed' });
  t.same(plan.events.map((e) => [e.type, e.reason]), [['Warning', 'TrainerFailed']]);
  t.match(c.condition('Running'), { status: 'False', reason: 'JobFailed' });
});

t.test('activeDeadlineSeconds: requeue until the deadline, then DeadlineExceeded and pods stopped whatever the policy', async (t) => {
  const c = new FakeCluster({ runPolicy: { activeDeadlineSeconds: 60, cleanPodPolicy: 'None' } });
  t.equal(c.reconcile(at(0)).requeueAfterSeconds, 60);
  c.finishDeletions();
  c.runAll();
  t.equal(c.reconcile(at(45)).requeueAfterSeconds, 15);
  const plan = c.reconcile(at(60));
  t.equal(c.phase, 'Failed');
  t.match(c.condition('Failed'), { reason: 'DeadlineExceeded', message: /activeDeadlineSeconds \(60s\)/ });
  t.same(kinds(plan), ['DeletePod cifar-worker-0', 'DeletePod cifar-worker-1', 'DeleteSecret cifar-peer-key'], 'running pods stopped; the Service kept (None)');
  c.finishDeletions();
  assertIdempotent(t, c, at(61));
});

t.test('suspend deletes the pods; resume recreates them and restarts the deadline clock', async (t) => {
  const c = new FakeCluster({ runPolicy: { activeDeadlineSeconds: 600 } });
  c.settle(at(0));
  c.runAll();
  c.reconcile(at(1));
  c.job = { ...c.job, metadata: { ...c.job.metadata, generation: 2 }, spec: { ...c.job.spec, runPolicy: { activeDeadlineSeconds: 600, suspend: true } } };
  const suspend = c.reconcile(at(100));
  t.equal(c.phase, 'Suspended');
  t.same(kinds(suspend), ['DeletePod cifar-worker-0', 'DeletePod cifar-worker-1']);
  t.match(c.condition('Suspended'), { status: 'True', reason: 'JobSuspended' });
  t.match(c.condition('Running'), { status: 'False', reason: 'JobSuspended' });
  t.equal(c.job.status?.startTime, undefined, 'the deadline clock stops');
  t.same(suspend.events.map((e) => e.reason), ['Suspended']);
  c.finishDeletions();
  assertIdempotent(t, c, at(2000));
  t.equal(c.plan(at(2000)).status.phase, 'Suspended', 'no deadline while suspended');

  c.job = { ...c.job, metadata: { ...c.job.metadata, generation: 3 }, spec: { ...c.job.spec, runPolicy: { activeDeadlineSeconds: 600, suspend: false } } };
  const resume = c.reconcile(at(3000));
  t.same(kinds(resume), ['CreatePod cifar-worker-0', 'CreatePod cifar-worker-1']);
  t.same(resume.events.map((e) => e.reason), ['Resumed']);
  t.match(c.condition('Suspended'), { status: 'False', reason: 'JobResumed', observedGeneration: 3 });
  t.equal(c.job.status?.startTime, at(3000).toISOString());
  t.equal(c.job.status?.restarts, 0, 'a resume is not a restart');
  t.equal(resume.requeueAfterSeconds, 600);
});

t.test('cleanPodPolicy decides which pods go when the job succeeds', async (t) => {
  const expected: Record<string, string[]> = {
    None: [],
    Running: ['DeletePod cifar-worker-1'],
    All: ['DeletePod cifar-worker-0', 'DeletePod cifar-worker-1'],
  };
  for (const policy of ['None', 'Running', 'All'] as const) {
    const c = new FakeCluster({ runPolicy: { cleanPodPolicy: policy } });
    c.settle(at(0));
    c.runAll();
    c.setPod(0, succeeded);
    const plan = c.reconcile(at(1));
    t.equal(c.phase, 'Succeeded', policy);
    t.same(kinds(plan).filter((k) => k.startsWith('DeletePod')), expected[policy], `cleanPodPolicy ${policy}`);
    t.equal(kinds(plan).includes('DeleteService cifar-workers'), policy !== 'None', `${policy}: Service ${policy === 'None' ? 'kept' : 'deleted'}`);
    c.finishDeletions();
    assertIdempotent(t, c, at(2));
    t.equal(c.job.status?.replicaStatuses?.succeeded, 1, `${policy}: the success is still counted after clean-up`);
  }
});

t.test('ttlSecondsAfterFinished deletes the job after the TTL, and only then', async (t) => {
  const c = new FakeCluster({ runPolicy: { ttlSecondsAfterFinished: 100 } });
  c.settle(at(0));
  c.runAll();
  c.setPod(0, succeeded);
  t.equal(c.reconcile(at(10)).requeueAfterSeconds, 100);
  c.finishDeletions();
  const mid = c.reconcile(at(60));
  t.same(mid.actions, []);
  t.equal(mid.requeueAfterSeconds, 50);
  const expired = c.reconcile(at(110));
  t.same(expired.actions, [{ kind: 'DeleteJob', name: 'cifar', reason: 'ttlSecondsAfterFinished (100s) has passed' }]);
  t.ok(c.jobDeleted);
  const zero = new FakeCluster({ runPolicy: { ttlSecondsAfterFinished: 0 } });
  zero.settle(at(0));
  zero.runAll();
  zero.setPod(0, exited(2));
  t.same(kinds(zero.reconcile(at(5))), ['DeleteJob cifar'], 'TTL 0 deletes at once');
});

t.test('a pod that vanishes from a running gang counts as a retryable failure', async (t) => {
  const c = new FakeCluster();
  c.settle(at(0));
  c.runAll();
  c.reconcile(at(1));
  c.pods.delete('cifar-worker-1');
  const plan = c.reconcile(at(2));
  t.equal(c.phase, 'Restarting');
  t.equal(c.job.status?.restarts, 1);
  t.match(c.condition('Restarting'), { reason: 'ReplicaLost', message: /^worker-1 was deleted or lost with its node; restarting the gang/ });
  t.same(kinds(plan), ['DeletePod cifar-worker-0']);
});

t.test('a pod evicted before the gang ran is simply recreated', async (t) => {
  const c = new FakeCluster();
  c.settle(at(0));
  c.pods.delete('cifar-worker-1');
  const plan = c.reconcile(at(1));
  t.same(kinds(plan), ['CreatePod cifar-worker-1']);
  t.equal(c.job.status?.restarts, 0);
});

t.test('editing the spec of a running job recreates the gang without spending the backoff budget', async (t) => {
  const c = new FakeCluster();
  c.settle(at(0));
  c.runAll();
  c.reconcile(at(1));
  c.job = { ...c.job, metadata: { ...c.job.metadata, generation: 2 }, spec: { ...c.job.spec, hyperparameters: { epochs: 5 } } };
  const plan = c.reconcile(at(2));
  t.same(kinds(plan), ['DeletePod cifar-worker-0', 'DeletePod cifar-worker-1']);
  t.equal(c.phase, 'Restarting');
  t.match(c.condition('Restarting'), { reason: 'SpecChanged' });
  t.equal(c.job.status?.restarts, 0);
  c.settle(at(3));
  const created = [...c.pods.values()];
  t.equal(created.length, 2);
  t.ok(created.every((p) => p.spec.containers[0].args?.join(' ').includes('--epochs 5')), 'new pods use the new spec');

  c.job = { ...c.job, spec: { ...c.job.spec, runPolicy: { backoffLimit: 7 } } };
  c.runAll();
  t.same(c.plan(at(4)).actions, [], 'a runPolicy edit does not restart anything');
});

t.test('leftovers are cleaned and strangers are not touched', async (t) => {
  const c = new FakeCluster();
  c.settle(at(0));
  const old = c.pods.get('cifar-worker-0') as Pod;
  c.job = { ...c.job, status: { ...c.job.status, restarts: 2, attempt: 2, phase: 'Restarting' } };
  t.same(kinds(c.plan(at(1))), ['DeletePod cifar-worker-0', 'DeletePod cifar-worker-1'], 'pods of an older attempt are deleted');
  const del = c.plan(at(1)).actions.find((a) => a.kind === 'DeletePod');
  t.match(del, { uid: old.metadata.uid }, 'deletes carry the uid precondition');

  const stranger = new FakeCluster();
  stranger.pods.set('cifar-worker-0', { ...old, metadata: { ...old.metadata, ownerReferences: [{ apiVersion: 'v1', kind: 'CifarTrainingJob', name: 'cifar', uid: 'older-job', controller: true }] } });
  const plan = stranger.plan(at(0));
  t.same(kinds(plan).filter((k) => k.includes('Pod')), ['CreatePod cifar-worker-1'], 'the name held by another job is neither deleted nor reused');
  t.match(plan.events, [{ type: 'Warning', reason: 'NameConflict' }]);
});

t.test('a job being deleted gets no actions', async (t) => {
  const c = new FakeCluster();
  c.settle(at(0));
  c.job = { ...c.job, metadata: { ...c.job.metadata, deletionTimestamp: at(5).toISOString() } };
  c.setPod(0, exited(75));
  const plan = c.plan(at(6));
  t.same(plan.actions, []);
  t.same(plan.status, c.job.status);
});

t.test("conditions' lastTransitionTime stays put while nothing changes", async (t) => {
  const c = new FakeCluster();
  c.settle(at(0));
  c.runAll();
  c.reconcile(at(10));
  const before = c.job.status?.conditions;
  for (let s = 20; s < 200; s += 30) c.reconcile(at(s));
  t.same(c.job.status?.conditions, before, 'identical conditions after many reconciles');
  t.equal(c.condition('Created')?.lastTransitionTime, at(0).toISOString());
  t.equal(c.condition('Running')?.lastTransitionTime, at(10).toISOString());
  c.setPod(1, exited(75));
  c.reconcile(at(300));
  t.equal(c.condition('Running')?.lastTransitionTime, at(300).toISOString(), 'moves when the status flips');
  t.equal(c.condition('Created')?.lastTransitionTime, at(0).toISOString());
});
