import t from 'tap';
import { jobSelector, workerLabels, intLabel, LABEL_ATTEMPT, LABEL_JOB_NAME, LABEL_REPLICA_RANK } from '../../../operator/core/labels.js';
import { MAX_DNS_LABEL, dnsLabel, labelValue, masterAddress, peerKeySecretName, podGroupName, workerPodName, workersServiceName } from '../../../operator/core/names.js';

const DNS_1035 = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;

t.test('short job names give the plain, documented child names', async (t) => {
  t.equal(workerPodName('resnext', 0), 'resnext-worker-0');
  t.equal(workerPodName('resnext', 3), 'resnext-worker-3');
  t.equal(workersServiceName('resnext'), 'resnext-workers');
  t.equal(peerKeySecretName('resnext'), 'resnext-peer-key');
  t.equal(masterAddress('resnext', 'ml'), 'resnext-worker-0.resnext-workers.ml.svc');
});

t.test('pods of later gang attempts carry the attempt in their name and hostname; MASTER_ADDR follows rank 0 of the attempt', async (t) => {
  t.equal(workerPodName('resnext', 1, 0), 'resnext-worker-1', 'the first attempt keeps the plain name');
  t.equal(workerPodName('resnext', 1, 2), 'resnext-worker-1-a2');
  t.equal(masterAddress('resnext', 'ml', 3), 'resnext-worker-0-a3.resnext-workers.ml.svc');
  t.equal(podGroupName('resnext', 3), 'resnext-gang-3');
  const long = `training-${'z'.repeat(70)}`;
  t.match(workerPodName(long, 12, 41), /-worker-12-a41$/, 'the attempt suffix survives truncation');
  t.ok(workerPodName(long, 12, 41).length <= MAX_DNS_LABEL);
  t.match(workerPodName(long, 12, 41), DNS_1035);
  t.not(workerPodName('j', 0, 1), workerPodName('j', 0, 2), 'attempts never share a pod name');
});

t.test('names are deterministic', async (t) => {
  const long = `a${'x'.repeat(80)}`;
  t.equal(workerPodName(long, 1), workerPodName(long, 1));
  t.equal(workersServiceName('my.job'), workersServiceName('my.job'));
});

t.test('long or dotted job names are cut to a DNS label and keep a hash of the full name', async (t) => {
  const long = `training-${'z'.repeat(70)}`;
  for (const name of [workerPodName(long, 12), workersServiceName(long), peerKeySecretName(long), workerPodName('my.job', 0), workerPodName('9lives', 0)]) {
    t.ok(name.length <= MAX_DNS_LABEL, `${name} fits in ${MAX_DNS_LABEL}`);
    t.match(name, DNS_1035, `${name} is a DNS-1035 label`);
  }
  t.match(workerPodName(long, 12), /-worker-12$/, 'the rank suffix survives truncation');
  t.not(workerPodName(`${long}a`, 0), workerPodName(`${long}b`, 0), 'jobs differing past the cut get different names');
  t.not(workersServiceName('a.b'), workersServiceName('a-b'), 'dotted and dashed names do not collide');
  t.equal(dnsLabel('x'.repeat(63 - '-workers'.length), 'workers').length, 63, 'a name that just fits is kept as is');
  t.equal(dnsLabel('x'.repeat(63 - '-workers'.length), 'workers'), `${'x'.repeat(55)}-workers`);
});

t.test('labels identify job, rank and attempt; values fit the label rules', async (t) => {
  t.same(workerLabels('j', 2, 5), {
    'app.kubernetes.io/name': 'cifar-trainer',
    'app.kubernetes.io/managed-by': 'cifar-operator',
    'app.kubernetes.io/component': 'worker',
    [LABEL_JOB_NAME]: 'j',
    [LABEL_REPLICA_RANK]: '2',
    [LABEL_ATTEMPT]: '5',
  });
  const long = 'j'.repeat(200);
  const value = jobSelector(long)[LABEL_JOB_NAME];
  t.ok(value.length <= 63);
  t.match(value, /^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/);
  t.equal(labelValue('ok.name_1'), 'ok.name_1');
  t.equal(intLabel({ a: '7' }, 'a'), 7);
  t.equal(intLabel({ a: '07' }, 'a'), undefined, 'malformed numbers are not trusted');
  t.equal(intLabel({ a: '-1' }, 'a'), undefined);
  t.equal(intLabel(undefined, 'a'), undefined);
});
