import t from 'tap';
import { join } from 'node:path';
import ts from 'typescript';
import { withDefaults } from '../../operator/api/defaults.js';
import type { CifarTrainingJobSpec } from '../../operator/api/types.js';
import { API_GROUP, API_VERSION_NAME, KIND } from '../../operator/api/types.js';
import { REPO_ROOT, applySchemaDefaults, loadCrd, rootSchema, schemaFields, subSchema, type SchemaNode } from '../helpers/crd.js';

const crd = loadCrd();
const root = rootSchema(crd);

t.test('the CRD names the API the operator implements', async (t) => {
  t.equal(crd.apiVersion, 'apiextensions.k8s.io/v1');
  t.equal(crd.metadata.name, `cifartrainingjobs.${API_GROUP}`);
  t.equal(crd.spec.group, API_GROUP);
  t.equal(crd.spec.scope, 'Namespaced');
  t.same(crd.spec.names, {
    kind: KIND,
    listKind: `${KIND}List`,
    plural: 'cifartrainingjobs',
    singular: 'cifartrainingjob',
    shortNames: ['ctj'],
    categories: ['ml'],
  });
  t.equal(crd.spec.versions.length, 1);
  const version = crd.spec.versions[0];
  t.equal(version.name, API_VERSION_NAME);
  t.ok(version.served && version.storage, 'served and storage');
  t.same(version.subresources, { status: {} }, 'status subresource, so spec writers cannot set status');
  t.same(
    version.additionalPrinterColumns?.map((c) => [c.name, c.jsonPath]),
    [
      ['Phase', '.status.phase'],
      ['Pods', '.status.conditions[?(@.type=="PodsReady")].reason'],
      ['Replicas', '.spec.replicas'],
      ['Epoch', '.status.progress.epoch'],
      ['Val-Acc', '.status.progress.validationAccuracy'],
      ['Restarts', '.status.restarts'],
      ['Age', '.metadata.creationTimestamp'],
    ],
  );
});

// Defaults valid for their schema and rules: checked with the API server's own CRD acceptance
// in test/crds/validation.test.ts.
t.test('the schema is structural and documented', async (t) => {
  for (const part of ['spec', 'status'] as const) {
    for (const f of schemaFields(subSchema(root, part))) {
      const where = `${part}.${f.path}`;
      const typed = f.node.type !== undefined || f.node['x-kubernetes-int-or-string'] === true;
      t.ok(typed, `${where} has a type`);
      t.ok((f.node.description ?? '').length > 10, `${where} has a description`);
      if (f.node.type === 'object') {
        const shaped = f.node.properties !== undefined || f.node.additionalProperties !== undefined || f.node['x-kubernetes-preserve-unknown-fields'] === true;
        t.ok(shaped, `${where} says what it holds`);
      }
      if (f.node.type === 'array') t.ok(f.node.items?.type !== undefined, `${where} items have a type`);
    }
  }
  const conditions = subSchema(root, 'status').properties?.conditions as SchemaNode;
  t.equal(conditions['x-kubernetes-list-type'], 'map');
  t.same(conditions['x-kubernetes-list-map-keys'], ['type']);
  const s3Fields = schemaFields(subSchema(root, 'spec')).filter((f) => f.path.startsWith('s3.')).map((f) => f.path);
  t.notOk(s3Fields.some((p) => /secretAccessKey$|accessKeyId$|password|token/i.test(p)), 'no field takes an inline credential');
});

// ---- TS types vs schema: read operator/api/types.ts with the TypeScript compiler.

interface TsField {
  optional: boolean;
  /** String literal members when the type is a union of string literals. */
  literals?: string[];
}

function tsFields(): { spec: Map<string, TsField>; status: Map<string, TsField> } {
  const file = join(REPO_ROOT, 'operator', 'api', 'types.ts');
  const program = ts.createProgram([file], { strict: true, module: ts.ModuleKind.NodeNext, moduleResolution: ts.ModuleResolutionKind.NodeNext, noEmit: true });
  const checker = program.getTypeChecker();
  const source = program.getSourceFile(file);
  if (source === undefined) throw new Error(`${file}: not loaded`);
  const moduleSymbol = checker.getSymbolAtLocation(source);
  if (moduleSymbol === undefined) throw new Error(`${file}: no module symbol`);
  const exports = checker.getExportsOfModule(moduleSymbol);
  const typeOf = (name: string): ts.Type => {
    const symbol = exports.find((s) => s.name === name);
    if (symbol === undefined) throw new Error(`${file}: ${name} is not exported`);
    // types.ts re-exports the generated module: follow the re-export to the declaration.
    const declared = (symbol.flags & ts.SymbolFlags.Alias) !== 0 ? checker.getAliasedSymbol(symbol) : symbol;
    return checker.getDeclaredTypeOfSymbol(declared);
  };

  const walk = (type: ts.Type, prefix: string, out: Map<string, TsField>): void => {
    for (const prop of checker.getPropertiesOfType(type)) {
      const path = prefix === '' ? prop.name : `${prefix}.${prop.name}`;
      const propType = checker.getNonNullableType(checker.getTypeOfSymbol(prop));
      const field: TsField = { optional: (prop.flags & ts.SymbolFlags.Optional) !== 0 };
      if (propType.isUnion() && propType.types.every((m) => m.isStringLiteral())) {
        field.literals = propType.types.map((m) => (m as ts.StringLiteralType).value).sort();
      }
      out.set(path, field);
      if (checker.isArrayType(propType)) {
        const [element] = checker.getTypeArguments(propType as ts.TypeReference);
        if (element !== undefined && isStruct(element)) walk(element, `${path}[]`, out);
      } else if (isStruct(propType)) {
        walk(propType, path, out);
      }
    }
  };
  // Objects with named properties are walked; maps (index signatures) and primitives are leaves.
  const isStruct = (type: ts.Type): boolean =>
    (type.flags & ts.TypeFlags.Object) !== 0 && checker.getIndexInfosOfType(type).length === 0 && checker.getPropertiesOfType(type).length > 0;

  const spec = new Map<string, TsField>();
  const status = new Map<string, TsField>();
  walk(typeOf('CifarTrainingJobSpec'), '', spec);
  walk(typeOf('CifarTrainingJobStatus'), '', status);
  return { spec, status };
}

const fromTs = tsFields();

for (const part of ['spec', 'status'] as const) {
  t.test(`${part}: every schema field has a TS field and vice versa, with matching enums and required markers`, async (t) => {
    const schema = new Map(schemaFields(subSchema(root, part)).map((f) => [f.path, f]));
    const types = fromTs[part];
    t.same([...types.keys()].filter((p) => !schema.has(p)), [], `fields in types.ts but not in the CRD ${part}`);
    t.same([...schema.keys()].filter((p) => !types.has(p)), [], `fields in the CRD ${part} but not in types.ts`);
    for (const [path, f] of schema) {
      const field = types.get(path);
      if (field === undefined) continue;
      t.equal(field.optional, !f.required, `${part}.${path}: optional in TS exactly when not required in the schema`);
      if (f.node.enum !== undefined) t.same(field.literals, f.node.enum.map(String).sort(), `${part}.${path}: enum matches the TS union`);
    }
  });
}

t.test('the walk really sees the types (a guard against an empty comparison)', async (t) => {
  t.ok(fromTs.spec.has('hyperparameters.schedule.stepEpochs'));
  t.ok(fromTs.spec.has('tolerations[].effect'));
  t.same(fromTs.spec.get('runPolicy.cleanPodPolicy')?.literals, ['All', 'None', 'Running']);
  t.ok(fromTs.status.has('progress.validationAccuracy'));
  t.ok(fromTs.spec.size > 60, `spec has ${fromTs.spec.size} fields`);
});

// ---- defaults.ts vs every `default:` in the schema.

const minimalSpec: CifarTrainingJobSpec = {
  image: 'trainer:1',
  model: { architecture: 'resnet' },
  data: { train: 's3://b/train.rec' },
};

/** Every optional block present but empty of defaulted fields, so every nested default applies. */
const blocksSpec: CifarTrainingJobSpec = {
  ...minimalSpec,
  pretrained: { uri: 's3://b/model/' },
  hyperparameters: { schedule: {} },
  checkpoint: {},
  s3: { credentialsSecretRef: { name: 'creds' } },
  runPolicy: {},
};

const customSpec: CifarTrainingJobSpec = {
  ...blocksSpec,
  replicas: 3,
  gpusPerReplica: 2,
  backend: 'tensorflow',
  hyperparameters: { batchSize: 64, epochs: 5, schedule: { type: 'cosine', warmupEpochs: 1 } },
  runPolicy: { backoffLimit: 0, cleanPodPolicy: 'All', suspend: true },
  s3: { endpoint: 'http://minio:9000', credentialsSecretRef: { name: 'creds', accessKeyIdKey: 'id' } },
};

t.test('withDefaults applies exactly what the API server would', async (t) => {
  const spec = subSchema(root, 'spec');
  for (const [name, input] of [['minimal', minimalSpec], ['every block present', blocksSpec], ['values set', customSpec]] as const) {
    t.same(withDefaults(input), applySchemaDefaults(spec, input), name);
    t.strictSame(JSON.parse(JSON.stringify(withDefaults(input))), applySchemaDefaults(spec, JSON.parse(JSON.stringify(input))), `${name} (strict)`);
  }
  t.notOk('pretrained' in withDefaults(minimalSpec), 'an absent block stays absent');
});

t.test('every schema default is exercised by the comparison above', async (t) => {
  const defaulted = withDefaults(blocksSpec) as unknown as Record<string, unknown>;
  for (const f of schemaFields(subSchema(root, 'spec'))) {
    // `default: {}` on a block only makes its children's defaults apply; those are checked one by one.
    if (f.node.default === undefined || f.node.type === 'object' || f.path.includes('[]')) continue;
    const value = f.path.split('.').reduce<unknown>((v, k) => (v as Record<string, unknown> | undefined)?.[k], defaulted);
    t.same(value, f.node.default, `spec.${f.path} defaults to ${JSON.stringify(f.node.default)}`);
  }
});

t.test('withDefaults does not modify its input', async (t) => {
  const input = structuredClone(blocksSpec);
  withDefaults(input);
  t.same(input, blocksSpec);
});
