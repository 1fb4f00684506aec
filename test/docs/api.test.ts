// docs/api.md (and README.md, for the spec table) carry tables generated from the CRD and
// operator/core/reasons.ts by hack/codegen/api-docs.ts. This test fails when they drift;
// regenerate them with: npm run generate
import t from 'tap';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DOC_SECTIONS, generatedSection, renderDocSections, withSections } from '../../hack/codegen/api-docs.js';
import { REPO_ROOT, rootSchema, schemaFields, subSchema } from '../helpers/crd.js';

const root = rootSchema();
const sections = renderDocSections(root);

t.test('the generated tables in docs/api.md and README.md match the CRD', async (t) => {
  for (const doc of DOC_SECTIONS) {
    const text = readFileSync(join(REPO_ROOT, doc.path), 'utf8');
    for (const name of doc.names) {
      t.equal(generatedSection(text, name), sections[name], `${doc.path}: the ${name} table is current (npm run generate regenerates it)`);
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

t.test('a document without the markers is an error naming it, not a silent skip', async (t) => {
  t.throws(() => withSections('no markers here', 'docs/x.md', sections, ['spec']), /docs\/x\.md: no <!-- BEGIN GENERATED spec -->/);
  const text = withSections('a\n<!-- BEGIN GENERATED spec -->\nold\n<!-- END GENERATED spec -->\nb', 'docs/x.md', { spec: 'new' }, ['spec']);
  t.equal(text, 'a\n<!-- BEGIN GENERATED spec -->\nnew\n<!-- END GENERATED spec -->\nb');
});
