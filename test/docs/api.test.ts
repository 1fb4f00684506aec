// docs/api.md (and README.md, for the spec table) carry tables generated from the CRD and operator/core/reasons.ts. This test fails when they drift;
// regenerate them with: UPDATE_API_DOCS=1 npx tap test/docs/api.test.ts
import t from 'tap';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT, renderFieldTable, renderRuleTable, rootSchema, schemaFields, subSchema } from '../helpers/crd.js';
import { renderReasonTable } from '../../operator/core/reasons.js';

/** Each document and the generated sections it carries. */
const DOCS: Array<{ path: string; names: string[] }> = [
  { path: join(REPO_ROOT, 'docs', 'api.md'), names: ['spec', 'rules', 'status', 'reasons'] },
  { path: join(REPO_ROOT, 'README.md'), names: ['spec'] },
];
const root = rootSchema();

const sections: Record<string, string> = {
  spec: renderFieldTable(subSchema(root, 'spec')),
  rules: renderRuleTable(subSchema(root, 'spec')),
  status: renderFieldTable(subSchema(root, 'status')),
  reasons: renderReasonTable(),
};

function generatedSection(text: string, name: string): string | undefined {
  const m = new RegExp(`<!-- BEGIN GENERATED ${name} -->\\n([\\s\\S]*?)<!-- END GENERATED ${name} -->`).exec(text);
  return m?.[1].replace(/\n$/, '');
}

function replaceSection(text: string, name: string, body: string): string {
  const section = new RegExp(`(<!-- BEGIN GENERATED ${name} -->\\n)[\\s\\S]*?(<!-- END GENERATED ${name} -->)`);
  return text.replace(section, (_match, begin: string, end: string) => `${begin}${body}\n${end}`);
}

if (process.env.UPDATE_API_DOCS === '1') {
  for (const doc of DOCS) {
    let text = readFileSync(doc.path, 'utf8');
    for (const name of doc.names) text = replaceSection(text, name, sections[name]);
    writeFileSync(doc.path, text);
  }
}

t.test('the generated tables in docs/api.md and README.md match the CRD', async (t) => {
  for (const doc of DOCS) {
    const text = readFileSync(doc.path, 'utf8');
    for (const name of doc.names) {
      t.equal(generatedSection(text, name), sections[name], `${doc.path}: the ${name} table is current (UPDATE_API_DOCS=1 npx tap test/docs/api.test.ts regenerates it)`);
    }
  }
});

t.test('the spec table has a row per schema field, defaults included', async (t) => {
  const spec = subSchema(root, 'spec');
  const rows = sections.spec.split('\n').slice(2);
  t.equal(rows.length, schemaFields(spec).length);
  t.ok(rows.some((r) => r.startsWith('| `hyperparameters.learningRate` |') && r.includes('`0.05`')), 'learningRate row shows its default');
  t.ok(rows.some((r) => r.startsWith('| `model` |') && r.includes('required')), 'model row says required');
  t.ok(rows.some((r) => r.startsWith('| `image` |') && !r.includes('required')), 'image row does not: the operator has a default');
});
