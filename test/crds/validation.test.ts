import t from 'tap';
import { join } from 'node:path';
import { readdirSync, readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { validateCrd } from '../../hack/local-cluster/apiserver/crd.js';
import { withDefaults } from '../../operator/api/defaults.js';
import type { CifarTrainingJobSpec } from '../../operator/api/types.js';
import { POD_SCRATCH_MOUNT_PATH } from '../../operator/core/job-validation.js';
import { trainerArgs } from '../../operator/core/trainer-args.js';
import { CRD_PATH, REPO_ROOT, admitJob, loadManifests, rootSchema, schemaFields, subSchema, type SchemaNode } from '../helpers/crd.js';
import { flagNames, flagValue } from '../helpers/flag-args.js';

const root = rootSchema();
const examplesDir = join(REPO_ROOT, 'examples');

type Json = Record<string, unknown>;

function job(spec: Json): Json {
  return { apiVersion: 'training.cifar-operator.io/v1alpha1', kind: 'CifarTrainingJob', metadata: { name: 'j' }, spec };
}

const base: Json = {
  image: 'trainer:1',
  model: { architecture: 'resnet', depth: 20 },
  data: { train: 's3://bucket/train.rec' },
};

function errorsFor(spec: Json): string[] {
  return admitJob(job(spec), root).errors;
}

t.test('the CRD passes the API server\'s acceptance checks, and every rule evaluates on a defaulted job', async (t) => {
  // apiextensions-apiserver pkg/apis/apiextensions/validation/validation.go: structural rules, defaults
  // (as written) against their node's schema and rules, and every rule compiling against the schema's types.
  t.same(validateCrd(parse(readFileSync(CRD_PATH, 'utf8')) as never), [], 'a real API server would accept this CRD');
  const spec = subSchema(root, 'spec');
  const full = admitJob(
    job({
      ...base,
      replicas: 2,
      pretrained: { uri: 's3://b/m/' },
      hyperparameters: { schedule: { stepEpochs: [3] } },
      checkpoint: { uri: 's3://b/ckpt/' },
      s3: { endpoint: 'http://minio:9000', credentialsSecretRef: { name: 'c' } },
    }),
    root,
  );
  t.same(full.errors, [], 'a job using every block is admitted');
  let rules = 0;
  const visit = (node: SchemaNode): void => {
    rules += node['x-kubernetes-validations']?.length ?? 0;
    for (const child of Object.values(node.properties ?? {})) visit(child);
  };
  visit(spec);
  t.ok(rules >= 14, `${rules} rules were evaluated`);
});

t.test('every example is admitted except invalid.yaml, which is rejected naming the field', async (t) => {
  const files = readdirSync(examplesDir).filter((f) => f.endsWith('.yaml'));
  t.ok(files.includes('resnext-scratch.yaml') && files.includes('resnext-finetune.yaml') && files.includes('local-cpu-lenet.yaml'));
  for (const file of files) {
    const text = loadManifests(join(examplesDir, file));
    for (const doc of text.filter((d) => (d as Json).kind === 'CifarTrainingJob')) {
      const { errors } = admitJob(doc, root);
      if (file === 'invalid.yaml') t.same(errors, ['spec.model: Invalid value: "object": depth must be 6n+2 (8, 20, 32, 44, 56, 110) for resnet'], file);
      else t.same(errors, [], file);
    }
  }
  const [local] = loadManifests(join(examplesDir, 'local-cpu-lenet.yaml'));
  t.match(local, { spec: { s3: { endpoint: 'http://local-s3.default.svc:4568' } } }, 'the local example names the local S3 Service, nothing to substitute');
});

t.test('examples/resnet20-scratch.yaml trains with the README\'s ResNet-20 command', async (t) => {
  const readme = readFileSync(join(REPO_ROOT, 'README.md'), 'utf8');
  const command = /^npm run cli -- train --model resnet --depth 20 (?:.*\\\n)*.*$/m.exec(readme)?.[0];
  if (command === undefined) throw new Error('README has no `npm run cli -- train --model resnet --depth 20` command');
  const documented = command.replace(/\\\n/g, ' ').split(/\s+/);
  const [job] = loadManifests(join(examplesDir, 'resnet20-scratch.yaml')) as Array<{ spec: CifarTrainingJobSpec }>;
  const fromExample = trainerArgs(withDefaults(job.spec));
  // Where the data, checkpoints and output live, and how many threads, differ between a shell and a pod.
  const placeFlags = new Set(['--data-train', '--data-val', '--checkpoint', '--out', '--backend', '--threads']);
  const recipe = flagNames(documented).filter((flag) => !placeFlags.has(flag));
  t.ok(recipe.length >= 10, `${recipe.length} recipe flags in the README command`);
  for (const flag of recipe) {
    const value = flagValue(documented, flag);
    t.equal(flagValue(fromExample, flag), value, `${flag} ${value === true ? '' : value}`);
  }
});

t.test('the tutorial settings are what the examples say', async (t) => {
  const [scratch] = loadManifests(join(examplesDir, 'resnext-scratch.yaml')) as Json[];
  t.match(scratch.spec, {
    replicas: 1,
    gpusPerReplica: 4,
    model: { architecture: 'resnext' },
    data: { imageShape: [3, 28, 28] },
    hyperparameters: { batchSize: 128, learningRate: 0.05, epochs: 100 },
    checkpoint: { uri: /^s3:\/\// },
  });
  t.notOk('image' in (scratch.spec as Json), 'the chart\'s trainer.image runs it');
  const [finetune] = loadManifests(join(examplesDir, 'resnext-finetune.yaml')) as Json[];
  t.match(finetune.spec, { pretrained: { uri: /^s3:\/\//, layerBeforeFullc: 'pool_global' }, model: { numClasses: 10 } });
  const [claim, pvcJob] = loadManifests(join(examplesDir, 'pvc-checkpoint.yaml')) as Json[];
  t.match(claim, { kind: 'PersistentVolumeClaim', metadata: { name: 'cifar-runs' }, spec: { accessModes: ['ReadWriteMany'] } });
  t.match(pvcJob?.spec, { replicas: 2, volumes: [{ name: 'runs', persistentVolumeClaim: { claimName: 'cifar-runs' } }], volumeMounts: [{ name: 'runs', mountPath: '/runs' }], checkpoint: { uri: '/runs/resnet-pvc/checkpoints' } });
});

const dataMount: Json = { volumes: [{ name: 'data', persistentVolumeClaim: { claimName: 'cifar' } }], volumeMounts: [{ name: 'data', mountPath: '/data' }] };

t.test('cross-field rules reject what they should and nothing else', async (t) => {
  const cases: Array<[string, Json, RegExp | null]> = [
    ['resnet depth 20', base, null],
    ['resnet depth 21', { ...base, model: { architecture: 'resnet', depth: 21 } }, /spec\.model: Invalid value: "object": depth must be 6n\+2/],
    ['resnext depth 29', { ...base, model: { architecture: 'resnext', depth: 29 } }, null],
    ['resnext depth 20 (9n+2)', { ...base, model: { architecture: 'resnext', depth: 20 } }, null],
    ['resnext depth 32', { ...base, model: { architecture: 'resnext', depth: 32 } }, /spec\.model: Invalid value: "object": depth must be 9n\+2/],
    ['lenet with a depth', { ...base, model: { architecture: 'lenet', depth: 20 } }, /depth does not apply to lenet/],
    ['cardinality on resnet', { ...base, model: { architecture: 'resnet', cardinality: 4 } }, /cardinality and width apply only to resnext/],
    ['relative data path', { ...base, data: { train: 'data/train.rec' } }, /spec\.data: Invalid value: "object": train must be an s3:\/\/ URI/],
    ['file URL data under a mount', { ...base, ...dataMount, data: { train: 'file:///data/train.rec', validation: '/data/val.rec' } }, null],
    ['local data without a mount', { ...base, data: { train: '/data/train.rec' } }, /spec\.data\.train: Invalid value: "object": data\.train is a local path: it must lie under one of spec\.volumeMounts/],
    ['local data beside the mount', { ...base, ...dataMount, data: { train: '/database/train.rec' } }, /data\.train is a local path/],
    ['the mount point itself', { ...base, ...dataMount, data: { train: 'file:///data' } }, null],
    ['file URL validation without a mount', { ...base, data: { train: 's3://b/t', validation: 'file:///v/val.rec' } }, /spec\.data\.validation: .*data\.validation is a local path/],
    ['local checkpoint without a mount', { ...base, checkpoint: { uri: '/ckpt' } }, /spec\.checkpoint\.uri: .*checkpoint\.uri is a local path/],
    ['local checkpoint on a PVC', { ...base, replicas: 2, volumes: [{ name: 'runs', persistentVolumeClaim: { claimName: 'runs' } }], volumeMounts: [{ name: 'runs', mountPath: '/runs' }], checkpoint: { uri: '/runs/ckpt' } }, null],
    ['local output without a mount', { ...base, output: { uri: 'file:///out' } }, /spec\.output\.uri: .*output\.uri is a local path/],
    ['local pretrained without a mount', { ...base, pretrained: { uri: '/models/base' } }, /spec\.pretrained\.uri: .*pretrained\.uri is a local path/],
    ['a mount of an undeclared volume', { ...base, volumeMounts: [{ name: 'x', mountPath: '/x' }] }, /spec\.volumeMounts: .*every volumeMounts\[\]\.name must be the name of one of spec\.volumes/],
    ['a volume with two sources', { ...base, volumes: [{ name: 'v', emptyDir: {}, hostPath: { path: '/x' } }] }, /a volume needs exactly one source/],
    ['a volume with no source', { ...base, volumes: [{ name: 'v' }] }, /a volume needs exactly one source/],
    ['the operator\'s own volume name', { ...base, volumes: [{ name: 'scratch', emptyDir: {} }] }, /spec\.volumes\[0\]\.name: .*scratch and peer-key are the operator's own volumes/],
    ['a mount over the pod scratch directory', { ...base, volumes: [{ name: 'v', emptyDir: {} }], volumeMounts: [{ name: 'v', mountPath: `${POD_SCRATCH_MOUNT_PATH}/x` }] }, new RegExp(`mountPath overlaps ${POD_SCRATCH_MOUNT_PATH}`)],
    ['a mount over the peer key', { ...base, volumes: [{ name: 'v', emptyDir: {} }], volumeMounts: [{ name: 'v', mountPath: '/var/run' }] }, /mountPath overlaps/],
    ['a mount with ..', { ...base, volumes: [{ name: 'v', emptyDir: {} }], volumeMounts: [{ name: 'v', mountPath: '/data/../etc' }] }, /mountPath must not contain \. or \.\. segments/],
    ['an escaping subPath', { ...base, ...dataMount, volumeMounts: [{ name: 'data', mountPath: '/data', subPath: '../x' }] }, /subPath must be a relative path without \.\. segments/],
    ['every volume source', { ...base, volumes: [
      { name: 'a', persistentVolumeClaim: { claimName: 'c', readOnly: true } }, { name: 'b', nfs: { server: 'n', path: '/e' } }, { name: 'c', hostPath: { path: '/h', type: 'Directory' } },
      { name: 'd', emptyDir: { medium: 'Memory', sizeLimit: '1Gi' } }, { name: 'e', configMap: { name: 'cm', items: [{ key: 'k', path: 'p' }] } }, { name: 'f', secret: { secretName: 's', defaultMode: 0o400 } },
    ] }, null],
    ['processes dividing the GPUs', { ...base, gpusPerReplica: 4, processesPerReplica: 2 }, null],
    ['processes not dividing the GPUs', { ...base, gpusPerReplica: 4, processesPerReplica: 3 }, /spec\.processesPerReplica: .*processesPerReplica must divide gpusPerReplica/],
    ['processes on CPU', { ...base, gpusPerReplica: 0, backend: 'wasm', processesPerReplica: 2 }, null],
    ['no image: the operator default', { model: base.model, data: base.data }, null],
    ['kueue without a queue', { ...base, runPolicy: { schedulingPolicy: { gangScheduler: 'kueue' } } }, /queue \(the LocalQueue to submit to\) is required with gangScheduler kueue/],
    ['kueue with a queue', { ...base, runPolicy: { schedulingPolicy: { gangScheduler: 'kueue', queue: 'team-a' } } }, null],
    ['coscheduling with a timeout', { ...base, runPolicy: { schedulingPolicy: { gangScheduler: 'coscheduling', scheduleTimeoutSeconds: 60 } } }, null],
    ['volcano with a timeout', { ...base, runPolicy: { schedulingPolicy: { gangScheduler: 'volcano', scheduleTimeoutSeconds: 60 } } }, /scheduleTimeoutSeconds applies only to coscheduling/],
    ['coscheduling with a queue', { ...base, runPolicy: { schedulingPolicy: { gangScheduler: 'coscheduling', queue: 'q' } } }, /queue applies to volcano and kueue/],
    ['http validation', { ...base, data: { train: '/d', validation: 'http://x/v' } }, /spec\.data: Invalid value: "object": validation must be/],
    ['2 replicas without a checkpoint', { ...base, replicas: 2 }, /checkpoint\.uri is required when replicas > 1/],
    ['2 replicas with a checkpoint', { ...base, replicas: 2, checkpoint: { uri: 's3://b/c/' } }, null],
    ['relative checkpoint', { ...base, checkpoint: { uri: 'ckpt' } }, /spec\.checkpoint: Invalid value: "object": uri must be/],
    ['GPUs with wasm', { ...base, backend: 'wasm' }, /backend wasm and cpu do not use GPUs/],
    ['no GPUs with wasm', { ...base, backend: 'wasm', gpusPerReplica: 0 }, null],
    ['same ports', { ...base, masterPort: 9400 }, /masterPort and metricsPort must differ/],
    ['relative pretrained uri', { ...base, pretrained: { uri: 'resnext-101' } }, /spec\.pretrained: Invalid value: "object": uri must be/],
    ['frozen with lrMultiplier', { ...base, pretrained: { uri: '/m', freeze: true, lrMultiplier: 0.1 } }, /lrMultiplier has no effect/],
    ['too many step epochs', { ...base, hyperparameters: { epochs: 3, schedule: { stepEpochs: [1, 2, 3] } } }, /stepEpochs has more steps/],
    ['step epochs that fit', { ...base, hyperparameters: { epochs: 3, schedule: { stepEpochs: [1, 2] } } }, null],
    ['stepEpochs with cosine', { ...base, hyperparameters: { schedule: { type: 'cosine', stepEpochs: [2] } } }, /stepEpochs applies only to type step/],
    ['warm-up as long as training', { ...base, hyperparameters: { epochs: 2, schedule: { warmupEpochs: 2 } } }, /warmupEpochs must be less than epochs/],
    ['endpoint without scheme', { ...base, s3: { endpoint: 'minio:9000' } }, /spec\.s3: Invalid value: "object": endpoint must start/],
  ];
  for (const [name, spec, expected] of cases) {
    const errors = errorsFor(spec);
    if (expected === null) t.same(errors, [], name);
    else t.match(errors.join('\n'), expected, name);
  }
});

t.test('structural limits name the field in the real server\'s words', async (t) => {
  // k8s.io/kube-openapi pkg/validation (the messages apiextensions returns for schema violations).
  const cases: Array<[Json, RegExp]> = [
    [{ ...base, replicas: 0 }, /^spec\.replicas: Invalid value: 0: spec\.replicas in body should be greater than or equal to 1$/],
    [{ ...base, backend: 'cuda' }, /^spec\.backend: Unsupported value: "cuda": supported values: "auto", /],
    [{ ...base, hyperparameters: { learningRate: 0 } }, /^spec\.hyperparameters\.learningRate: Invalid value: 0: spec\.hyperparameters\.learningRate in body should be greater than 0$/],
    [{ ...base, data: { train: '/d', imageShape: [3, 28] } }, /^spec\.data\.imageShape: Invalid value: "array": spec\.data\.imageShape in body should have at least 3 items$/],
    [{ ...base, metricsPort: 80 }, /^spec\.metricsPort: Invalid value: 80: spec\.metricsPort in body should be greater than or equal to 1024$/],
    [{ ...base, runPolicy: { cleanPodPolicy: 'Some' } }, /^spec\.runPolicy\.cleanPodPolicy: Unsupported value: "Some"/],
    [{ ...base, s3: { credentialsSecretRef: {} } }, /^spec\.s3\.credentialsSecretRef\.name: Required value$/],
    [{ ...base, s3: { accessKeyId: 'AKIA...' } }, /^unknown field "spec\.s3\.accessKeyId"$/],
    [{ image: 'x', data: { train: '/d' } }, /^spec\.model: Required value$/],
  ];
  for (const [spec, expected] of cases) t.match(errorsFor(spec)[0] ?? '(admitted)', expected, JSON.stringify(spec).slice(0, 80));
  // apiextensions-apiserver pkg/registry/customresource/strategy.go: schema errors that change the
  // object's shape stop the rules from running, and the server says so.
  t.match(errorsFor({ ...base, replicas: 2, s3: { credentialsSecretRef: {} } }), ['spec.s3.credentialsSecretRef.name: Required value', '<nil>: Invalid value: "null": some validation rules were not checked because the object was invalid; correct the existing errors to complete validation']);
});

t.test('the schema fields the rules use exist', async (t) => {
  const paths = new Set(schemaFields(subSchema(root, 'spec')).map((f) => f.path));
  for (const p of ['checkpoint.uri', 'hyperparameters.schedule.stepEpochs', 'model.depth', 'pretrained.lrMultiplier', 's3.endpoint']) t.ok(paths.has(p), p);
});
