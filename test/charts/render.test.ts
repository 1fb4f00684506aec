/**
 * `helm template` of charts/cifar-operator with defaults and with every option on: every
 * object passes the Kubernetes schemas (kubernetes-models for types and required fields,
 * client-node's model metadata for unknown fields), Prometheus Operator objects have the
 * fields their CRDs require, and the objects fit together (selectors, ports, flags).
 */
import t from 'tap';
import * as k8s from '@kubernetes/client-node';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { parse } from 'yaml';
import { parseFlags } from '../../operator/controller/flags.js';
import { APP_NAME, LABEL_APP_NAME, LABEL_MANAGED_BY, MANAGER_NAME, workerLabels } from '../../operator/core/labels.js';
import { METRICS_PORT_NAME } from '../../operator/core/desired-service.js';
import { ALL_OPTIONS_ON, CHART_DIR, RELEASE_NAMESPACE, locateHelm, renderChart, type RenderedObject } from '../helpers/tools.js';

const helm = await locateHelm();

type Json = Record<string, unknown>;
interface Attribute {
  baseName: string;
  type: string;
}
interface ModelClass {
  getAttributeTypeMap(): Attribute[];
}
interface ValidatingModel {
  validate(): void;
}

const models = k8s as unknown as Record<string, unknown>;
function modelClass(type: string): ModelClass | undefined {
  const c = models[type];
  return typeof c === 'function' && typeof (c as Partial<ModelClass>).getAttributeTypeMap === 'function' ? (c as unknown as ModelClass) : undefined;
}

/** Paths of fields the Kubernetes API does not define (what `kubectl apply --validate=strict` rejects). */
function unknownFields(value: unknown, type: string, path: string, out: string[]): string[] {
  const array = /^Array<(.+)>$/.exec(type);
  const map = /^\{ \[key: string\]: (.+); \}$/.exec(type);
  if (array !== null && Array.isArray(value)) value.forEach((item, i) => unknownFields(item, array[1], `${path}[${i}]`, out));
  else if (map !== null && typeof value === 'object' && value !== null) for (const [k, v] of Object.entries(value)) unknownFields(v, map[1], `${path}.${k}`, out);
  else {
    const model = modelClass(type);
    if (model !== undefined && typeof value === 'object' && value !== null && !Array.isArray(value)) {
      const attributes = model.getAttributeTypeMap();
      for (const [key, child] of Object.entries(value)) {
        const attribute = attributes.find((a) => a.baseName === key);
        if (attribute === undefined) out.push(`${path}.${key}`);
        else unknownFields(child, attribute.type, `${path}.${key}`, out);
      }
    }
  }
  return out;
}

/** Validates one built-in object with kubernetes-models (types, formats, required fields). */
async function validateBuiltin(object: RenderedObject): Promise<string[]> {
  const where = `${object.kind} ${object.metadata.name}`;
  const group = object.apiVersion.includes('/') ? object.apiVersion : `v1`;
  let mod: Record<string, unknown>;
  try {
    mod = (await import(`kubernetes-models/${group}/${object.kind}`)) as Record<string, unknown>;
  } catch {
    return [`${where}: kubernetes-models has no ${object.apiVersion} ${object.kind}`];
  }
  const Model = mod[object.kind] as (new (data: unknown) => ValidatingModel) | undefined;
  if (typeof Model !== 'function') return [`${where}: kubernetes-models/${group}/${object.kind} exports no ${object.kind}`];
  const problems: string[] = [];
  try {
    new Model(object).validate();
  } catch (err) {
    problems.push(`${where}: ${err instanceof Error ? err.message : String(err)}`);
  }
  const clientType = `V1${object.kind}`;
  if (modelClass(clientType) === undefined) problems.push(`${where}: no client-node model ${clientType} to check fields against`);
  else problems.push(...unknownFields(object, clientType, '', []).map((p) => `${where}: unknown field ${p.slice(1)}`));
  return problems;
}

const MONITORING = 'monitoring.coreos.com/v1';
const ENDPOINT_FIELDS = new Set(['port', 'path', 'scheme', 'interval', 'scrapeTimeout', 'relabelings', 'metricRelabelings']);

function obj(value: unknown, what: string): Json {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new Error(`${what} is not an object: ${JSON.stringify(value)}`);
  return value as Json;
}
function list(value: unknown, what: string): unknown[] {
  if (!Array.isArray(value) || value.length === 0) throw new Error(`${what} is not a non-empty list: ${JSON.stringify(value)}`);
  return value;
}

/** The fields the Prometheus Operator CRDs require, and ours must use. */
function validateMonitoring(object: RenderedObject, rulesFile: Json): string[] {
  const where = `${object.kind} ${object.metadata.name}`;
  if (object.apiVersion !== MONITORING) return [`${where}: apiVersion ${object.apiVersion}, expected ${MONITORING}`];
  try {
    const spec = obj(object.spec, `${where} spec`);
    if (object.kind === 'PrometheusRule') {
      for (const [i, g] of list(spec.groups, `${where} spec.groups`).entries()) {
        const group = obj(g, `${where} spec.groups[${i}]`);
        if (typeof group.name !== 'string') throw new Error(`${where} spec.groups[${i}].name missing`);
        for (const [j, r] of list(group.rules, `${where} spec.groups[${i}].rules`).entries()) {
          const rule = obj(r, `${where} groups[${i}].rules[${j}]`);
          if (typeof rule.expr !== 'string' || (typeof rule.record === 'string') === (typeof rule.alert === 'string')) throw new Error(`${where} groups[${i}].rules[${j}] needs expr and exactly one of record, alert`);
        }
      }
      if (!isDeepStrictEqual(spec.groups, rulesFile.groups)) throw new Error(`${where} spec.groups differ from files/prometheus-rules.yaml`);
      return [];
    }
    obj(obj(spec.selector, `${where} spec.selector`).matchLabels, `${where} spec.selector.matchLabels`);
    const ns = obj(spec.namespaceSelector, `${where} spec.namespaceSelector`);
    if (!(ns.any === true || Array.isArray(ns.matchNames))) throw new Error(`${where} namespaceSelector needs any: true or matchNames`);
    const endpointsKey = object.kind === 'ServiceMonitor' ? 'endpoints' : 'podMetricsEndpoints';
    for (const [i, e] of list(spec[endpointsKey], `${where} spec.${endpointsKey}`).entries()) {
      const endpoint = obj(e, `${where} ${endpointsKey}[${i}]`);
      const extra = Object.keys(endpoint).filter((k) => !ENDPOINT_FIELDS.has(k));
      if (extra.length > 0) throw new Error(`${where} ${endpointsKey}[${i}] has fields the chart does not mean to set: ${extra.join(', ')}`);
      if (typeof endpoint.port !== 'string') throw new Error(`${where} ${endpointsKey}[${i}].port must name a port`);
      for (const d of ['interval', 'scrapeTimeout']) if (!/^(\d+(ms|s|m|h))+$/.test(String(endpoint[d]))) throw new Error(`${where} ${endpointsKey}[${i}].${d} ${String(endpoint[d])} is not a Prometheus duration`);
    }
  } catch (err) {
    return [err instanceof Error ? err.message : String(err)];
  }
  return [];
}

async function validateAll(objects: RenderedObject[]): Promise<string[]> {
  const rulesFile = obj(parse(await readFile(join(CHART_DIR, 'files', 'prometheus-rules.yaml'), 'utf8')), 'files/prometheus-rules.yaml');
  const problems: string[] = [];
  for (const o of objects) problems.push(...(o.apiVersion.startsWith('monitoring.coreos.com/') ? validateMonitoring(o, rulesFile) : await validateBuiltin(o)));
  return problems;
}

function find(objects: RenderedObject[], kind: string, name?: string): RenderedObject {
  const found = objects.find((o) => o.kind === kind && (name === undefined || o.metadata.name === name));
  if (found === undefined) throw new Error(`no ${kind}${name === undefined ? '' : ` ${name}`} in the rendered chart (kinds: ${[...new Set(objects.map((o) => o.kind))].join(', ')})`);
  return found;
}

const at = (value: unknown, path: string): unknown => path.split('.').reduce<unknown>((v, key) => (typeof v === 'object' && v !== null ? (v as Json)[key] : undefined), value);
const matches = (selector: unknown, labels: unknown): boolean =>
  Object.entries(obj(selector, 'selector')).every(([k, v]) => (labels as Record<string, string> | undefined)?.[k] === v);

const VARIANTS: Record<string, readonly string[]> = {
  defaults: [],
  'every option on (namespaced)': ALL_OPTIONS_ON,
  'cluster mode with monitors, one replica, no leader election, no dashboards': [
    'replicaCount=1', 'leaderElection.enabled=false', 'metrics.serviceMonitor.enabled=true', 'metrics.podMonitor.enabled=true',
    'metrics.prometheusRule.enabled=true', 'dashboards.enabled=false', 'trainer.serviceAccount.create=false', 'podDisruptionBudget.maxUnavailable=50%',
  ],
};

t.test('every rendered object passes Kubernetes schema validation', { skip: helm.skip }, async (t) => {
  for (const [name, sets] of Object.entries(VARIANTS)) {
    const objects = await renderChart(helm.path!, sets);
    t.ok(objects.length >= 8, `${name}: ${objects.length} objects rendered`);
    t.same(await validateAll(objects), [], `${name}: ${objects.map((o) => o.kind).join(', ')} are valid`);
  }
});

t.test('the schema check catches what it should', { skip: helm.skip }, async (t) => {
  const deployment = find(await renderChart(helm.path!), 'Deployment');
  const typo = structuredClone(deployment) as Json;
  const container = obj(list(at(typo, 'spec.template.spec.containers'), 'containers')[0], 'container');
  container.imagePullPolicyy = 'Always';
  t.match(await validateBuiltin(typo as RenderedObject), [/unknown field spec\.template\.spec\.containers\[0\]\.imagePullPolicyy/], 'an unknown field is reported with its path');
  const wrongType = structuredClone(deployment) as Json;
  obj(wrongType.spec, 'spec').replicas = 'two';
  t.match(await validateBuiltin(wrongType as RenderedObject), [/replicas must be integer/], 'a wrongly typed field is reported');
});

t.test('defaults: a locked-down operator Deployment with leader election, probes and flags the operator accepts', { skip: helm.skip }, async (t) => {
  const objects = await renderChart(helm.path!);
  const deployment = find(objects, 'Deployment');
  t.equal(deployment.metadata.namespace, RELEASE_NAMESPACE);
  t.equal(at(deployment, 'spec.replicas'), 2, 'two replicas');
  const pod = obj(at(deployment, 'spec.template.spec'), 'pod spec');
  const container = obj(list(pod.containers, 'containers')[0], 'container');
  t.match(pod.securityContext, { runAsNonRoot: true, runAsUser: 1000, seccompProfile: { type: 'RuntimeDefault' } });
  t.match(container.securityContext, { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, runAsNonRoot: true, capabilities: { drop: ['ALL'] } });
  t.match(container.livenessProbe, { httpGet: { path: '/healthz', port: 'metrics' } });
  t.match(container.readinessProbe, { httpGet: { path: '/readyz', port: 'metrics' } });
  t.match(container.resources, { requests: { cpu: String, memory: String }, limits: { memory: String } });
  t.match(container.env, [{ name: 'POD_NAMESPACE', valueFrom: { fieldRef: { fieldPath: 'metadata.namespace' } } }, { name: 'POD_NAME' }]);
  const args = list(container.args, 'args') as string[];
  const flags = parseFlags(args, {});
  t.match(flags, { leaderElect: true, leaderElectionNamespace: RELEASE_NAMESPACE, metricsAddr: { port: 8080 }, workers: 2 }, 'the real flag parser accepts the rendered args');
  t.equal(flags.namespace, undefined, 'cluster mode watches every namespace');
  t.equal(pod.serviceAccountName, find(objects, 'ServiceAccount', 'demo-cifar-operator').metadata.name);

  const service = find(objects, 'Service');
  t.ok(matches(at(service, 'spec.selector'), at(deployment, 'spec.template.metadata.labels')), 'the metrics Service selects the operator pods');
  t.match(at(service, 'spec.ports'), [{ name: 'metrics', targetPort: 'metrics' }]);
  const pdb = find(objects, 'PodDisruptionBudget');
  t.ok(matches(at(pdb, 'spec.selector.matchLabels'), at(deployment, 'spec.template.metadata.labels')), 'the PodDisruptionBudget covers the operator pods');
  t.equal(at(pdb, 'spec.maxUnavailable'), 1);

  const trainerSa = find(objects, 'ServiceAccount', 'demo-cifar-operator-trainer');
  t.equal(trainerSa.automountServiceAccountToken, false, 'the trainer ServiceAccount mounts no token');
  t.notOk(objects.some((o) => o.kind.endsWith('Binding') && JSON.stringify(o.subjects).includes(trainerSa.metadata.name)), 'and nothing is bound to it');

  const crd = find(objects, 'CustomResourceDefinition');
  t.equal(crd.metadata.name, 'cifartrainingjobs.training.cifar-operator.io', 'the CRD is installed from crds/');
  const dashboards = find(objects, 'ConfigMap');
  t.equal(dashboards.metadata.labels?.grafana_dashboard, '1', 'dashboards carry the Grafana sidecar label');
  t.same(Object.keys(obj(dashboards.data, 'data')).sort(), ['cifar-jobs-overview.json', 'cifar-training-job.json']);
  for (const kind of ['ServiceMonitor', 'PodMonitor', 'PrometheusRule']) t.notOk(objects.some((o) => o.kind === kind), `no ${kind} unless enabled`);
});

t.test('every option on: namespaced operator, monitors that select the right pods and ports, dashboards elsewhere', { skip: helm.skip }, async (t) => {
  const objects = await renderChart(helm.path!, ALL_OPTIONS_ON);
  const deployment = find(objects, 'Deployment');
  const container = obj(list(at(deployment, 'spec.template.spec.containers'), 'containers')[0], 'container');
  t.equal(container.image, `registry.example.com/ml/cifar-operator@sha256:${'a'.repeat(64)}`, 'a digest wins over the tag');
  t.equal(parseFlags(container.args as string[], {}).namespace, 'ml-team', 'namespaced mode passes --namespace');
  t.equal(find(objects, 'ServiceAccount', 'demo-cifar-operator-trainer').metadata.namespace, 'ml-team', 'the trainer ServiceAccount lives where the trainers run');

  const serviceMonitor = find(objects, 'ServiceMonitor');
  const service = find(objects, 'Service');
  t.ok(matches(at(serviceMonitor, 'spec.selector.matchLabels'), service.metadata.labels), 'the ServiceMonitor selects the metrics Service');
  t.equal(at(serviceMonitor, 'metadata.labels.release'), 'kube-prometheus-stack', 'additionalLabels reach the ServiceMonitor');
  t.same(at(serviceMonitor, 'spec.namespaceSelector'), { matchNames: [RELEASE_NAMESPACE] });

  const podMonitor = find(objects, 'PodMonitor');
  t.same(at(podMonitor, 'spec.selector.matchLabels'), { [LABEL_APP_NAME]: APP_NAME, [LABEL_MANAGED_BY]: MANAGER_NAME }, 'the PodMonitor selects pods by the labels the operator puts on trainers');
  t.equal(podMetricsPort(podMonitor), METRICS_PORT_NAME, 'and scrapes the port the operator names for metrics');
  t.same(at(podMonitor, 'spec.namespaceSelector'), { matchNames: ['ml-team'] }, 'in the watched namespace only');

  const dashboards = find(objects, 'ConfigMap');
  t.equal(dashboards.metadata.namespace, 'monitoring');
  t.equal(dashboards.metadata.annotations?.grafana_folder, 'Training');
  for (const [key, text] of Object.entries(obj(dashboards.data, 'data'))) {
    t.same(JSON.parse(String(text)), JSON.parse(await readFile(join(CHART_DIR, 'dashboards', key), 'utf8')), `${key} is the dashboard file, unchanged`);
  }
  t.ok(find(objects, 'PrometheusRule'), 'the PrometheusRule is rendered');
});

function podMetricsPort(podMonitor: RenderedObject): unknown {
  return obj(list(at(podMonitor, 'spec.podMetricsEndpoints'), 'podMetricsEndpoints')[0], 'endpoint').port;
}

t.test('cluster mode: the PodMonitor looks in every namespace', { skip: helm.skip }, async (t) => {
  const objects = await renderChart(helm.path!, ['metrics.podMonitor.enabled=true']);
  t.same(at(find(objects, 'PodMonitor'), 'spec.namespaceSelector'), { any: true });
  const listed = await renderChart(helm.path!, ['metrics.podMonitor.enabled=true', 'metrics.podMonitor.namespaces={ml-a,ml-b}']);
  t.same(at(find(listed, 'PodMonitor'), 'spec.namespaceSelector'), { matchNames: ['ml-a', 'ml-b'] });
});

t.test('trainer pods get the chart\'s trainer image and ServiceAccount through the operator\'s flags', { skip: helm.skip }, async (t) => {
  const objects = await renderChart(helm.path!, ['trainer.namespaces={team-a,team-b}']);
  const container = obj(list(at(find(objects, 'Deployment'), 'spec.template.spec.containers'), 'containers')[0], 'container');
  const flags = parseFlags(container.args as string[], {});
  t.equal(flags.defaultTrainerImage, 'registry.example.com/ml/cifar-trainer:0.1.0-gpu', '--default-trainer-image is trainer.image');
  t.equal(flags.defaultTrainerServiceAccount, 'demo-cifar-operator-trainer', '--default-trainer-service-account is the chart\'s trainer ServiceAccount');
  const accounts = objects.filter((o) => o.kind === 'ServiceAccount' && o.metadata.name === flags.defaultTrainerServiceAccount).map((o) => o.metadata.namespace).sort();
  t.same(accounts, [RELEASE_NAMESPACE, 'team-a', 'team-b'], 'and it exists in every namespace jobs run in');
  const own = await renderChart(helm.path!, ['trainer.serviceAccount.useAsDefault=false']);
  const ownArgs = obj(list(at(find(own, 'Deployment'), 'spec.template.spec.containers'), 'containers')[0], 'container').args as string[];
  t.equal(parseFlags(ownArgs, {}).defaultTrainerServiceAccount, undefined, 'useAsDefault=false leaves jobs on their namespace\'s default');
});

t.test('the NetworkPolicy lets trainers reach each other, the operator reach their metrics port, and nothing else in', { skip: helm.skip }, async (t) => {
  t.notOk((await renderChart(helm.path!)).some((o) => o.kind === 'NetworkPolicy'), 'off by default');
  const objects = await renderChart(helm.path!, ALL_OPTIONS_ON);
  const policy = find(objects, 'NetworkPolicy');
  t.equal(policy.metadata.namespace, 'ml-team', 'where the trainers run');
  const trainer = workerLabels('any-job', 0, 0);
  t.ok(matches(at(policy, 'spec.podSelector.matchLabels'), trainer), 'it selects the pods the operator labels as trainers');
  t.same(at(policy, 'spec.policyTypes'), ['Ingress', 'Egress']);
  const ingress = list(at(policy, 'spec.ingress'), 'ingress') as Json[];
  t.ok(matches(at(list(ingress[0]?.from, 'from')[0], 'podSelector.matchLabels'), trainer) && ingress[0]?.ports === undefined, 'trainer to trainer on any port: the ring listeners use ephemeral ports');
  const fromOperator = obj(list(ingress[1]?.from, 'from')[0], 'peer');
  const deployment = find(objects, 'Deployment');
  t.ok(matches(at(fromOperator, 'podSelector.matchLabels'), at(deployment, 'spec.template.metadata.labels')), 'the operator pods');
  t.same(at(fromOperator, 'namespaceSelector.matchLabels'), { 'kubernetes.io/metadata.name': RELEASE_NAMESPACE }, 'in the release namespace');
  t.same(ingress[1]?.ports, [{ port: METRICS_PORT_NAME, protocol: 'TCP' }], 'only on the trainer\'s metrics port (GET /progress)');
  t.same(ingress[2], { from: [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'monitoring' } } }], ports: [{ port: METRICS_PORT_NAME, protocol: 'TCP' }] }, 'and Prometheus from metricsFrom');
  const egress = list(at(policy, 'spec.egress'), 'egress') as Json[];
  t.equal(egress.length, 3, 'peers, DNS, S3');
  t.same(egress[1]?.ports, [{ port: 53, protocol: 'UDP' }, { port: 53, protocol: 'TCP' }]);
  t.same(egress[2], { ports: [{ port: 9000, protocol: 'TCP' }], to: [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'minio' } } }] }, 'S3 as configured');
  const any = find(await renderChart(helm.path!, ['networkPolicy.enabled=true']), 'NetworkPolicy');
  t.same((list(at(any, 'spec.egress'), 'egress') as Json[])[2], { ports: [{ port: 443, protocol: 'TCP' }] }, 'by default any address on 443 (AWS S3)');
});
