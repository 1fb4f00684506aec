/**
 * Built-in objects validated as a real server validates them: the Kubernetes OpenAPI schema
 * (kubernetes-models), strict decoding of unknown fields, and the core rules of
 * k8s.io/kubernetes pkg/apis/core/validation/validation.go, worded and placed as there.
 */
import t from 'tap';
import { stringify } from 'yaml';
import { desiredWorkerPod } from '../../../../operator/core/desired-pod.js';
import { testJob } from '../../../helpers/fake-cluster-api.js';
import { findKubectl, kubectlFor, NO_KUBECTL, startTestApiServer } from '../../../helpers/apiserver.js';

type Json = Record<string, unknown>;
interface Reply {
  status: number;
  warning: string | null;
  body: { message?: string; reason?: string; spec?: Json; details?: { causes?: Array<{ field: string; reason: string; message: string }> } };
}

const pod = (name: string, spec: Json): Json => ({ apiVersion: 'v1', kind: 'Pod', metadata: { name }, spec: { containers: [{ name: 'main', image: 'busybox:1.36' }], ...spec } });
const container = (extra: Json): Json => ({ name: 'main', image: 'busybox:1.36', ...extra });

t.test('built-in objects through the API', async (t) => {
  const server = await startTestApiServer(t);
  const post = async (path: string, body: unknown, query = ''): Promise<Reply> => {
    const res = await fetch(`${server.url}${path}${query}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body), signal: AbortSignal.timeout(5_000) });
    return { status: res.status, warning: res.headers.get('warning'), body: (await res.json()) as Reply['body'] };
  };
  const pods = '/api/v1/namespaces/default/pods';
  const causes = (r: Reply) => r.body.details?.causes?.map((c) => `${c.field}: ${c.message}`);

  await t.test('tolerations (ValidateTolerations)', async (t) => {
    const exists = await post(pods, pod('t1', { tolerations: [{ key: 'nvidia.com/gpu', operator: 'Exists', value: 'bar', effect: 'NoSchedule' }] }));
    t.equal(exists.status, 422);
    t.equal(exists.body.reason, 'Invalid');
    t.same(causes(exists), ["spec.tolerations[0].operator: Invalid value: \"bar\": value must be empty when `operator` is 'Exists'"]);
    t.equal(exists.body.message, "Pod \"t1\" is invalid: spec.tolerations[0].operator: Invalid value: \"bar\": value must be empty when `operator` is 'Exists'");
    const seconds = await post(pods, pod('t2', { tolerations: [{ key: 'k', operator: 'Equal', value: 'v', effect: 'NoSchedule', tolerationSeconds: 30 }] }));
    t.same(causes(seconds), ["spec.tolerations[0].effect: Invalid value: \"NoSchedule\": effect must be 'NoExecute' when `tolerationSeconds` is set"]);
    const noKey = await post(pods, pod('t3', { tolerations: [{ operator: 'Equal', value: 'v' }] }));
    t.same(causes(noKey), ['spec.tolerations[0].operator: Invalid value: "Equal": operator must be Exists when `key` is empty, which means "match all values and all keys"']);
    t.equal((await post(pods, pod('t4', { tolerations: [{ key: 'node.kubernetes.io/not-ready', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 30 }] }))).status, 201);
  });

  await t.test('resources (ValidateContainerResourceRequirements) and the requests default (defaults.go)', async (t) => {
    const over = await post(pods, pod('r1', { containers: [container({ resources: { requests: { cpu: '2' }, limits: { cpu: '1' } } })] }));
    t.same(causes(over), ['spec.containers[0].resources.requests: Invalid value: "2": must be less than or equal to cpu limit of 1']);
    const milli = await post(pods, pod('r2', { containers: [container({ resources: { requests: { cpu: '1500m' }, limits: { cpu: '1' } } })] }));
    t.same(causes(milli), ['spec.containers[0].resources.requests: Invalid value: "1500m": must be less than or equal to cpu limit of 1'], 'quantities compare by value');
    const gpu = await post(pods, pod('r3', { containers: [container({ resources: { requests: { 'nvidia.com/gpu': '1' }, limits: { 'nvidia.com/gpu': '2' } } })] }));
    t.same(causes(gpu), ['spec.containers[0].resources.requests: Invalid value: "1": must be equal to nvidia.com/gpu limit of 2'], 'extended resources cannot be overcommitted');
    const noLimit = await post(pods, pod('r4', { containers: [container({ resources: { requests: { 'nvidia.com/gpu': '1' } } })] }));
    t.same(causes(noLimit), ['spec.containers[0].resources.limits: Required value: Limit must be set for non overcommitable resources']);
    const half = await post(pods, pod('r5', { containers: [container({ resources: { limits: { 'nvidia.com/gpu': '0.5' } } })] }));
    t.match(causes(half), ['spec.containers[0].resources.limits[nvidia.com/gpu]: Invalid value: "0.5": must be an integer']);
    const limitOnly = await post(pods, pod('r6', { containers: [container({ resources: { limits: { 'nvidia.com/gpu': '1', memory: '1Gi' } } })] }));
    t.equal(limitOnly.status, 201);
    t.same((limitOnly.body.spec?.containers as Json[])[0].resources, { limits: { 'nvidia.com/gpu': '1', memory: '1Gi' }, requests: { 'nvidia.com/gpu': '1', memory: '1Gi' } }, 'a limit alone defaults the request');
    const bad = await post(pods, pod('r7', { containers: [container({ resources: { limits: { cpu: 'lots' } } })] }));
    t.equal(bad.status, 400, 'a malformed quantity fails decoding');
    t.match(bad.body.message, /quantities must match the regular expression/);
  });

  await t.test('volumes and mounts (ValidateVolumes, ValidateVolumeMounts), names', async (t) => {
    const res = await post(
      pods,
      pod('v1', {
        volumes: [{ name: 'scratch', emptyDir: {} }, { name: 'scratch', emptyDir: {} }, { name: 'nothing' }],
        containers: [container({ name: 'Main_1', volumeMounts: [{ name: 'data', mountPath: '/data' }, { name: 'scratch', mountPath: '/data' }, { name: 'scratch' }] })],
      }),
    );
    t.equal(res.status, 422);
    t.same(causes(res), [
      'spec.volumes[1].name: Duplicate value: "scratch"',
      'spec.volumes[2]: Required value: must specify a volume type',
      "spec.containers[0].name: Invalid value: \"Main_1\": a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')",
      'spec.containers[0].volumeMounts[0].name: Not found: "data"',
      'spec.containers[0].volumeMounts[1].mountPath: Invalid value: "/data": must be unique',
      'spec.containers[0].volumeMounts[2].mountPath: Required value',
    ]);
  });

  await t.test('security context', async (t) => {
    const res = await post(pods, pod('s1', { securityContext: { runAsUser: -1 }, containers: [container({ securityContext: { allowPrivilegeEscalation: false, privileged: true } })] }));
    t.match(causes(res), [/^spec\.containers\[0\]\.securityContext: Invalid value: .*: cannot set `allowPrivilegeEscalation` to false and `privileged` to true$/, 'spec.securityContext.runAsUser: Invalid value: -1: must be between 0 and 2147483647, inclusive']);
  });

  await t.test('the OpenAPI schema: enums and required fields are 422, wrong types fail decoding with 400', async (t) => {
    const enumRes = await post(pods, pod('o1', { restartPolicy: 'Sometimes' }));
    t.same(causes(enumRes), ['spec.restartPolicy: Unsupported value: "Sometimes": supported values: "Always", "Never", "OnFailure"']);
    const noName = await post(pods, pod('o2', { containers: [{ image: 'busybox' }] }));
    t.match(causes(noName), ['spec.containers[0].name: Required value']);
    const wrongType = await post(pods, pod('o3', { containers: [container({ ports: [{ containerPort: '80' }] })] }));
    t.equal(wrongType.status, 400);
    t.equal(wrongType.body.message, 'Pod in version "v1" cannot be handled as a Pod: json: cannot unmarshal string into Go struct field Pod.spec.containers.ports.containerPort of type int32');
    const lease = await post('/apis/coordination.k8s.io/v1/namespaces/default/leases', { metadata: { name: 'l' }, spec: { leaseDurationSeconds: 'long' } });
    t.equal(lease.status, 400, 'leases are checked too');
    const slices = '/apis/discovery.k8s.io/v1/namespaces/default/endpointslices';
    const noType = await post(slices, { metadata: { name: 's1' }, endpoints: [{ addresses: ['127.0.0.9'] }] });
    t.same(causes(noType), ['addressType: Required value'], 'endpointslices are checked too');
    const slice = await post(slices, { metadata: { name: 's2', labels: { 'kubernetes.io/service-name': 'local-s3' } }, addressType: 'IPv4', endpoints: [{ addresses: ['127.0.0.9'] }] });
    t.equal(slice.status, 201, 'a valid EndpointSlice is stored');
  });

  await t.test('unknown fields of built-ins are dropped with a warning, refused under Strict (strict decoding)', async (t) => {
    const warn = await post(pods, pod('u1', { containers: [container({ resource: { limits: { cpu: '1' } } })] }));
    t.equal(warn.status, 201);
    t.equal(warn.warning, '299 - "unknown field \\"spec.containers[0].resource\\""');
    t.notOk('resource' in (warn.body.spec?.containers as Json[])[0], 'pruned');
    const strict = await post(pods, pod('u2', { containers: [container({ resource: {} })] }), '?fieldValidation=Strict');
    t.equal(strict.status, 400);
    t.equal(strict.body.message, 'Pod in version "v1" cannot be handled as a Pod: strict decoding error: unknown field "spec.containers[0].resource"');
  });

  await t.test('services and secrets', async (t) => {
    const svc = await post('/api/v1/namespaces/default/services', { metadata: { name: '1-workers' }, spec: { clusterIP: 'None', ports: [{ port: 70000 }, { name: 'b', port: 80 }] } });
    t.same(causes(svc), [
      "metadata.name: Invalid value: \"1-workers\": a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')",
      'spec.ports[0].name: Required value',
      'spec.ports[0].port: Invalid value: 70000: must be between 1 and 65535, inclusive',
      // targetPort defaults to port (defaults.go), so the real server reports it as well.
      'spec.ports[0].targetPort: Invalid value: 70000: must be between 1 and 65535, inclusive',
    ]);
    const secret = await post('/api/v1/namespaces/default/secrets', { metadata: { name: 's' }, data: { 'bad key': 'eA==' } });
    t.match(causes(secret), [/^data\[bad key\]: Invalid value: "bad key": a valid config key must consist of/]);
  });

  await t.test('the worker pods the operator writes are accepted', async (t) => {
    const job = testJob('gpu', { replicas: 2, gpusPerReplica: 2, tolerations: [{ key: 'dedicated', operator: 'Equal', value: 'ml', effect: 'NoSchedule' }], resources: { requests: { cpu: '2', memory: '4Gi' }, limits: { memory: '8Gi' } } });
    job.metadata.uid = '5f0c8d9e-1111-4222-8333-944455556666';
    for (const rank of [0, 1]) {
      const res = await post(pods, desiredWorkerPod(job, rank, 0));
      t.equal(res.status, 201, `rank ${rank}: ${JSON.stringify(causes(res) ?? res.body.message)}`);
    }
  });
});

const kubectl = findKubectl();

t.test('the real kubectl shows the same refusal', { skip: kubectl ? false : NO_KUBECTL }, async (t) => {
  const server = await startTestApiServer(t);
  const k = await kubectlFor(t, kubectl!, server.url);
  const res = await k.run(['apply', '-f', await k.file('p.yaml', stringify(pod('p', { tolerations: [{ key: 'k', operator: 'Exists', value: 'bar' }] })))]);
  t.not(res.code, 0);
  t.match(res.stderr, "The Pod \"p\" is invalid: spec.tolerations[0].operator: Invalid value: \"bar\": value must be empty when `operator` is 'Exists'");
});
