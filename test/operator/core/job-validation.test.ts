import t from 'tap';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { withDefaults } from '../../../operator/api/defaults.js';
import type { CifarTrainingJobSpec } from '../../../operator/api/types.js';
import { POD_SCRATCH_MOUNT_PATH, localPath, validateJobSpec } from '../../../operator/core/job-validation.js';
import { REPO_ROOT, loadManifests } from '../../helpers/crd.js';
import { FakeCluster, at } from '../../helpers/fake-plan-cluster.js';

const base: CifarTrainingJobSpec = {
  replicas: 2,
  gpusPerReplica: 0,
  backend: 'wasm',
  image: 'trainer:1',
  model: { architecture: 'lenet' },
  data: { train: 's3://b/train.rec' },
  checkpoint: { uri: 's3://b/ckpt' },
};
const check = (spec: Partial<CifarTrainingJobSpec>, defaults = {}) => validateJobSpec(withDefaults({ ...base, ...spec }), defaults).map((i) => `${i.field}: ${i.message}`);

t.test('remote locations need no volume; local ones must lie under a declared mount', async (t) => {
  t.same(check({}), []);
  t.equal(localPath('file:///data/train.rec'), '/data/train.rec');
  t.equal(localPath('s3://b/x'), undefined);
  const mounted = { volumes: [{ name: 'runs', persistentVolumeClaim: { claimName: 'runs' } }], volumeMounts: [{ name: 'runs', mountPath: '/runs' }] };
  t.same(check({ ...mounted, checkpoint: { uri: '/runs/ckpt' }, output: { uri: 'file:///runs/out' } }), [], 'under the mount');
  t.same(check({ ...mounted, data: { train: '/runs' } }), [], 'the mount point itself');
  t.match(check({ ...mounted, data: { train: '/runsx/train.rec' } }), [/^spec\.data\.train: \/runsx\/train\.rec is not under any of spec\.volumeMounts \(\/runs\)/], 'a prefix of the name is not a parent directory');
  t.match(check({ data: { train: '/data/train.rec' } }), [/^spec\.data\.train: .*\(none declared\): a trainer pod sees only its image and its volumes/]);
  t.match(check({ ...mounted, checkpoint: { uri: '/runs/../etc/ckpt' } }), [/^spec\.checkpoint\.uri: \/runs\/\.\.\/etc\/ckpt: the path must not contain empty, \. or \.\. segments/]);
  t.match(check({ ...mounted, pretrained: { uri: 'file:///models/base' } }), [/^spec\.pretrained\.uri: file:\/\/\/models\/base is not under/]);
  t.match(check({ volumes: [{ name: 'data', nfs: { server: 'nfs', path: '/x', readOnly: true } }], volumeMounts: [{ name: 'data', mountPath: '/data' }], output: { uri: '/data/out' } }), [
    /^spec\.output\.uri: \/data\/out is under \/data, which is mounted read-only \(volume data\); the trainer writes there/,
  ]);
});

t.test('volumes and mounts are checked against each other and against what the operator mounts itself', async (t) => {
  t.match(check({ volumes: [{ name: 'scratch', emptyDir: {} }] }), [/^spec\.volumes\[0\]\.name: scratch is used by the operator itself/]);
  t.match(check({ volumes: [{ name: 'a' }] }), [/^spec\.volumes\[0\]: needs exactly one of persistentVolumeClaim, nfs, hostPath, emptyDir, configMap, secret; found none/]);
  t.match(check({ volumes: [{ name: 'a', emptyDir: {}, hostPath: { path: '/x' } }] }), [/found hostPath, emptyDir/]);
  t.match(check({ volumes: [{ name: 'a', emptyDir: {} }], volumeMounts: [{ name: 'b', mountPath: '/b' }] }), [/^spec\.volumeMounts\[0\]\.name: b is not one of spec\.volumes \(a\)/]);
  const underScratch = `${POD_SCRATCH_MOUNT_PATH}/x`;
  t.match(check({ volumes: [{ name: 'a', emptyDir: {} }], volumeMounts: [{ name: 'a', mountPath: underScratch }] }), [
    new RegExp(`^spec\\.volumeMounts\\[0\\]\\.mountPath: ${underScratch} overlaps ${POD_SCRATCH_MOUNT_PATH}`),
  ]);
  t.match(check({ volumes: [{ name: 'a', emptyDir: {} }], volumeMounts: [{ name: 'a', mountPath: '/var/run' }] }), [/overlaps \/var\/run\/cifar-operator/]);
  t.match(check({ volumes: [{ name: 'a', emptyDir: {} }], volumeMounts: [{ name: 'a', mountPath: 'data' }] }), [/^spec\.volumeMounts\[0\]\.mountPath: data must be an absolute path/]);
});

t.test('image, processes per replica and the Kueue queue', async (t) => {
  const { image: _image, ...noImage } = base;
  t.match(validateJobSpec(withDefaults(noImage), {}).map((i) => i.field), ['spec.image']);
  t.same(validateJobSpec(withDefaults(noImage), { trainerImage: 'registry.example/trainer:1' }), [], 'the operator default fills it');
  t.match(check({ gpusPerReplica: 4, backend: 'auto', processesPerReplica: 3 }), [/^spec\.processesPerReplica: 3 does not divide gpusPerReplica 4/]);
  t.same(check({ gpusPerReplica: 4, backend: 'auto', processesPerReplica: 2 }), []);
});

t.test('an invalid spec fails the job before anything is created, naming the field', async (t) => {
  const c = new FakeCluster({ data: { train: '/data/train.rec' } });
  const plan = c.reconcile(at(0));
  t.equal(c.phase, 'Failed');
  t.match(c.condition('Failed'), { reason: 'InvalidSpec', message: /^the spec cannot run: spec\.data\.train: \/data\/train\.rec is not under any of spec\.volumeMounts/ });
  t.same(plan.actions.filter((a) => a.kind === 'CreatePod'), [], 'no pod');
  t.match(plan.events, [{ type: 'Warning', reason: 'InvalidSpec' }]);
});

t.test('every example passes the operator\'s own checks with the chart\'s default trainer image', async (t) => {
  const dir = join(REPO_ROOT, 'examples');
  const jobs = readdirSync(dir)
    .filter((f) => f.endsWith('.yaml') && f !== 'invalid.yaml')
    .flatMap((f) => loadManifests(join(dir, f)).map((doc) => ({ file: f, doc: doc as { kind?: string; spec?: CifarTrainingJobSpec } })))
    .filter(({ doc }) => doc.kind === 'CifarTrainingJob');
  t.ok(jobs.length >= 4, `${jobs.length} example jobs`);
  for (const { file, doc } of jobs) t.same(validateJobSpec(withDefaults(doc.spec as CifarTrainingJobSpec), { trainerImage: 'registry.example.com/cifar-trainer:1' }), [], file);
});
