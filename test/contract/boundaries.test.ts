import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import t from 'tap';
import { repoRoot } from '../helpers/datasets.js';

// The operator and the trainer meet only in contract/ (exit codes, environment names,
// errors, the progress document): neither imports the other's code. Inside the operator,
// the generic controller machinery (operator/runtime/) does not import the job logic.

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (name === 'node_modules' || name === 'build') return [];
    if (statSync(path).isDirectory()) return sources(path);
    return name.endsWith('.ts') ? [path] : [];
  });
}

function crossings(from: string, forbidden: string): string[] {
  const importRe = /(?:import|export)\s[^;]*?from\s+'([^']+)'|import\(\s*'([^']+)'\s*\)/g;
  return sources(join(repoRoot, from)).flatMap((file) => {
    const text = readFileSync(file, 'utf8');
    return [...text.matchAll(importRe)]
      .map((m) => m[1] ?? m[2])
      .filter((spec) => spec.startsWith('.') && relative(repoRoot, join(file, '..', spec)).startsWith(`${forbidden}/`))
      .map((spec) => `${relative(repoRoot, file)} imports ${spec}`);
  });
}

t.test('operator/ and trainer/ import each other only through contract/', async (t) => {
  t.same(crossings('operator', 'trainer'), [], 'nothing in operator/ imports trainer/');
  t.same(crossings('trainer', 'operator'), [], 'nothing in trainer/ imports operator/');
  t.same(crossings('contract', 'operator').concat(crossings('contract', 'trainer')), [], 'contract/ depends on neither');
});

t.test('operator/runtime/ is generic machinery: it imports nothing about CifarTrainingJobs', async (t) => {
  t.same(crossings('operator/runtime', 'operator/controller'), [], 'nothing from operator/controller/');
  t.same(crossings('operator/runtime', 'operator/core'), [], 'nothing from operator/core/');
  const jobTypes = crossings('operator/runtime', 'operator/api').filter((line) => !line.endsWith('/api/k8s-types.js'));
  t.same(jobTypes, [], 'from operator/api/ only the Kubernetes wire types');
});

t.test('the boundary check sees an import that crosses', async (t) => {
  // The same scan over hack/, which legitimately imports both: proves the scan finds imports.
  t.ok(crossings('hack', 'trainer').length > 0, 'hack/ imports trainer/');
  t.ok(crossings('hack', 'operator').length > 0, 'hack/ imports operator/');
});
