// npm run build:native [-- --require]: builds the native CPU backend's N-API addon
// (trainer/engine/backend/native) with node-gyp against the installed Node headers and
// Debian's oneDNN (libdnnl-dev). Without a compiler, the headers or oneDNN it says what is
// missing and exits 0, so that the trainer falls back to wasm; --require (or
// CIFAR_REQUIRE_NATIVE=1, as CI sets it) makes any of that an error instead.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const ADDON_DIR = join(ROOT, 'trainer', 'engine', 'backend', 'native');
const { values } = parseArgs({ options: { require: { type: 'boolean' } } });
const required = values.require === true || process.env.CIFAR_REQUIRE_NATIVE === '1';

function giveUp(reason: string): never {
  const message = `build:native: the native backend was not built: ${reason}`;
  if (required) {
    console.error(message);
    process.exit(1);
  }
  console.log(`${message}. The trainer uses the wasm backend; on Debian, \`apt-get install libdnnl-dev g++ make python3\` and run \`npm run build:native\` for the native one.`);
  process.exit(0);
}

function run(cmd: string, args: string[], input?: string): { ok: boolean; output: string } {
  const r = spawnSync(cmd, args, { cwd: ADDON_DIR, input, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  return { ok: r.status === 0, output: `${r.stdout ?? ''}${r.stderr ?? ''}${r.error ? String(r.error) : ''}` };
}

// 1. Prerequisites, each named when missing.
for (const tool of ['g++', 'make', 'python3']) {
  if (!run(tool, ['--version']).ok) giveUp(`\`${tool}\` is not installed`);
}
// node-gyp reads Node's headers from an install prefix: the running Node's own (official
// builds, Debian's /usr/include/node), else any installed one. The addon uses only N-API,
// whose ABI is stable across Node versions, so headers of another Node version build an
// addon this one loads (e.g. Node 24 from a bare binary package, with Debian's Node 20 headers).
const prefixes = [...new Set([dirname(dirname(process.execPath)), '/usr', '/usr/local'])];
const nodeDir = prefixes.find((p) => existsSync(join(p, 'include', 'node', 'node_api.h')));
if (nodeDir === undefined) {
  giveUp(`no Node.js headers (include/node/node_api.h) under ${prefixes.join(', ')} (Debian: apt-get install libnode-dev, or use an official Node build)`);
}
const probe = run('g++', ['-std=c++17', '-E', '-x', 'c++', '-', '-o', '/dev/null'], '#include <oneapi/dnnl/dnnl.hpp>\n');
if (!probe.ok) giveUp('oneDNN\'s headers (oneapi/dnnl/dnnl.hpp) are not installed (Debian: apt-get install libdnnl-dev)');

// 2. node-gyp from our devDependencies; configure only when the build tree is absent or was made for other headers.
let nodeGyp: string;
try {
  nodeGyp = createRequire(import.meta.url).resolve('node-gyp/bin/node-gyp.js');
} catch {
  giveUp('node-gyp is not installed (run `npm ci` first)');
}
const configured = join(ADDON_DIR, 'build', 'config.gypi');
const sameHeaders = existsSync(join(ADDON_DIR, 'build', 'Makefile')) && existsSync(configured) &&
  readFileSync(configured, 'utf8').includes(`"nodedir": "${nodeDir}"`);
const started = performance.now();
const gyp = run(process.execPath, [nodeGyp, sameHeaders ? 'build' : 'rebuild', `--nodedir=${nodeDir}`, '--jobs=max']);
if (!gyp.ok) {
  const errors = gyp.output.split('\n').filter((l) => !l.startsWith('gyp info')).slice(-40).join('\n');
  giveUp(`node-gyp failed:\n${errors}`);
}

// 3. The result must load and run: a build that links but cannot find libdnnl at run time is no build.
const addonPath = join(ADDON_DIR, 'build', 'Release', 'cifar_native.node');
const check = spawnSync(process.execPath, ['-e', `const a = require(${JSON.stringify(addonPath)}); const i = a.info(); console.log('oneDNN ' + i.onednn + ', ' + i.isa);`], { encoding: 'utf8' });
if (check.status !== 0) giveUp(`${addonPath} was built but does not load: ${(check.stderr || check.stdout).trim().split('\n')[0]}`);
console.log(`build:native: built ${addonPath} (${check.stdout.trim()}) in ${((performance.now() - started) / 1000).toFixed(1)} s`);
