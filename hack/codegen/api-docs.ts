/**
 * The generated sections of docs/api.md and README.md: the spec and status field tables and
 * the CEL rule table from the CRD, and the reasons table from operator/core/reasons.ts.
 * A section sits between `<!-- BEGIN GENERATED name -->` and `<!-- END GENERATED name -->`.
 */
import { renderReasonTable } from '../../operator/core/reasons.js';
import { isRecord, schemaFields, subSchema, type SchemaNode } from './crd.js';

function typeLabel(node: SchemaNode): string {
  if (node['x-kubernetes-int-or-string'] === true) return 'int or string';
  if (node.type === 'array') return `array of ${node.items?.properties !== undefined ? 'object' : typeLabel(node.items ?? {})}`;
  if (node.type === 'object' && isRecord(node.additionalProperties)) return `map of ${typeLabel(node.additionalProperties)}`;
  if (node.enum !== undefined) return `enum: ${node.enum.map(String).join(' | ')}`;
  const bounds: string[] = [];
  if (node.minimum !== undefined) bounds.push(`${node.exclusiveMinimum === true ? '>' : '≥'} ${node.minimum}`);
  if (node.maximum !== undefined) bounds.push(`${node.exclusiveMaximum === true ? '<' : '≤'} ${node.maximum}`);
  return bounds.length === 0 ? (node.type ?? 'any') : `${node.type} (${bounds.join(', ')})`;
}

function cell(text: string): string {
  return text.replace(/\|/g, '\\|').replace(/\n/g, ' ');
}

/** The field table for spec or status, one row per property. */
export function renderFieldTable(node: SchemaNode): string {
  const rows = schemaFields(node).map((f) => {
    const dflt = f.node.default === undefined ? (f.required ? 'required' : '') : `\`${JSON.stringify(f.node.default)}\``;
    return `| \`${f.path}\` | ${cell(typeLabel(f.node))} | ${dflt} | ${cell(f.node.description ?? '')} |`;
  });
  return ['| Field | Type | Default | Meaning |', '| --- | --- | --- | --- |', ...rows].join('\n');
}

/** Every x-kubernetes-validations rule below `node`, by the field it sits on. */
export function renderRuleTable(node: SchemaNode, path = 'spec'): string {
  const rows: string[] = [];
  const visit = (n: SchemaNode, p: string): void => {
    for (const r of n['x-kubernetes-validations'] ?? []) rows.push(`| \`${p}\` | ${cell(r.message ?? '')} | \`${cell(r.rule)}\` |`);
    for (const [name, child] of Object.entries(n.properties ?? {})) visit(child, `${p}.${name}`);
  };
  visit(node, path);
  return ['| On | Rejected with | Rule |', '| --- | --- | --- |', ...rows].join('\n');
}

/** The body of each generated section, by name. */
export function renderDocSections(root: SchemaNode): Record<string, string> {
  return {
    spec: renderFieldTable(subSchema(root, 'spec')),
    rules: renderRuleTable(subSchema(root, 'spec')),
    status: renderFieldTable(subSchema(root, 'status')),
    reasons: renderReasonTable(),
  };
}

/** Each document (relative to the repository root) and the generated sections it carries. */
export const DOC_SECTIONS: ReadonlyArray<{ path: string; names: readonly string[] }> = [
  { path: 'docs/api.md', names: ['spec', 'rules', 'status', 'reasons'] },
  { path: 'README.md', names: ['spec'] },
];

export function generatedSection(text: string, name: string): string | undefined {
  const m = new RegExp(`<!-- BEGIN GENERATED ${name} -->\\n([\\s\\S]*?)<!-- END GENERATED ${name} -->`).exec(text);
  return m?.[1].replace(/\n$/, '');
}

/** `text` with each named section's body replaced; a missing marker is an error naming it. */
export function withSections(text: string, where: string, bodies: Readonly<Record<string, string>>, names: readonly string[]): string {
  let out = text;
  for (const name of names) {
    if (generatedSection(out, name) === undefined) throw new Error(`${where}: no <!-- BEGIN GENERATED ${name} --> ... <!-- END GENERATED ${name} --> markers`);
    const section = new RegExp(`(<!-- BEGIN GENERATED ${name} -->\\n)[\\s\\S]*?(<!-- END GENERATED ${name} -->)`);
    out = out.replace(section, (_match, begin: string, end: string) => `${begin}${bodies[name]}\n${end}`);
  }
  return out;
}
