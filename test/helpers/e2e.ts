import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { CoordinationV1Api, CoreV1Api, CustomObjectsApi, KubeConfig } from '@kubernetes/client-node';
import { API_GROUP, API_VERSION, API_VERSION_NAME, KIND, type CifarTrainingJob, type CifarTrainingJobSpec } from '../../operator/api/types.js';
import { repoRoot } from './datasets.js';

const run = promisify(execFile);
export const NAMESPACE = 'default';
const PLURAL = 'cifartrainingjobs';

/** Typed access to what the end-to-end tests read and write, through client-node as a user would. */
export class E2eClient {
  readonly core: CoreV1Api;
  readonly custom: CustomObjectsApi;
  readonly coordination: CoordinationV1Api;

  constructor(readonly kubeconfigPath: string) {
    const kc = new KubeConfig();
    kc.loadFromFile(kubeconfigPath);
    this.core = kc.makeApiClient(CoreV1Api);
    this.custom = kc.makeApiClient(CustomObjectsApi);
    this.coordination = kc.makeApiClient(CoordinationV1Api);
  }

  async createJob(name: string, spec: CifarTrainingJobSpec): Promise<void> {
    const body: CifarTrainingJob = { apiVersion: API_VERSION, kind: KIND, metadata: { name, namespace: NAMESPACE }, spec };
    await this.custom.createNamespacedCustomObject({ group: API_GROUP, version: API_VERSION_NAME, namespace: NAMESPACE, plural: PLURAL, body });
  }

  async job(name: string): Promise<CifarTrainingJob | undefined> {
    try {
      return (await this.custom.getNamespacedCustomObject({ group: API_GROUP, version: API_VERSION_NAME, namespace: NAMESPACE, plural: PLURAL, name })) as CifarTrainingJob;
    } catch (err) {
      if ((err as { code?: number }).code === 404) return undefined;
      throw err;
    }
  }

  async deleteJob(name: string): Promise<void> {
    await this.custom.deleteNamespacedCustomObject({ group: API_GROUP, version: API_VERSION_NAME, namespace: NAMESPACE, plural: PLURAL, name });
  }

  async podNames(job: string): Promise<string[]> {
    const list = await this.core.listNamespacedPod({ namespace: NAMESPACE, labelSelector: `training.cifar-operator.io/job-name=${job}` });
    return list.items.map((p) => p.metadata?.name ?? '').sort();
  }

  async leaseHolder(name = 'cifar-operator-leader'): Promise<string | undefined> {
    try {
      return (await this.coordination.readNamespacedLease({ name, namespace: NAMESPACE })).spec?.holderIdentity ?? undefined;
    } catch {
      return undefined;
    }
  }

  /** Polls the job until `done` says so (returns that job) or the time runs out (throws with the last status). */
  async waitForJob(name: string, done: (job: CifarTrainingJob) => boolean, timeoutMs: number, seen?: (job: CifarTrainingJob) => void): Promise<CifarTrainingJob> {
    const deadline = Date.now() + timeoutMs;
    let last: CifarTrainingJob | undefined;
    while (Date.now() < deadline) {
      last = await this.job(name);
      if (last) {
        seen?.(last);
        if (done(last)) return last;
      }
      await new Promise((r) => setTimeout(r, 500));
    }
    throw new Error(`job ${name}: condition not reached in ${timeoutMs} ms; last status ${JSON.stringify(last?.status)}`);
  }
}

/** An operator replica as a real process, with leader election on. */
export function startOperator(kubeconfigPath: string, name: string, extra: string[] = []): ChildProcess {
  return spawn(
    process.execPath,
    ['--import', 'tsx', join(repoRoot, 'operator', 'main.ts'), '--kubeconfig', kubeconfigPath, '--metrics-addr', '127.0.0.1:0', '--leader-elect',
      '--lease-duration', '3', '--renew-deadline', '2', '--retry-period', '0.5', '--progress-interval', '1', '--log-level', 'warn', ...extra],
    { cwd: repoRoot, env: { ...process.env, POD_NAME: name, POD_NAMESPACE: NAMESPACE }, stdio: ['ignore', 'ignore', 'pipe'] },
  );
}

/** Runs kubectl against the cluster; resolves with its exit code and output. */
export async function kubectl(kubectlPath: string, kubeconfigPath: string, args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(kubectlPath, ['--kubeconfig', kubeconfigPath, ...args], { timeout: 60_000 });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === 'number' ? e.code : 1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}
