/**
 * Every file derived from the CRD, with the text it should have: the API's TypeScript, the
 * chart's copy of the CRD, and the generated sections of docs/api.md and README.md.
 * `npm run generate` writes them; test/hack/codegen/outputs.test.ts checks they are current.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DOC_SECTIONS, renderDocSections, withSections } from './api-docs.js';
import { GENERATED_PATH, renderApiModule } from './api-types.js';
import { REPO_ROOT, parseCrd, rootSchema } from './crd.js';

export const CHART_CRD_PATH = 'charts/cifar-operator/crds/cifartrainingjobs.yaml';

export interface DerivedFile {
  /** Relative to the repository root. */
  path: string;
  text: string;
}

/** What each derived file should hold, given the repository as it is under `root`. */
export function derivedFiles(root = REPO_ROOT): DerivedFile[] {
  const crdText = readFileSync(join(root, 'crds', 'cifartrainingjobs.yaml'), 'utf8');
  const crd = parseCrd(crdText, 'crds/cifartrainingjobs.yaml');
  const sections = renderDocSections(rootSchema(crd));
  return [
    { path: GENERATED_PATH, text: renderApiModule(crd) },
    // Helm installs only what is inside the chart, so the chart carries a byte-for-byte copy.
    { path: CHART_CRD_PATH, text: crdText },
    ...DOC_SECTIONS.map((doc) => ({ path: doc.path, text: withSections(readFileSync(join(root, doc.path), 'utf8'), doc.path, sections, doc.names) })),
  ];
}
