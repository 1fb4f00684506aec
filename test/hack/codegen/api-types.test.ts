import t from 'tap';
import { renderApiModule } from '../../../hack/codegen/api-types.js';
import { loadCrd, rootSchema, type Crd, type SchemaNode } from '../../../hack/codegen/crd.js';

/** A copy of the CRD with `edit` applied to its spec schema. */
function editedCrd(edit: (spec: SchemaNode) => void): Crd {
  const crd = structuredClone(loadCrd());
  const spec = rootSchema(crd).properties?.spec;
  if (spec === undefined) throw new Error('the CRD has no spec schema');
  edit(spec);
  return crd;
}

t.test('a field added to the CRD alone reaches the types, their docs, the defaulted type and the defaults', async (t) => {
  const crd = editedCrd((spec) => {
    const hp = spec.properties?.hyperparameters;
    if (hp?.properties === undefined) throw new Error('no spec.hyperparameters');
    hp.properties.dropout = { type: 'number', default: 0.25, description: 'Dropout rate before the classifier.' };
    spec.properties = { ...spec.properties, monitoring: { type: 'object', description: 'Extra telemetry.', properties: { tracing: { type: 'boolean', description: 'Emit spans.' } } } };
  });
  const text = renderApiModule(crd);
  t.match(text, /\/\*\*\n {3}\* Dropout rate before the classifier\.\n {3}\* Default: `0\.25`\.\n {3}\*\/\n {2}dropout\?: number;/, 'optional field with its description and default');
  t.match(text, /export interface DefaultedHyperparametersSpec extends HyperparametersSpec \{[^}]*\n {2}dropout: number;/, 'present after defaulting');
  t.match(text, /hyperparameters: \{\n\s+default: \{\},\n\s+properties: \{[^]*dropout: \{ default: 0\.25 \},/, 'in SPEC_DEFAULTS');
  t.match(text, /monitoring\?: MonitoringSpec;/, 'a new block gets a type named from its path');
  t.match(text, /export interface MonitoringSpec \{\n[^}]*tracing\?: boolean;/);
  t.notMatch(renderApiModule(loadCrd()), /dropout|MonitoringSpec/, 'the unedited CRD has neither (the edit made the difference)');
});

t.test('required fields are required, enums become unions, maps become records', async (t) => {
  const text = renderApiModule(loadCrd());
  t.match(text, /export interface ModelSpec \{[^}]*\n {2}architecture: Architecture;/);
  t.match(text, /export type Architecture = 'lenet' \| 'resnet' \| 'resnext';/);
  t.match(text, /nodeSelector\?: Record<string, string>;/);
  t.match(text, /requests\?: Record<string, Quantity>;/);
  t.match(text, /tolerations\?: Toleration\[\];/, 'Kubernetes types stay the Kubernetes types');
  t.match(text, /export type TrainingProgress = Partial<ProgressDocument>;/, 'status.progress is the contract document');
});

t.test('a schema the generator cannot type is an error naming the field', async (t) => {
  const crd = editedCrd((spec) => {
    spec.properties = { ...spec.properties, odd: { description: 'no type at all' } };
  });
  t.throws(() => renderApiModule(crd), /spec\.odd: no TypeScript type for schema type undefined/);
  const clash = editedCrd((spec) => {
    // spec.model and spec.data.model would both derive the name ModelSpec.
    const data = spec.properties?.data;
    if (data?.properties === undefined) throw new Error('no spec.data');
    data.properties.model = { type: 'object', description: 'clash', properties: { x: { type: 'string', description: 'x' } } };
  });
  t.throws(() => renderApiModule(clash), /spec\.data\.model: type name ModelSpec is already used by spec\.model/);
});
