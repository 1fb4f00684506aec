import t from 'tap';
import { cpSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CHART_CRD_PATH, derivedFiles } from '../../../hack/codegen/outputs.js';
import { GENERATED_PATH } from '../../../hack/codegen/api-types.js';
import { REPO_ROOT } from '../../../hack/codegen/crd.js';

t.test('every file derived from the CRD is current (run npm run generate)', async (t) => {
  const files = derivedFiles();
  t.same(files.map((f) => f.path), [GENERATED_PATH, CHART_CRD_PATH, 'docs/api.md', 'README.md']);
  for (const { path, text } of files) t.ok(readFileSync(join(REPO_ROOT, path), 'utf8') === text, `${path} is stale: run npm run generate`);
});

t.test('a description edited in the CRD alone changes the types, the chart copy and the docs', async (t) => {
  // A copy of the inputs, so the edit does not touch the checkout.
  const root = t.testdir();
  for (const path of ['crds/cifartrainingjobs.yaml', 'docs/api.md', 'README.md']) {
    mkdirSync(join(root, path, '..'), { recursive: true });
    cpSync(join(REPO_ROOT, path), join(root, path));
  }
  const crdPath = join(root, 'crds/cifartrainingjobs.yaml');
  const crd = readFileSync(crdPath, 'utf8');
  const before = 'description: Port rank 0 listens on for rendezvous.';
  t.ok(crd.includes(before), 'the CRD has the description this test edits');
  writeFileSync(crdPath, crd.replace(before, 'description: Port rank 0 listens on for rendezvous (edited).'));
  const changed = derivedFiles(root).filter((f) => f.text.includes('rendezvous (edited)')).map((f) => f.path);
  t.same(changed, [GENERATED_PATH, CHART_CRD_PATH, 'docs/api.md', 'README.md']);
});
