import { spawn } from 'node:child_process';
import { join } from 'node:path';
import t from 'tap';
import { stringify } from 'yaml';
import { writeKubeconfig } from '../../../../hack/local-cluster/apiserver/kubeconfig.js';
import { eventually, findKubectl, kubectlFor, NO_KUBECTL, startTestApiServer, WIDGET_CRD } from '../../../helpers/apiserver.js';

const kubectl = findKubectl();

const widgetYaml = (name: string, spec: Record<string, unknown>) => stringify({ apiVersion: 'test.example.com/v1', kind: 'Widget', metadata: { name }, spec });

t.test('the real kubectl against the local API server', { skip: kubectl ? false : NO_KUBECTL }, async (t) => {
  const server = await startTestApiServer(t);
  const k = await kubectlFor(t, kubectl!, server.url);

  await t.test('apply a CRD, then api-resources lists it with its short name', async (t) => {
    const crd = await k.run(['apply', '-f', await k.file('crd.yaml', stringify(WIDGET_CRD))]);
    t.equal(crd.code, 0, crd.stderr);
    t.match(crd.stdout, 'customresourcedefinition.apiextensions.k8s.io/widgets.test.example.com created');
    const res = await k.run(['api-resources', '--api-group=test.example.com']);
    t.match(res.stdout, /widgets\s+wg\s+test\.example\.com\/v1\s+true\s+Widget/);
  });

  await t.test('apply with default validation: valid works, invalid is rejected naming the field', async (t) => {
    const ok = await k.run(['apply', '-f', await k.file('w1.yaml', widgetYaml('w1', { image: 'busybox', replicas: 2 }))]);
    t.equal(ok.code, 0, ok.stderr);
    t.equal(ok.stdout.trim(), 'widget.test.example.com/w1 created');
    const again = await k.run(['apply', '-f', await k.file('w1b.yaml', widgetYaml('w1', { image: 'busybox', replicas: 3 }))]);
    t.equal(again.stdout.trim(), 'widget.test.example.com/w1 configured', 're-apply patches');
    // kubectl sees fieldValidation in the OpenAPI v3 document and leaves validation to the server.
    const unknown = await k.run(['apply', '-f', await k.file('w2.yaml', widgetYaml('w2', { image: 'busybox', bogus: 1 }))]);
    t.not(unknown.code, 0);
    t.match(unknown.stderr, 'strict decoding error: unknown field "spec.bogus"');
    const invalid = await k.run(['apply', '-f', await k.file('w3.yaml', widgetYaml('w3', { image: 'busybox', replicas: 0 }))]);
    t.not(invalid.code, 0);
    t.match(invalid.stderr, 'The Widget "w3" is invalid: spec.replicas: Invalid value: 0: spec.replicas in body should be greater than or equal to 1');
    const cel = await k.run(['apply', '-f', await k.file('w4.yaml', widgetYaml('w4', { image: 'busybox', replicas: 5 }))]);
    t.match(cel.stderr, 'spec: Invalid value: "object": more than 4 replicas needs mode big');
  });

  await t.test('get prints the printer columns; -o json and describe show the object', async (t) => {
    const st = await k.run(['patch', 'widget', 'w1', '--subresource=status', '--type=merge', '-p', '{"status":{"phase":"Running"}}']);
    t.equal(st.code, 0, st.stderr);
    const get = await k.run(['get', 'widgets']);
    t.match(get.stdout, /^NAME\s+REPLICAS\s+PHASE\s+AGE\nw1\s+3\s+Running\s+\d+s\n$/);
    const json = await k.run(['get', 'wg', 'w1', '-o', 'json']);
    const obj = JSON.parse(json.stdout) as { spec: { mode: string }; metadata: { generation: number } };
    t.equal(obj.spec.mode, 'small', 'defaults applied');
    t.equal(obj.metadata.generation, 2);
    const yaml = await k.run(['get', 'widget', 'w1', '-o', 'yaml']);
    t.match(yaml.stdout, /phase: Running/);
    const describe = await k.run(['describe', 'widget', 'w1']);
    t.equal(describe.code, 0, describe.stderr);
    t.match(describe.stdout, /Name:\s+w1[\s\S]*Replicas:\s+3[\s\S]*Events:\s+<none>/);
  });

  await t.test('pods: apply twice (strategic merge), get, describe', async (t) => {
    const pod = (env: Array<{ name: string; value: string }>, extra: boolean) =>
      stringify({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p1', labels: { app: 'a' } }, spec: { containers: [{ name: 'main', image: 'busybox:1.36', env }, ...(extra ? [{ name: 'side', image: 'busybox:1.36' }] : [])] } });
    t.equal((await k.run(['apply', '-f', await k.file('p1.yaml', pod([{ name: 'A', value: '1' }], true))])).code, 0);
    const re = await k.run(['apply', '-f', await k.file('p1b.yaml', pod([{ name: 'A', value: '2' }], false))]);
    t.equal(re.stdout.trim(), 'pod/p1 configured', re.stderr);
    const json = JSON.parse((await k.run(['get', 'pod', 'p1', '-o', 'json'])).stdout) as { spec: { containers: Array<{ name: string; env: unknown }> } };
    t.same(json.spec.containers.map((c) => [c.name, c.env]), [['main', [{ name: 'A', value: '2' }]]], 'the removed container is gone, env updated');
    const get = await k.run(['get', 'pods', '-l', 'app=a']);
    t.match(get.stdout, /^NAME\s+READY\s+STATUS\s+RESTARTS\s+AGE\np1\s+0\/1\s+Pending\s+0\s+\d+s\n$/);
    const describe = await k.run(['describe', 'pod', 'p1']);
    t.match(describe.stdout, /Status:\s+Pending[\s\S]*A:\s+2/);
  });

  await t.test('get -w streams changes as they happen', async (t) => {
    // Streamed, not collected at exit: the patch is sent once the watch has printed the
    // current state, so a slow kubectl start cannot make the change land before the watch.
    const dir = t.testdir();
    const kubeconfig = join(dir, 'kubeconfig');
    await writeKubeconfig(kubeconfig, server.url);
    const child = spawn(kubectl!, ['--kubeconfig', kubeconfig, '--cache-dir', join(dir, 'cache'), 'get', 'widgets', '-w'], { env: { PATH: process.env.PATH ?? '', HOME: dir }, stdio: ['ignore', 'pipe', 'pipe'] });
    t.teardown(() => {
      if (child.exitCode === null) child.kill('SIGKILL');
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    t.ok(await eventually(() => /w1\s+3\s+Running/.test(out), 30_000), `the watch printed the current object (${out})`);
    const patched = await k.run(['patch', 'widget', 'w1', '--type=merge', '-p', '{"spec":{"replicas":4}}']);
    t.equal(patched.code, 0, patched.stderr);
    t.ok(await eventually(() => /w1\s+3\s+Running[\s\S]*w1\s+4\s+Running/.test(out), 30_000), `the change was streamed (${out})`);
    child.kill('SIGTERM');
  });

  await t.test('delete removes the object', async (t) => {
    const del = await k.run(['delete', 'widget', 'w1']);
    t.equal(del.stdout.trim(), 'widget.test.example.com "w1" deleted', del.stderr);
    const gone = await k.run(['get', 'widget', 'w1']);
    t.not(gone.code, 0);
    t.match(gone.stderr, 'Error from server (NotFound): widgets.test.example.com "w1" not found');
    t.equal((await k.run(['delete', 'pod', 'p1'])).code, 0);
  });
});
