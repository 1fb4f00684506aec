/**
 * Renders the CifarTrainingJob API's TypeScript from the CRD, so a field is added in one
 * hand-written place (crds/cifartrainingjobs.yaml) and the types, their doc comments, the
 * "defaulted" types and the defaults table follow. The direction is CRD to TypeScript
 * because the CRD holds what TypeScript cannot: CEL rules, bounds and printer columns.
 *
 * Pure: CRD in, file text out. main.ts writes it (see outputs.ts).
 */
import { isRecord, storageVersion, type Crd, type SchemaNode } from './crd.js';

/** How schema nodes map to TypeScript where the path alone does not say it. */
export interface TypeMapping {
  /** Interface names by schema path, where the derived name (`spec.model` → ModelSpec) reads badly. */
  names: Readonly<Record<string, string>>;
  /** Enums that get a named union type, by schema path; other enums stay inline. */
  enums: Readonly<Record<string, string>>;
  /** Nodes typed by an existing type (Kubernetes or the contract), by schema path. */
  external: Readonly<Record<string, string>>;
  /** Named aliases for external types, emitted with the node's description. */
  aliases: Readonly<Record<string, { name: string; type: string }>>;
  /** The TypeScript type of an `x-kubernetes-int-or-string` node. */
  intOrString: string;
  /** Import lines the external types need. */
  imports: readonly string[];
}

/** The mapping for crds/cifartrainingjobs.yaml. */
export const CIFAR_TRAINING_JOB_MAPPING: TypeMapping = {
  names: {
    spec: 'CifarTrainingJobSpec',
    status: 'CifarTrainingJobStatus',
    'spec.resources': 'ReplicaResources',
    'spec.s3.credentialsSecretRef': 'CredentialsSecretRef',
    'status.replicaStatuses': 'ReplicaStatuses',
    'status.lastFailure': 'FailureRecord',
  },
  enums: {
    'spec.backend': 'Backend',
    'spec.model.architecture': 'Architecture',
    'spec.data.format': 'DataFormat',
    'spec.hyperparameters.schedule.type': 'ScheduleType',
    'spec.runPolicy.cleanPodPolicy': 'CleanPodPolicy',
    'spec.runPolicy.schedulingPolicy.gangScheduler': 'GangScheduler',
    'status.phase': 'JobPhase',
  },
  external: {
    metadata: 'ObjectMeta',
    'spec.imagePullPolicy': 'PullPolicy',
    'spec.tolerations[]': 'Toleration',
    'spec.affinity': 'Affinity',
    'spec.volumes[]': 'Volume',
    'spec.volumeMounts[]': 'VolumeMount',
    'status.conditions[]': 'Condition',
  },
  aliases: {
    // The trainer's progress document is defined once, in the contract; the CRD lists its fields
    // for validation and printer columns, and a test keeps the two in step.
    'status.progress': { name: 'TrainingProgress', type: 'Partial<ProgressDocument>' },
  },
  intOrString: 'Quantity',
  imports: [
    "import type { ProgressDocument } from '../../../contract/progress.js';",
    "import type { Affinity, Condition, ObjectMeta, PullPolicy, Quantity, Toleration, Volume, VolumeMount } from '../k8s-types.js';",
  ],
};

interface Declaration {
  name: string;
  text: string;
}

/** One rendering pass: declarations in the order they are first met. */
class Renderer {
  private readonly declarations: Declaration[] = [];
  private readonly owners = new Map<string, string>();

  constructor(private readonly mapping: TypeMapping) {}

  text(): string {
    return this.declarations.map((d) => d.text).join('\n\n');
  }

  /** The TypeScript type of `node` at `path`; `defaulted` picks the after-defaulting variant. */
  typeOf(node: SchemaNode, path: string, defaulted: boolean): string {
    const external = this.mapping.external[path];
    if (external !== undefined) return external;
    const alias = this.mapping.aliases[path];
    if (alias !== undefined) return this.declare(alias.name, path, () => `${docComment(node, '')}export type ${alias.name} = ${alias.type};`);
    if (node.enum !== undefined) return this.enumType(node, path);
    if (node['x-kubernetes-int-or-string'] === true) return this.mapping.intOrString;
    switch (node.type) {
      case 'string':
        return 'string';
      case 'integer':
      case 'number':
        return 'number';
      case 'boolean':
        return 'boolean';
      case 'array':
        if (node.items === undefined) throw new Error(`${path}: an array without items`);
        return `${parenthesised(this.typeOf(node.items, `${path}[]`, defaulted))}[]`;
      case 'object':
        return this.objectType(node, path, defaulted);
      default:
        throw new Error(`${path}: no TypeScript type for schema type ${String(node.type)}`);
    }
  }

  private enumType(node: SchemaNode, path: string): string {
    const union = (node.enum ?? []).map(literal).join(' | ');
    const name = this.mapping.enums[path];
    if (name === undefined) return union;
    return this.declare(name, path, () => `${docComment(node, '')}export type ${name} = ${union};`);
  }

  private objectType(node: SchemaNode, path: string, defaulted: boolean): string {
    if (node.properties !== undefined) {
      const name = this.mapping.names[path] ?? derivedName(path);
      this.declare(name, path, () => this.interfaceText(name, node, path));
      if (defaulted && hasDefaults(node)) return this.declare(`Defaulted${name}`, path, () => this.defaultedText(name, node, path));
      return name;
    }
    if (isRecord(node.additionalProperties)) return `Record<string, ${this.typeOf(node.additionalProperties, `${path}{}`, defaulted)}>`;
    if (node['x-kubernetes-preserve-unknown-fields'] === true) return 'Record<string, unknown>';
    throw new Error(`${path}: an object with neither properties nor additionalProperties`);
  }

  /** Registers a declaration once; a second path wanting the same name is an error naming both. */
  private declare(name: string, path: string, render: () => string): string {
    const owner = this.owners.get(name);
    if (owner === path) return name;
    if (owner !== undefined) throw new Error(`${path}: type name ${name} is already used by ${owner}; name one of them in the mapping`);
    this.owners.set(name, path);
    const slot: Declaration = { name, text: '' };
    this.declarations.push(slot);
    slot.text = render();
    return name;
  }

  private interfaceText(name: string, node: SchemaNode, path: string): string {
    const fields = Object.entries(node.properties ?? {}).map(([key, child]) => {
      const optional = node.required?.includes(key) === true ? '' : '?';
      return `${docComment(child, '  ')}  ${key}${optional}: ${this.typeOf(child, childPath(path, key), false)};`;
    });
    return `${docComment(node, '')}export interface ${name} {\n${fields.join('\n')}\n}`;
  }

  /** The type after defaulting: fields with a default are present, nested blocks defaulted. */
  private defaultedText(name: string, node: SchemaNode, path: string): string {
    const fields: string[] = [];
    for (const [key, child] of Object.entries(node.properties ?? {})) {
      const hasDefault = child.default !== undefined;
      if (!hasDefault && !hasDefaults(child) && !hasDefaults(child.items ?? {})) continue;
      const optional = hasDefault || node.required?.includes(key) === true ? '' : '?';
      fields.push(`  ${key}${optional}: ${this.typeOf(child, childPath(path, key), true)};`);
    }
    return `/** ${name} after the API server's defaulting: every field with a default is set. */\nexport interface Defaulted${name} extends ${name} {\n${fields.join('\n')}\n}`;
  }
}

/** A JSON value as a TypeScript literal in the project's style (single-quoted strings). */
function literal(value: unknown): string {
  if (typeof value === 'string') return `'${value.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
  if (Array.isArray(value)) return `[${value.map(literal).join(', ')}]`;
  if (isRecord(value)) {
    const entries = Object.entries(value).map(([k, v]) => `${/^[A-Za-z_$][\w$]*$/.test(k) ? k : literal(k)}: ${literal(v)}`);
    return entries.length === 0 ? '{}' : `{ ${entries.join(', ')} }`;
  }
  return JSON.stringify(value);
}

function childPath(path: string, key: string): string {
  return path === '' ? key : `${path}.${key}`;
}

/** `spec.hyperparameters.schedule` → ScheduleSpec; under status → …Status. */
function derivedName(path: string): string {
  const last = path.split('.').pop()?.replace(/\[\]$/, '') ?? path;
  const suffix = path.startsWith('status') ? 'Status' : 'Spec';
  return `${last.charAt(0).toUpperCase()}${last.slice(1)}${suffix}`;
}

function parenthesised(type: string): string {
  return type.includes(' ') ? `(${type})` : type;
}

/** True when defaulting can change a value of this node: a default here or below. */
function hasDefaults(node: SchemaNode): boolean {
  return Object.values(node.properties ?? {}).some((c) => c.default !== undefined || hasDefaults(c) || hasDefaults(c.items ?? {}));
}

function docComment(node: SchemaNode, indent: string): string {
  const lines = (node.description ?? '').split('\n').map((l) => l.trimEnd());
  while (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
  if (node.default !== undefined) lines.push(`Default: \`${JSON.stringify(node.default)}\`.`);
  if (lines.length === 0) return '';
  const body = lines.map((l) => `${indent} *${l === '' ? '' : ` ${l.replace(/\*\//g, '*\\/')}`}`).join('\n');
  return `${indent}/**\n${body}\n${indent} */\n`;
}

/** The `default:` values below `node`, pruned to branches that hold one, as a TS literal. */
function defaultsTree(node: SchemaNode, indent: string): string | undefined {
  const parts: string[] = [];
  if (node.default !== undefined) parts.push(`default: ${literal(node.default)}`);
  const props = Object.entries(node.properties ?? {})
    .map(([key, child]) => [key, defaultsTree(child, `${indent}    `)] as const)
    .filter((entry): entry is readonly [string, string] => entry[1] !== undefined);
  if (props.length > 0) parts.push(`properties: {\n${props.map(([k, v]) => `${indent}    ${k}: ${v},`).join('\n')}\n${indent}  }`);
  const items = node.items === undefined ? undefined : defaultsTree(node.items, `${indent}  `);
  if (items !== undefined) parts.push(`items: ${items}`);
  if (parts.length === 0) return undefined;
  if (parts.length === 1 && node.default !== undefined) return `{ ${parts[0]} }`;
  return `{\n${parts.map((p) => `${indent}  ${p},`).join('\n')}\n${indent}}`;
}

export const GENERATED_PATH = 'operator/api/generated/cifartrainingjob.ts';

/** The whole generated module for `crd`. */
export function renderApiModule(crd: Crd, mapping: TypeMapping = CIFAR_TRAINING_JOB_MAPPING): string {
  const version = storageVersion(crd);
  const root = version.schema.openAPIV3Schema;
  const spec = root.properties?.spec;
  const status = root.properties?.status;
  if (spec === undefined || status === undefined) throw new Error(`${crd.metadata.name}: the schema needs spec and status`);
  const renderer = new Renderer(mapping);
  renderer.typeOf(spec, 'spec', false);
  renderer.typeOf(status, 'status', false);
  const defaultedSpec = renderer.typeOf(spec, 'spec', true);
  const metadata = mapping.external.metadata ?? 'Record<string, unknown>';
  const header = [
    '// Code generated by hack/codegen/main.ts from crds/cifartrainingjobs.yaml. DO NOT EDIT.',
    '// Edit the CRD, then run `npm run generate`; test/hack/codegen/outputs.test.ts checks this file is current.',
    ...mapping.imports,
    '',
    `export const API_GROUP = ${literal(crd.spec.group)};`,
    `export const API_VERSION_NAME = ${literal(version.name)};`,
    'export const API_VERSION = `${API_GROUP}/${API_VERSION_NAME}`;',
    `export const KIND = ${literal(crd.spec.names.kind)};`,
    `export const PLURAL = ${literal(crd.spec.names.plural)};`,
  ].join('\n');
  const envelope = [
    `${docComment(root, '')}export interface ${crd.spec.names.kind} {`,
    '  apiVersion: typeof API_VERSION;',
    '  kind: typeof KIND;',
    `  metadata: ${metadata};`,
    '  spec: CifarTrainingJobSpec;',
    '  status?: CifarTrainingJobStatus;',
    '}',
  ].join('\n');
  const tree = [
    '/** A schema node reduced to its defaults: what structural defaulting needs. */',
    'export interface SchemaDefaults {',
    '  default?: unknown;',
    '  properties?: Readonly<Record<string, SchemaDefaults>>;',
    '  items?: SchemaDefaults;',
    '}',
    '',
    `/** Every \`default:\` under spec, for withDefaults (operator/api/defaults.ts); the result is ${defaultedSpec}. */`,
    `export const SPEC_DEFAULTS: SchemaDefaults = ${defaultsTree(spec, '') ?? '{}'};`,
  ].join('\n');
  return `${header}\n\n${renderer.text()}\n\n${envelope}\n\n${tree}\n`;
}
