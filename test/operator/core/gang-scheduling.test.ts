import t from 'tap';
import { isPrerequisite } from '../../../operator/core/reconcile-plan.js';
import { FakeCluster, at, exited } from '../../helpers/fake-plan-cluster.js';

t.test('coscheduling: a PodGroup of the whole gang, created before the pods that carry its label', async (t) => {
  const c = new FakeCluster({ runPolicy: { schedulingPolicy: { gangScheduler: 'coscheduling', scheduleTimeoutSeconds: 120, schedulerName: 'scheduler-plugins-scheduler' } } });
  const first = c.reconcile(at(0));
  const group = first.actions.find((a) => a.kind === 'CreatePodGroup');
  t.match(group, {
    podGroup: {
      apiVersion: 'scheduling.x-k8s.io/v1alpha1',
      kind: 'PodGroup',
      metadata: { name: 'cifar-gang-0', namespace: 'ml', ownerReferences: [{ uid: 'job-uid', controller: true }] },
      spec: { minMember: 2, scheduleTimeoutSeconds: 120 },
    },
  });
  t.ok(group !== undefined && isPrerequisite(group), 'applied before the pods');
  for (const rank of [0, 1]) {
    const pod = c.pod(rank);
    t.equal(pod.metadata.labels?.['scheduling.x-k8s.io/pod-group'], 'cifar-gang-0', `worker-${rank} names the group`);
    t.equal(pod.spec.schedulerName, 'scheduler-plugins-scheduler');
  }

  c.runAll();
  c.reconcile(at(1));
  c.setPod(1, exited(75));
  c.reconcile(at(2));
  c.finishDeletions();
  const next = c.reconcile(at(3));
  t.same(next.actions.filter((a) => a.kind.includes('PodGroup')).map((a) => `${a.kind} ${a.kind === 'CreatePodGroup' ? a.podGroup.metadata.name : 'name' in a ? a.name : ''}`), ['CreatePodGroup cifar-gang-1', 'DeletePodGroup cifar-gang-0'], 'each attempt is a gang of its own');
  t.equal(c.pod(0).metadata.labels?.['scheduling.x-k8s.io/pod-group'], 'cifar-gang-1');
  t.same([...c.podGroups.keys()], ['cifar-gang-1']);

  c.runAll();
  c.reconcile(at(4));
  c.setPod(0, { phase: 'Succeeded', containerStatuses: [{ name: 'trainer', state: { terminated: { exitCode: 0 } } }] });
  const done = c.reconcile(at(5));
  t.ok(done.actions.some((a) => a.kind === 'DeletePodGroup' && a.name === 'cifar-gang-1'), 'a finished job leaves the queue');
  t.same([...c.podGroups.keys()], []);
  t.same(c.reconcile(at(6)).actions.filter((a) => a.kind.includes('PodGroup')), [], 'and only once');
});

t.test('Volcano: PodGroup with queue and priority class; pods name it in an annotation and go to the volcano scheduler', async (t) => {
  const c = new FakeCluster({ runPolicy: { schedulingPolicy: { gangScheduler: 'volcano', queue: 'research', priorityClass: 'training-high' } } });
  const plan = c.reconcile(at(0));
  t.match(plan.actions.find((a) => a.kind === 'CreatePodGroup'), {
    podGroup: { apiVersion: 'scheduling.volcano.sh/v1beta1', metadata: { name: 'cifar-gang-0' }, spec: { minMember: 2, queue: 'research', priorityClassName: 'training-high' } },
  });
  const pod = c.pod(0);
  t.equal(pod.metadata.annotations?.['scheduling.k8s.io/group-name'], 'cifar-gang-0');
  t.equal(pod.spec.schedulerName, 'volcano');
  t.equal(pod.spec.priorityClassName, 'training-high');
});

t.test("Kueue: no object, the plain-pod group's labels and annotations on every pod", async (t) => {
  const c = new FakeCluster({ runPolicy: { schedulingPolicy: { gangScheduler: 'kueue', queue: 'team-a' } } });
  const plan = c.reconcile(at(0));
  t.notOk(plan.actions.some((a) => a.kind === 'CreatePodGroup'), 'Kueue makes its Workload itself');
  for (const rank of [0, 1]) {
    const pod = c.pod(rank);
    t.match(pod.metadata.labels, { 'kueue.x-k8s.io/queue-name': 'team-a', 'kueue.x-k8s.io/pod-group-name': 'cifar-gang-0' });
    t.match(pod.metadata.annotations, { 'kueue.x-k8s.io/pod-group-total-count': '2', 'kueue.x-k8s.io/retriable-in-group': 'false' });
    t.equal(pod.spec.schedulerName, undefined, 'the default scheduler, behind Kueue\'s gate');
  }
  const noQueue = new FakeCluster({ runPolicy: { schedulingPolicy: { gangScheduler: 'kueue' } } });
  noQueue.reconcile(at(0));
  t.equal(noQueue.phase, 'Failed');
  t.match(noQueue.condition('Failed'), { reason: 'InvalidSpec', message: /spec\.runPolicy\.schedulingPolicy\.queue: is required with gangScheduler kueue/ });
});
