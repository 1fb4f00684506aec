/**
 * Least-privilege RBAC: the operator gets exactly the permissions operator/controller/
 * cluster-api.ts uses, trainers get none. The expected table below is the decision; a rule
 * added to the chart without changing it here fails.
 */
import t from 'tap';
import { ALL_OPTIONS_ON, RELEASE_NAMESPACE, locateHelm, renderChart, type RenderedObject } from '../helpers/tools.js';

const helm = await locateHelm();
const GROUP = 'training.cifar-operator.io';

interface Rule {
  apiGroups?: string[];
  resources?: string[];
  resourceNames?: string[];
  verbs?: string[];
  nonResourceURLs?: string[];
}

/**
 * What the operator may do, as "group/resource" -> verbs, and why (the ClusterApi method).
 * It reads only through list+watch informers, so it needs no get anywhere.
 * - jobs: list+watch (informer), delete (ttlSecondsAfterFinished).
 * - jobs/status: update (replaceJobStatus).
 * - jobs/finalizers: update, so children may set blockOwnerDeletion under the
 *   OwnerReferencesPermissionEnforcement admission plugin.
 * - pods, services, secrets: the job's children: create, delete, and list+watch (informers,
 *   label-selected). Secrets are the peer keys; no update or patch, so the operator can never
 *   change a Secret it did not make. list/watch of secrets cannot be narrowed by label in RBAC:
 *   namespaced mode is how a cluster keeps other namespaces' Secrets out of reach.
 * - events: create and patch (the count of a repeated event).
 * - podgroups (only with rbac.gangSchedulers): create and delete, never read.
 */
const JOB_PERMISSIONS: Record<string, string[]> = {
  [`${GROUP}/cifartrainingjobs`]: ['delete', 'list', 'watch'],
  [`${GROUP}/cifartrainingjobs/status`]: ['update'],
  [`${GROUP}/cifartrainingjobs/finalizers`]: ['update'],
  'core/pods': ['create', 'delete', 'list', 'watch'],
  'core/services': ['create', 'delete', 'list', 'watch'],
  'core/secrets': ['create', 'delete', 'list', 'watch'],
  'core/events': ['create', 'patch'],
};

const rulesOf = (o: RenderedObject): Rule[] => (o.rules as Rule[] | undefined) ?? [];

/** Flattens rules to "group/resource[name]" -> sorted verbs. */
function permissions(rules: Rule[]): Record<string, string[]> {
  const table: Record<string, Set<string>> = {};
  for (const rule of rules) {
    for (const group of rule.apiGroups ?? []) {
      for (const resource of rule.resources ?? []) {
        const key = `${group === '' ? 'core' : group}/${resource}${rule.resourceNames ? `[${rule.resourceNames.join(',')}]` : ''}`;
        for (const verb of rule.verbs ?? []) (table[key] ??= new Set()).add(verb);
      }
    }
  }
  return Object.fromEntries(Object.entries(table).map(([k, v]) => [k, [...v].sort()]));
}

function roles(objects: RenderedObject[]): RenderedObject[] {
  return objects.filter((o) => o.kind === 'Role' || o.kind === 'ClusterRole');
}

function leaseName(objects: RenderedObject[]): string {
  const deployment = objects.find((o) => o.kind === 'Deployment');
  const spec = (deployment?.spec as { template: { spec: { containers: Array<{ args: string[] }> } } } | undefined)?.template.spec;
  const arg = spec?.containers[0]?.args.find((a) => a.startsWith('--leader-election-id='));
  if (arg === undefined) throw new Error('the Deployment passes no --leader-election-id');
  return arg.slice('--leader-election-id='.length);
}

t.test('no wildcards and no escalation anywhere', { skip: helm.skip }, async (t) => {
  for (const sets of [[], ALL_OPTIONS_ON]) {
    for (const role of roles(await renderChart(helm.path!, sets))) {
      for (const rule of rulesOf(role)) {
        const where = `${role.kind} ${role.metadata.name} rule ${JSON.stringify(rule)}`;
        t.notOk([...(rule.verbs ?? []), ...(rule.resources ?? []), ...(rule.apiGroups ?? [])].includes('*'), `${where}: no '*'`);
        t.notOk(rule.verbs?.some((v) => ['escalate', 'bind', 'impersonate', 'deletecollection'].includes(v)), `${where}: no escalate, bind, impersonate or deletecollection`);
        t.equal(rule.nonResourceURLs, undefined, `${where}: no non-resource URLs`);
      }
    }
  }
});

t.test('cluster mode: one ClusterRole with exactly the job permissions, the Lease in a Role', { skip: helm.skip }, async (t) => {
  const objects = await renderChart(helm.path!);
  const clusterRoles = objects.filter((o) => o.kind === 'ClusterRole');
  t.equal(clusterRoles.length, 1, 'one ClusterRole');
  t.same(permissions(rulesOf(clusterRoles[0])), JOB_PERMISSIONS, 'exactly the permissions the operator uses, nothing else');

  const leaseRole = objects.find((o) => o.kind === 'Role' && o.metadata.name.endsWith('-leader-election'));
  t.ok(leaseRole, 'a Role for leader election');
  t.equal(leaseRole?.metadata.namespace, RELEASE_NAMESPACE, 'in the operator\'s own namespace');
  const lease = leaseName(objects);
  t.same(permissions(rulesOf(leaseRole!)), {
    'coordination.k8s.io/leases': ['create'],
    [`coordination.k8s.io/leases[${lease}]`]: ['get', 'update'],
  }, `get and update only its own Lease ${lease}; create cannot be narrowed by name`);

  const binding = objects.find((o) => o.kind === 'ClusterRoleBinding');
  t.match(binding, { roleRef: { kind: 'ClusterRole', name: clusterRoles[0].metadata.name }, subjects: [{ kind: 'ServiceAccount', name: 'demo-cifar-operator', namespace: RELEASE_NAMESPACE }] });
  t.equal((binding?.subjects as unknown[]).length, 1, 'bound to the operator ServiceAccount only');
});

t.test('namespaced mode: nothing cluster-wide, a Role in the watched namespace', { skip: helm.skip }, async (t) => {
  const objects = await renderChart(helm.path!, ['rbac.namespaced=true', 'operator.watchNamespace=ml-team']);
  t.notOk(objects.some((o) => o.kind === 'ClusterRole' || o.kind === 'ClusterRoleBinding'), 'no ClusterRole or ClusterRoleBinding');
  const role = objects.find((o) => o.kind === 'Role' && o.metadata.namespace === 'ml-team');
  t.ok(role, 'a Role in ml-team');
  t.same(permissions(rulesOf(role!)), JOB_PERMISSIONS, 'with exactly the job permissions');
  const binding = objects.find((o) => o.kind === 'RoleBinding' && o.metadata.namespace === 'ml-team');
  t.match(binding, { roleRef: { kind: 'Role', name: role!.metadata.name }, subjects: [{ kind: 'ServiceAccount', name: 'demo-cifar-operator', namespace: RELEASE_NAMESPACE }] });

  const defaultNamespace = await renderChart(helm.path!, ['rbac.namespaced=true']);
  t.ok(defaultNamespace.some((o) => o.kind === 'Role' && o.metadata.namespace === RELEASE_NAMESPACE && !o.metadata.name.endsWith('-leader-election')), 'without watchNamespace it manages the release namespace');
});

t.test('the operator mounts its token; trainers get a ServiceAccount with none and no bindings', { skip: helm.skip }, async (t) => {
  const objects = await renderChart(helm.path!);
  const trainer = objects.find((o) => o.kind === 'ServiceAccount' && o.metadata.name === 'demo-cifar-operator-trainer');
  t.equal(trainer?.automountServiceAccountToken, false);
  const bindings = objects.filter((o) => o.kind.endsWith('RoleBinding'));
  t.ok(bindings.length >= 2);
  for (const b of bindings) t.notMatch(JSON.stringify(b.subjects), /demo-cifar-operator-trainer/, `${b.kind} ${b.metadata.name} does not bind the trainer`);
  const none = await renderChart(helm.path!, ['rbac.create=false']);
  t.notOk(none.some((o) => /Role/.test(o.kind)), 'rbac.create=false renders no RBAC objects');
});

t.test('gang scheduling: PodGroup permissions only for the schedulers asked for, create and delete only', { skip: helm.skip }, async (t) => {
  const both = await renderChart(helm.path!, ['rbac.gangSchedulers={coscheduling,volcano}']);
  t.same(permissions(rulesOf(roles(both).find((r) => r.kind === 'ClusterRole')!)), {
    ...JOB_PERMISSIONS,
    'scheduling.x-k8s.io/podgroups': ['create', 'delete'],
    'scheduling.volcano.sh/podgroups': ['create', 'delete'],
  });
  const volcano = await renderChart(helm.path!, ['rbac.namespaced=true', 'rbac.gangSchedulers={volcano}']);
  const role = roles(volcano).find((r) => r.kind === 'Role' && !r.metadata.name.endsWith('-leader-election'));
  t.same(permissions(rulesOf(role!)), { ...JOB_PERMISSIONS, 'scheduling.volcano.sh/podgroups': ['create', 'delete'] }, 'namespaced: in the Role');
});
