import { getArray, getObject, getString, isObject, type JsonObject } from './json.js';
import type { Column, ResourceType } from './resource-registry.js';
import { parseSchema, type Schema } from './schema.js';
import type { FieldCause } from './status.js';
import { acceptSchema } from './crd-acceptance.js';
import { ageColumn, crdColumn } from './table.js';

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

interface VersionSpec {
  name: string;
  served: boolean;
  storage: boolean;
  schema?: Schema;
  statusSubresource: boolean;
  columns: Column[];
  raw: JsonObject;
}

function versions(crd: JsonObject): JsonObject[] {
  return (getArray(getObject(crd, 'spec'), 'versions') ?? []).filter(isObject);
}

function parseVersion(v: JsonObject, i: number, causes: FieldCause[]): VersionSpec {
  const path = `spec.versions[${i}]`;
  const name = getString(v, 'name') ?? '';
  if (!name) causes.push({ reason: 'FieldValueRequired', field: `${path}.name`, message: 'Required value' });
  const rawSchema = getObject(getObject(v, 'schema'), 'openAPIV3Schema');
  let schema: Schema | undefined;
  if (!rawSchema) causes.push({ reason: 'FieldValueRequired', field: `${path}.schema.openAPIV3Schema`, message: 'Required value: schemas are required' });
  else {
    const schemaPath = `${path}.schema.openAPIV3Schema`;
    const shapeCauses: FieldCause[] = [];
    schema = parseSchema(rawSchema, schemaPath, shapeCauses);
    causes.push(...shapeCauses);
    // apiextensions' acceptance checks need a schema that at least parsed.
    if (shapeCauses.length === 0) causes.push(...acceptSchema(schema, schemaPath, isObject(getObject(v, 'subresources')?.status)));
  }
  const printer = (getArray(v, 'additionalPrinterColumns') ?? []).filter(isObject);
  const columns: Column[] = [];
  printer.forEach((c, j) => {
    const col = crdColumn(c);
    if (!col) causes.push({ reason: 'FieldValueRequired', field: `${path}.additionalPrinterColumns[${j}]`, message: 'Required value: name and jsonPath are required' });
    else columns.push(col);
  });
  return {
    name,
    served: v.served === true,
    storage: v.storage === true,
    ...(schema ? { schema } : {}),
    statusSubresource: isObject(getObject(v, 'subresources')?.status),
    columns: printer.length === 0 ? [ageColumn] : columns,
    raw: v,
  };
}

/**
 * Checks a CustomResourceDefinition the way the real server does before serving it
 * (apiextensions-apiserver pkg/apis/apiextensions/validation/validation.go): names, scope,
 * versions, and each version's schema through crd-acceptance (structural rules, defaults
 * against their schema and rules, CEL compilation). On update, group and plural are immutable.
 */
export function validateCrd(crd: JsonObject, old?: JsonObject): FieldCause[] {
  const causes: FieldCause[] = [];
  const spec = getObject(crd, 'spec');
  const names = getObject(spec, 'names');
  const group = getString(spec, 'group');
  const plural = getString(names, 'plural');
  const kind = getString(names, 'kind');
  if (!group) causes.push({ reason: 'FieldValueRequired', field: 'spec.group', message: 'Required value' });
  else if (!group.includes('.')) causes.push({ reason: 'FieldValueInvalid', field: 'spec.group', message: `Invalid value: ${JSON.stringify(group)}: should be a domain with at least one dot` });
  if (!plural) causes.push({ reason: 'FieldValueRequired', field: 'spec.names.plural', message: 'Required value' });
  else if (!DNS_LABEL.test(plural)) causes.push({ reason: 'FieldValueInvalid', field: 'spec.names.plural', message: `Invalid value: ${JSON.stringify(plural)}: must be a lowercase DNS label` });
  if (!kind) causes.push({ reason: 'FieldValueRequired', field: 'spec.names.kind', message: 'Required value' });
  const name = getString(getObject(crd, 'metadata'), 'name') ?? '';
  if (group && plural && name !== `${plural}.${group}`) causes.push({ reason: 'FieldValueInvalid', field: 'metadata.name', message: `Invalid value: ${JSON.stringify(name)}: must be spec.names.plural+"."+spec.group` });
  const scope = getString(spec, 'scope');
  if (scope !== 'Namespaced' && scope !== 'Cluster') causes.push({ reason: 'FieldValueNotSupported', field: 'spec.scope', message: `Unsupported value: ${JSON.stringify(scope ?? '')}: supported values: "Cluster", "Namespaced"` });
  const vs = versions(crd);
  if (vs.length === 0) causes.push({ reason: 'FieldValueRequired', field: 'spec.versions', message: 'Required value: must have exactly one version marked as storage version' });
  const parsed = vs.map((v, i) => parseVersion(v, i, causes));
  if (vs.length > 0 && parsed.filter((v) => v.storage).length !== 1) causes.push({ reason: 'FieldValueInvalid', field: 'spec.versions', message: 'Invalid value: must have exactly one version marked as storage version' });
  if (old) {
    const oldSpec = getObject(old, 'spec');
    const immutable = (field: string, now: string | undefined, before: string | undefined) => {
      if (now !== before) causes.push({ reason: 'FieldValueInvalid', field, message: `Invalid value: ${JSON.stringify(now ?? '')}: field is immutable` });
    };
    immutable('spec.group', group, getString(oldSpec, 'group'));
    immutable('spec.names.plural', plural, getString(getObject(oldSpec, 'names'), 'plural'));
    immutable('spec.scope', scope, getString(oldSpec, 'scope'));
    immutable('spec.names.kind', kind, getString(getObject(oldSpec, 'names'), 'kind'));
  }
  return causes;
}

/** The schema served in OpenAPI: the CRD's own, plus the fields every object has. */
function servedSchema(schema: Schema | undefined, group: string, version: string, kind: string): JsonObject {
  const base: JsonObject = schema ? structuredClone(schema.source) : { type: 'object', 'x-kubernetes-preserve-unknown-fields': true };
  const props = isObject(base.properties) ? base.properties : {};
  props.apiVersion ??= { type: 'string', description: 'APIVersion defines the versioned schema of this representation of an object.' };
  props.kind ??= { type: 'string', description: 'Kind is a string value representing the REST resource this object represents.' };
  props.metadata = { type: 'object', 'x-kubernetes-preserve-unknown-fields': true };
  base.properties = props;
  base['x-kubernetes-group-version-kind'] = [{ group, version, kind }];
  return base;
}

/** One ResourceType per served version of a valid CRD. */
export function typesFromCrd(crd: JsonObject): ResourceType[] {
  const spec = getObject(crd, 'spec') ?? {};
  const names = getObject(spec, 'names') ?? {};
  const group = getString(spec, 'group') ?? '';
  const kind = getString(names, 'kind') ?? '';
  const ignored: FieldCause[] = [];
  return versions(crd)
    .map((v, i) => parseVersion(v, i, ignored))
    .filter((v) => v.served)
    .map((v) => ({
      group,
      version: v.name,
      kind,
      listKind: getString(names, 'listKind') ?? `${kind}List`,
      plural: getString(names, 'plural') ?? '',
      singular: getString(names, 'singular') ?? kind.toLowerCase(),
      namespaced: getString(spec, 'scope') === 'Namespaced',
      shortNames: (getArray(names, 'shortNames') ?? []).filter((s): s is string => typeof s === 'string'),
      categories: (getArray(names, 'categories') ?? []).filter((s): s is string => typeof s === 'string'),
      statusSubresource: v.statusSubresource,
      custom: true,
      ...(v.schema ? { schema: v.schema } : {}),
      openapiSchema: servedSchema(v.schema, group, v.name, kind),
      columns: v.columns,
      fieldSelectors: [],
    }));
}

/** Defaults and the status the real server reports once a CRD is served. */
export function crdDefaults(crd: JsonObject): void {
  const spec = getObject(crd, 'spec');
  const names = getObject(spec, 'names');
  if (!spec || !names) return;
  const kind = getString(names, 'kind') ?? '';
  names.singular ??= kind.toLowerCase();
  names.listKind ??= `${kind}List`;
  for (const v of versions(crd)) v.served ??= true;
  const now = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
  const condition = (type: string, reason: string, message: string): JsonObject => ({ type, status: 'True', lastTransitionTime: now, reason, message });
  crd.status = {
    conditions: [condition('NamesAccepted', 'NoConflicts', 'no conflicts found'), condition('Established', 'InitialNamesAccepted', 'the initial names have been accepted')],
    acceptedNames: structuredClone(names),
    storedVersions: versions(crd)
      .filter((v) => v.storage === true)
      .map((v) => getString(v, 'name') ?? ''),
  };
}

export function crdResourceType(): ResourceType {
  return {
    group: 'apiextensions.k8s.io',
    version: 'v1',
    kind: 'CustomResourceDefinition',
    listKind: 'CustomResourceDefinitionList',
    plural: 'customresourcedefinitions',
    singular: 'customresourcedefinition',
    namespaced: false,
    shortNames: ['crd', 'crds'],
    categories: ['api-extensions'],
    statusSubresource: true,
    custom: false,
    columns: [{ name: 'Created At', type: 'date', format: '', description: 'creation time', priority: 0, cell: (o) => getString(getObject(o, 'metadata'), 'creationTimestamp') ?? null }],
    fieldSelectors: [],
    defaulter: crdDefaults,
    validator: (crd: JsonObject, old?: JsonObject) => validateCrd(crd, old),
  };
}
