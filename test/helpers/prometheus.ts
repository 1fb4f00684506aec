/**
 * PromQL helpers for the dashboard and Prometheus tests: the chart's dashboards and their
 * queries, the metric names the trainer and operator sources define, and a real Prometheus
 * (Debian's package) run on loopback for the e2e test.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { Registry, collectDefaultMetrics } from 'prom-client';
import { repoRoot } from './datasets.js';
import { CHART_DIR } from './tools.js';

export interface Target {
  refId: string;
  expr?: string;
  legendFormat?: string;
  datasource?: { type?: string; uid?: string };
}
export interface Panel {
  id: number;
  type: string;
  title: string;
  gridPos: { h: number; w: number; x: number; y: number };
  datasource?: { type?: string; uid?: string };
  targets?: Target[];
  fieldConfig?: { defaults?: { unit?: string } };
}
export interface Variable {
  name: string;
  type: string;
  query?: string | { query?: string };
  definition?: string;
  includeAll?: boolean;
  allValue?: string;
}
export interface Dashboard {
  uid: string;
  title: string;
  schemaVersion: number;
  tags?: string[];
  panels: Panel[];
  templating: { list: Variable[] };
}

export const DASHBOARD_DIR = join(CHART_DIR, 'dashboards');
export const RULES_FILE = join(CHART_DIR, 'files', 'prometheus-rules.yaml');

export async function loadDashboards(): Promise<Array<{ file: string; dashboard: Dashboard }>> {
  const files = (await readdir(DASHBOARD_DIR)).filter((f) => f.endsWith('.json')).sort();
  return Promise.all(files.map(async (file) => ({ file, dashboard: JSON.parse(await readFile(join(DASHBOARD_DIR, file), 'utf8')) as Dashboard })));
}

export interface PanelQuery {
  dashboard: string;
  panel: string;
  refId: string;
  expr: string;
}

export function panelQueries(file: string, dashboard: Dashboard): PanelQuery[] {
  return dashboard.panels.flatMap((p) => (p.targets ?? []).map((target) => ({ dashboard: file, panel: p.title, refId: target.refId, expr: target.expr ?? '' })));
}

export function variableQuery(v: Variable): string {
  return typeof v.query === 'string' ? v.query : (v.query?.query ?? v.definition ?? '');
}

/** Grafana's built-in interval variables as a query over a short, densely scraped range sees them. */
export const BUILTIN_VARIABLES: Record<string, string> = { __rate_interval: '10s', __interval: '2s', __range: '1m' };

/** Replaces $name and ${name} with values; an unknown variable throws, naming it. */
export function substitute(expr: string, values: Record<string, string>): string {
  return expr.replace(/\$\{(\w+)\}|\$(\w+)/g, (_, braced: string | undefined, bare: string | undefined) => {
    const name = braced ?? bare ?? '';
    const value = values[name] ?? BUILTIN_VARIABLES[name];
    if (value === undefined) throw new Error(`query uses $${name}, which is not defined: ${expr}`);
    return value;
  });
}

/** Variables a query or legend uses ($x, ${x}), built-ins excluded. */
export function usedVariables(text: string): string[] {
  return [...text.matchAll(/\$\{(\w+)\}|\$(\w+)/g)].map((m) => m[1] ?? m[2] ?? '').filter((n) => !(n in BUILTIN_VARIABLES));
}

const PROMQL_WORDS = new Set(['by', 'without', 'on', 'ignoring', 'group_left', 'group_right', 'and', 'or', 'unless', 'offset', 'bool', 'inf', 'nan']);

/** Metric names a PromQL expression selects (functions, keywords, labels and strings excluded). */
export function metricNames(expr: string): string[] {
  const stripped = expr
    .replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'/g, '""')
    .replace(/\{[^}]*\}/g, ' ')
    .replace(/\[[^\]]*\]/g, ' ')
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' ');
  const names = new Set<string>();
  for (const m of stripped.matchAll(/(?<![\w.:$])([a-zA-Z_:][a-zA-Z0-9_:]*)(\s*\()?/g)) {
    const [, name, call] = m;
    if (call === undefined && name !== undefined && !PROMQL_WORDS.has(name.toLowerCase()) && !/^\d/.test(name)) names.add(name);
  }
  return [...names];
}

const METRIC_SOURCES = [join('trainer', 'metrics', 'trainer-metrics.ts'), join('operator', 'observability')];

/** Every series name the trainer and operator expose, read from their sources (histograms expanded). */
export async function knownMetricNames(): Promise<Set<string>> {
  const files: string[] = [];
  for (const source of METRIC_SOURCES) {
    const path = join(repoRoot, source);
    if (source.endsWith('.ts')) files.push(path);
    else files.push(...(await readdir(path)).filter((f) => f.endsWith('.ts')).map((f) => join(path, f)));
  }
  const names = new Set<string>();
  for (const file of files) {
    const text = await readFile(file, 'utf8');
    for (const m of text.matchAll(/new\s+(Counter|Gauge|Histogram|Summary)\b[^(]*\(\{\s*name:\s*'([a-zA-Z_:][a-zA-Z0-9_:]*)'/g)) {
      const [, type, name] = m;
      if (type !== 'Histogram') names.add(name!);
      if (type === 'Histogram') for (const s of ['_bucket', '_sum', '_count']) names.add(`${name}${s}`);
      if (type === 'Summary') for (const s of ['_sum', '_count']) names.add(`${name}${s}`);
    }
    for (const m of text.matchAll(/collectDefaultMetrics\(\{([^}]*)\}\)/g)) {
      const prefix = /prefix:\s*'([^']*)'/.exec(m[1] ?? '')?.[1] ?? '';
      for (const n of await defaultMetricNames(prefix)) names.add(n);
    }
  }
  return names;
}

/** prom-client's default process and Node.js metrics under `prefix`, as this version of it names them. */
async function defaultMetricNames(prefix: string): Promise<string[]> {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix });
  const text = await registry.metrics();
  registry.clear();
  return [...new Set([...text.matchAll(/^([a-zA-Z_:][a-zA-Z0-9_:]*)[{ ]/gm)].map((m) => m[1]!))];
}

export interface PromSample {
  metric: Record<string, string>;
  value: [number, string];
}

export interface PrometheusServer {
  url: string;
  child: ChildProcess;
  logs(): string;
  stop(): Promise<void>;
  /** An instant query; rejects with Prometheus's error for a bad query. */
  query(expr: string): Promise<PromSample[]>;
  get<T>(path: string): Promise<T>;
}

/** Starts `prometheus` on 127.0.0.1:port with `configFile`, storing under `dataDir`; resolves once /-/ready answers. */
export async function startPrometheus(binary: string, configFile: string, dataDir: string, port: number, timeoutMs = 30_000): Promise<PrometheusServer> {
  const url = `http://127.0.0.1:${port}`;
  const child = spawn(binary, [
    `--config.file=${configFile}`, `--storage.tsdb.path=${dataDir}`, `--web.listen-address=127.0.0.1:${port}`,
    '--storage.tsdb.retention.time=1h', '--log.level=warn', '--web.enable-lifecycle',
  ], { stdio: ['ignore', 'pipe', 'pipe'] });
  let logs = '';
  child.stdout!.on('data', (d: Buffer) => (logs += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (logs += d.toString()));
  const exited = new Promise<void>((resolve) => child.once('close', () => resolve()));
  const stop = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
    await exited;
    clearTimeout(timer);
  };
  const get = async <T>(path: string): Promise<T> => {
    const res = await fetch(`${url}${path}`, { signal: AbortSignal.timeout(10_000) });
    const body = (await res.json()) as { status: string; data: T; error?: string };
    if (body.status !== 'success') throw new Error(`GET ${path}: ${body.error ?? res.status}`);
    return body.data;
  };
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`prometheus exited with ${child.exitCode}: ${logs.slice(-1500)}`);
    try {
      if ((await fetch(`${url}/-/ready`, { signal: AbortSignal.timeout(1_000) })).ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`prometheus was not ready within ${timeoutMs} ms: ${logs.slice(-1500)}`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  return {
    url,
    child,
    logs: () => logs,
    stop,
    get,
    query: async (expr) => (await get<{ result: PromSample[] }>(`/api/v1/query?query=${encodeURIComponent(expr)}`)).result,
  };
}
