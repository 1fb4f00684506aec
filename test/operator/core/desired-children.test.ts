import t from 'tap';
import type { EnvVar, Pod } from '../../../operator/api/k8s-types.js';
import { withDefaults } from '../../../operator/api/defaults.js';
import type { CifarTrainingJob, CifarTrainingJobSpec } from '../../../operator/api/types.js';
import { desiredWorkerPod, jobFieldForPodField } from '../../../operator/core/desired-pod.js';
import { desiredPeerKeySecret } from '../../../operator/core/desired-secret.js';
import { desiredWorkersService } from '../../../operator/core/desired-service.js';
import { LABEL_ATTEMPT, LABEL_JOB_NAME, LABEL_REPLICA_RANK } from '../../../operator/core/labels.js';
import { GPU_TOLERATION } from '../../../operator/core/pod-scheduling.js';

const identity = { name: 'resnext', namespace: 'ml', uid: 'uid-123' };

function job(spec: CifarTrainingJobSpec, generation = 4): CifarTrainingJob {
  return { apiVersion: 'training.cifar-operator.io/v1alpha1', kind: 'CifarTrainingJob', metadata: { ...identity, generation }, spec };
}

const gpuSpec: CifarTrainingJobSpec = {
  replicas: 4,
  gpusPerReplica: 1,
  image: 'ghcr.io/x/trainer:1',
  resources: { requests: { cpu: '4', memory: '12Gi', 'nvidia.com/gpu': 3 }, limits: { memory: '16Gi' } },
  nodeSelector: { 'nvidia.com/gpu.product': 'A100' },
  tolerations: [{ key: 'dedicated', operator: 'Equal', value: 'ml', effect: 'NoSchedule' }],
  affinity: { podAntiAffinity: { preferredDuringSchedulingIgnoredDuringExecution: [] } },
  model: { architecture: 'resnext', depth: 29 },
  data: { train: 's3://b/train.rec' },
  checkpoint: { uri: 's3://b/ckpt/' },
  s3: { endpoint: 'http://minio:9000', region: 'eu-west-1', pathStyle: false, credentialsSecretRef: { name: 'creds', accessKeyIdKey: 'id' } },
};

const cpuSpec: CifarTrainingJobSpec = {
  replicas: 2,
  gpusPerReplica: 0,
  backend: 'wasm',
  image: 'trainer:dev',
  model: { architecture: 'lenet' },
  data: { train: '/data/train' },
  checkpoint: { uri: '/ckpt' },
};

function env(pod: Pod): Map<string, EnvVar> {
  return new Map((pod.spec.containers[0].env ?? []).map((e) => [e.name, e]));
}

t.test('a GPU worker pod', async (t) => {
  const pod = desiredWorkerPod(job(gpuSpec), 2, 1);
  const c = pod.spec.containers[0];
  t.equal(pod.metadata.name, 'resnext-worker-2-a1', 'attempt 1 has names of its own');
  t.equal(pod.metadata.namespace, 'ml');
  t.same(pod.metadata.ownerReferences, [
    { apiVersion: 'training.cifar-operator.io/v1alpha1', kind: 'CifarTrainingJob', name: 'resnext', uid: 'uid-123', controller: true, blockOwnerDeletion: true },
  ]);
  t.match(pod.metadata.labels, { [LABEL_JOB_NAME]: 'resnext', [LABEL_REPLICA_RANK]: '2', [LABEL_ATTEMPT]: '1' });
  t.equal(pod.metadata.annotations?.['training.cifar-operator.io/job-generation'], '4');
  t.match(pod.metadata.annotations?.['training.cifar-operator.io/spec-hash'], /^[0-9a-f]{16}$/);

  t.equal(pod.spec.restartPolicy, 'Never', 'the operator restarts the gang, not the kubelet');
  t.equal(pod.spec.hostname, 'resnext-worker-2-a1');
  t.equal(pod.spec.subdomain, 'resnext-workers');
  t.equal(pod.spec.automountServiceAccountToken, false);

  const e = env(pod);
  t.equal(e.get('WORLD_SIZE')?.value, '4');
  t.equal(e.get('RANK')?.value, '2');
  t.equal(e.get('MASTER_ADDR')?.value, 'resnext-worker-0-a1.resnext-workers.ml.svc', 'rank 0 of the same attempt');
  t.equal(e.get('MASTER_PORT')?.value, '29500');
  t.same(e.get('POD_IP')?.valueFrom, { fieldRef: { fieldPath: 'status.podIP' } });
  t.equal(e.get('CIFAR_PEER_SECRET_FILE')?.value, '/var/run/cifar-operator/peer/peer-key');
  t.equal(e.get('CIFAR_JOB_ID')?.value, 'ml/resnext/attempt-1');
  t.equal(e.get('JOB_NAME')?.value, 'resnext');
  t.equal(e.get('JOB_NAMESPACE')?.value, 'ml');
  t.equal(e.get('AWS_ENDPOINT_URL_S3')?.value, 'http://minio:9000');
  t.equal(e.get('AWS_REGION')?.value, 'eu-west-1');
  t.equal(e.get('S3_FORCE_PATH_STYLE')?.value, 'false', 'an explicit false is passed, not dropped');
  t.same(e.get('AWS_ACCESS_KEY_ID'), { name: 'AWS_ACCESS_KEY_ID', valueFrom: { secretKeyRef: { name: 'creds', key: 'id' } } });
  t.same(e.get('AWS_SECRET_ACCESS_KEY'), { name: 'AWS_SECRET_ACCESS_KEY', valueFrom: { secretKeyRef: { name: 'creds', key: 'AWS_SECRET_ACCESS_KEY' } } });
  t.notOk([...e.values()].some((v) => v.name.startsWith('AWS_') && v.name.includes('KEY') && v.value !== undefined), 'no credential value in the pod spec');

  t.same(c.command, ['cifar-trainer']);
  t.same(c.args?.slice(0, 3), ['train', '--model', 'resnext']);
  t.ok(c.args?.includes('--resume'));
  t.same(c.resources, { requests: { cpu: '4', memory: '12Gi' }, limits: { memory: '16Gi', 'nvidia.com/gpu': '1' } }, 'gpusPerReplica overrides a GPU request in resources');
  t.same(pod.spec.tolerations, [GPU_TOLERATION, { key: 'dedicated', operator: 'Equal', value: 'ml', effect: 'NoSchedule' }]);
  t.same(pod.spec.nodeSelector, { 'nvidia.com/gpu.product': 'A100' });
  t.same(pod.spec.affinity, gpuSpec.affinity);

  t.same(pod.spec.securityContext, { runAsNonRoot: true, runAsUser: 1000, runAsGroup: 1000, fsGroup: 1000, seccompProfile: { type: 'RuntimeDefault' } });
  t.same(c.securityContext, {
    runAsNonRoot: true,
    runAsUser: 1000,
    allowPrivilegeEscalation: false,
    readOnlyRootFilesystem: true,
    capabilities: { drop: ['ALL'] },
    seccompProfile: { type: 'RuntimeDefault' },
  });
  t.same(c.volumeMounts, [
    { name: 'scratch', mountPath: '/tmp' },
    { name: 'peer-key', mountPath: '/var/run/cifar-operator/peer', readOnly: true },
  ]);
  t.same(pod.spec.volumes, [
    { name: 'scratch', emptyDir: {} },
    { name: 'peer-key', secret: { secretName: 'resnext-peer-key', defaultMode: 0o440 } },
  ]);
  t.equal(c.terminationMessagePath, '/dev/termination-log');
  t.equal(c.terminationMessagePolicy, 'FallbackToLogsOnError');
  t.same(c.ports, [
    { name: 'rendezvous', containerPort: 29500, protocol: 'TCP' },
    { name: 'metrics', containerPort: 9400, protocol: 'TCP' },
  ]);
  t.equal(c.imagePullPolicy, 'IfNotPresent');
});

t.test("the job's volumes and mounts follow the operator's own; its ServiceAccount, else the operator default, is set", async (t) => {
  const spec: CifarTrainingJobSpec = {
    ...cpuSpec,
    volumes: [
      { name: 'ckpt', persistentVolumeClaim: { claimName: 'runs' } },
      { name: 'data', nfs: { server: 'nfs.example', path: '/exports/cifar', readOnly: true } },
    ],
    volumeMounts: [
      { name: 'ckpt', mountPath: '/ckpt' },
      { name: 'data', mountPath: '/data', readOnly: true },
    ],
  };
  const pod = desiredWorkerPod(job(spec), 0, 0, { trainerServiceAccount: 'cifar-operator-trainer' });
  t.same(pod.spec.volumes?.slice(2), spec.volumes);
  t.same(pod.spec.containers[0].volumeMounts?.slice(2), spec.volumeMounts);
  t.equal(pod.spec.serviceAccountName, 'cifar-operator-trainer', 'the chart\'s trainer ServiceAccount by default');
  t.equal(pod.spec.automountServiceAccountToken, false, 'still no API token');
  t.equal(desiredWorkerPod(job({ ...spec, serviceAccountName: 's3-reader' }), 0, 0, { trainerServiceAccount: 'x' }).spec.serviceAccountName, 's3-reader', 'the job\'s own wins');
  t.equal(desiredWorkerPod(job(spec), 0, 0).spec.serviceAccountName, undefined, 'no default: the namespace default ServiceAccount');
  const { image: _image, ...noImage } = spec;
  t.equal(desiredWorkerPod(job(noImage), 0, 0, { trainerImage: 'registry.example/cifar-trainer:2' }).spec.containers[0].image, 'registry.example/cifar-trainer:2', 'the operator\'s default trainer image');
  t.equal(jobFieldForPodField('spec.volumes[3].nfs.server'), 'spec.volumes[1].nfs.server', 'a refused pod field maps back to the job\'s own list');
  t.equal(jobFieldForPodField('spec.containers[0].volumeMounts[2].mountPath'), 'spec.volumeMounts[0].mountPath');
  t.equal(jobFieldForPodField('spec.containers[0].resources.limits[memory]'), 'spec.resources');
  t.equal(jobFieldForPodField('spec.volumes[1].secret'), 'spec.volumes');
});

t.test('several processes per pod: the launcher runs them, one GPU each, and WORLD_SIZE counts every process', async (t) => {
  const spec: CifarTrainingJobSpec = { ...gpuSpec, replicas: 2, gpusPerReplica: 4 };
  const pod = desiredWorkerPod(job(spec), 1, 0);
  const c = pod.spec.containers[0];
  t.same(c.args?.slice(0, 6), ['launch', '--nproc-per-node', '4', '--gpus-per-process', '1', '--'], 'processesPerReplica defaults to gpusPerReplica');
  t.same(c.args?.slice(6, 9), ['train', '--model', 'resnext']);
  const e = env(pod);
  t.equal(e.get('WORLD_SIZE')?.value, '8', '2 pods x 4 processes');
  t.equal(e.get('NODE_RANK')?.value, '1', 'the launcher makes ranks 4..7 from it');
  t.notOk(e.has('RANK'));
  t.same(c.resources?.limits?.['nvidia.com/gpu'], '4');
  const two = desiredWorkerPod(job({ ...spec, processesPerReplica: 2 }), 0, 0).spec.containers[0].args;
  t.same(two?.slice(0, 6), ['launch', '--nproc-per-node', '2', '--gpus-per-process', '2', '--']);
  const cpu = desiredWorkerPod(job({ ...cpuSpec, processesPerReplica: 2 }), 0, 0).spec.containers[0].args;
  t.same(cpu?.slice(0, 4), ['launch', '--nproc-per-node', '2', '--'], 'on CPU: no GPU pinning');
  t.equal(desiredWorkerPod(job(cpuSpec), 0, 0).spec.containers[0].args?.[0], 'train', 'one process per pod: train directly');
});

t.test('a CPU worker pod reserves no GPU and does not tolerate the GPU taint', async (t) => {
  const pod = desiredWorkerPod(job(cpuSpec), 0, 0);
  t.same(pod.spec.containers[0].resources, {});
  t.same(pod.spec.tolerations, []);
  t.equal(pod.spec.nodeSelector, undefined);
  t.equal(pod.spec.affinity, undefined);
  const e = env(pod);
  t.equal(e.get('WORLD_SIZE')?.value, '2');
  t.equal(e.get('RANK')?.value, '0');
  t.notOk(e.has('AWS_ACCESS_KEY_ID'), 'no S3 block, no S3 env');
  t.ok(pod.spec.containers[0].args?.includes('wasm'));
});

t.test('a user toleration equal to the GPU one is not duplicated', async (t) => {
  const pod = desiredWorkerPod(job({ ...gpuSpec, tolerations: [GPU_TOLERATION] }), 0, 0);
  t.same(pod.spec.tolerations, [GPU_TOLERATION]);
});

t.test('pods are deterministic and the spec hash ignores runPolicy but not the rest', async (t) => {
  t.same(desiredWorkerPod(job(gpuSpec), 1, 0), desiredWorkerPod(job(gpuSpec), 1, 0));
  const hash = (spec: CifarTrainingJobSpec): string | undefined => desiredWorkerPod(job(spec), 0, 0).metadata.annotations?.['training.cifar-operator.io/spec-hash'];
  t.equal(hash(gpuSpec), hash({ ...gpuSpec, runPolicy: { backoffLimit: 9, activeDeadlineSeconds: 60 } }));
  t.not(hash(gpuSpec), hash({ ...gpuSpec, hyperparameters: { epochs: 11 } }));
  t.equal(hash(gpuSpec), hash({ ...gpuSpec, hyperparameters: { epochs: 10 } }), 'writing a default out does not change the hash');
});

t.test('bad inputs are refused with the field named', async (t) => {
  t.throws(() => desiredWorkerPod(job(gpuSpec), 4, 0), /replica 4 is outside 0\.\.3 \(spec\.replicas 4\)/);
  const { image: _image, ...noImage } = gpuSpec;
  t.throws(() => desiredWorkerPod(job(noImage), 0, 0), /CifarTrainingJob ml\/resnext has no spec.image and the operator no --default-trainer-image/);
  const noUid: CifarTrainingJob = { ...job(gpuSpec), metadata: { name: 'resnext', namespace: 'ml' } };
  t.throws(() => desiredWorkerPod(noUid, 0, 0), /CifarTrainingJob resnext: metadata\.uid missing/);
  t.throws(() => desiredPeerKeySecret(identity, new Uint8Array(8)), /randomBytes has 8 bytes; need at least 32/);
});

t.test('the headless Service', async (t) => {
  const svc = desiredWorkersService(identity, withDefaults(gpuSpec));
  t.equal(svc.metadata.name, 'resnext-workers');
  t.equal(svc.spec.clusterIP, 'None');
  t.equal(svc.spec.publishNotReadyAddresses, true, 'ranks resolve each other before they are Ready');
  t.same(svc.spec.selector, { [LABEL_JOB_NAME]: 'resnext' });
  t.same(svc.spec.ports.map((p) => [p.name, p.port]), [['rendezvous', 29500], ['metrics', 9400]]);
  t.equal(svc.metadata.ownerReferences?.[0].uid, 'uid-123');
});

t.test('the peer-key Secret holds the given bytes as hex text', async (t) => {
  const bytes = Uint8Array.from({ length: 32 }, (_, i) => i);
  const secret = desiredPeerKeySecret(identity, bytes);
  t.equal(secret.metadata.name, 'resnext-peer-key');
  t.equal(secret.immutable, true);
  const text = Buffer.from(secret.data?.['peer-key'] ?? '', 'base64').toString('utf8');
  t.equal(text, Buffer.from(bytes).toString('hex'));
  t.equal(secret.metadata.ownerReferences?.[0].controller, true);
  t.not(desiredPeerKeySecret(identity, new Uint8Array(32).fill(1)).data?.['peer-key'], secret.data?.['peer-key'], 'different bytes, different key');
});
