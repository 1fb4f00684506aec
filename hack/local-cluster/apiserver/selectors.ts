import { getPath, isObject, type JsonObject } from './json.js';

/** One requirement of a label selector, in the set-based form the API accepts. */
export interface LabelRequirement {
  key: string;
  op: 'exists' | 'notexists' | 'in' | 'notin' | 'gt' | 'lt';
  values: string[];
}

export interface FieldRequirement {
  field: string;
  op: '=' | '!=';
  value: string;
}

export class SelectorError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SelectorError';
  }
}

/** Splits on commas outside parentheses: `a in (x,y),b` has two requirements. */
function splitTopLevel(s: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let cur = '';
  for (const c of s) {
    if (c === '(') depth++;
    if (c === ')') depth--;
    if (c === ',' && depth === 0) {
      parts.push(cur);
      cur = '';
    } else cur += c;
  }
  parts.push(cur);
  return parts.map((p) => p.trim()).filter((p) => p !== '');
}

const KEY = String.raw`(?:[A-Za-z0-9][-A-Za-z0-9_.]*\/)?[A-Za-z0-9](?:[-A-Za-z0-9_.]*[A-Za-z0-9])?`;
const VALUE = String.raw`(?:[A-Za-z0-9](?:[-A-Za-z0-9_.]*[A-Za-z0-9])?)?`;
const RE_EXISTS = new RegExp(`^(!?)\\s*(${KEY})$`);
const RE_EQ = new RegExp(`^(${KEY})\\s*(==|=|!=)\\s*(${VALUE})$`);
const RE_SET = new RegExp(`^(${KEY})\\s+(in|notin)\\s*\\(([^)]*)\\)$`);
const RE_CMP = new RegExp(`^(${KEY})\\s*(>|<)\\s*(-?[0-9]+)$`);

export function parseLabelSelector(selector: string): LabelRequirement[] {
  return splitTopLevel(selector).map((part) => {
    let m = RE_EXISTS.exec(part);
    if (m) return { key: m[2], op: m[1] === '!' ? 'notexists' : 'exists', values: [] };
    m = RE_EQ.exec(part);
    if (m) return { key: m[1], op: m[2] === '!=' ? 'notin' : 'in', values: [m[3]] };
    m = RE_SET.exec(part);
    if (m) {
      const values = m[3].split(',').map((v) => v.trim());
      if (values.some((v) => !new RegExp(`^${VALUE}$`).test(v))) throw new SelectorError(`unable to parse requirement: invalid label value in ${JSON.stringify(part)}`);
      return { key: m[1], op: m[2] as 'in' | 'notin', values };
    }
    m = RE_CMP.exec(part);
    if (m) return { key: m[1], op: m[2] === '>' ? 'gt' : 'lt', values: [m[3]] };
    throw new SelectorError(`unable to parse requirement: ${JSON.stringify(part)}: expected key, !key, key=value, key!=value, key in (...), key notin (...)`);
  });
}

export function matchesLabels(reqs: readonly LabelRequirement[], labels: Readonly<Record<string, string>>): boolean {
  return reqs.every((r) => {
    const has = Object.hasOwn(labels, r.key);
    const v = labels[r.key];
    switch (r.op) {
      case 'exists':
        return has;
      case 'notexists':
        return !has;
      case 'in':
        return has && r.values.includes(v);
      case 'notin':
        return !has || !r.values.includes(v);
      case 'gt':
      case 'lt': {
        if (!has || !/^-?[0-9]+$/.test(v)) return false;
        return r.op === 'gt' ? Number(v) > Number(r.values[0]) : Number(v) < Number(r.values[0]);
      }
    }
  });
}

/** Field selector values may escape `\,`, `\=` and `\\`. */
function unescape(v: string): string {
  return v.replace(/\\(.)/g, '$1');
}

function splitUnescaped(s: string, sep: string): string[] {
  const out: string[] = [];
  let cur = '';
  for (let i = 0; i < s.length; i++) {
    if (s[i] === '\\' && i + 1 < s.length) {
      cur += s[i] + s[i + 1];
      i++;
    } else if (s[i] === sep) {
      out.push(cur);
      cur = '';
    } else cur += s[i];
  }
  out.push(cur);
  return out;
}

export function parseFieldSelector(selector: string): FieldRequirement[] {
  return splitUnescaped(selector, ',')
    .map((p) => p.trim())
    .filter((p) => p !== '')
    .map((part) => {
      const m = /^([A-Za-z0-9_.]+)\s*(==|=|!=)\s*(.*)$/.exec(part);
      if (!m) throw new SelectorError(`invalid field selector: ${JSON.stringify(part)}: expected field=value or field!=value`);
      return { field: m[1], op: m[2] === '!=' ? '!=' : '=', value: unescape(m[3]) };
    });
}

/** A field's value as a selector sees it: missing fields are the empty string. */
export function fieldValue(obj: JsonObject, field: string): string {
  const v = getPath(obj, field.split('.'));
  if (v === undefined || v === null) return '';
  return isObject(v) || Array.isArray(v) ? JSON.stringify(v) : String(v);
}

export function matchesFields(reqs: readonly FieldRequirement[], obj: JsonObject): boolean {
  return reqs.every((r) => (fieldValue(obj, r.field) === r.value) === (r.op === '='));
}

/** Labels of an object as a plain string map (non-string values are ignored). */
export function labelsOf(obj: JsonObject): Record<string, string> {
  const labels = isObject(obj.metadata) ? obj.metadata.labels : undefined;
  const out: Record<string, string> = {};
  if (isObject(labels)) for (const [k, v] of Object.entries(labels)) if (typeof v === 'string') out[k] = v;
  return out;
}
