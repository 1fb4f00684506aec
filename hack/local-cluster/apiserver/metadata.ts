import { randomInt, randomUUID } from 'node:crypto';
import { isObject, type JsonObject } from './json.js';
import type { FieldCause } from './status.js';

/** RFC 3339 with second precision, as Kubernetes serialises metav1.Time. */
export function timestamp(date = new Date()): string {
  return date.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

const SUFFIX_ALPHABET = 'bcdfghjklmnpqrstvwxz2456789';

/** generateName suffix: five characters from Kubernetes' vowel-free alphabet. */
export function nameSuffix(): string {
  let s = '';
  for (let i = 0; i < 5; i++) s += SUFFIX_ALPHABET[randomInt(SUFFIX_ALPHABET.length)];
  return s;
}

export function newUid(): string {
  return randomUUID();
}

const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const LABEL_NAME = /^(([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*)\/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;
const LABEL_VALUE = /^([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)?$/;

/** The metadata checks every object gets: name shape, label keys and values, annotation types. */
export function validateMetadata(meta: JsonObject, dnsLabelName: boolean): FieldCause[] {
  const causes: FieldCause[] = [];
  const name = meta.name;
  if (typeof name !== 'string' || name === '') {
    causes.push({ reason: 'FieldValueRequired', field: 'metadata.name', message: 'Required value: name or generateName is required' });
  } else if (dnsLabelName ? !DNS_LABEL.test(name) || name.length > 63 : !DNS_SUBDOMAIN.test(name) || name.length > 253) {
    const rule = dnsLabelName
      ? "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character"
      : "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character";
    causes.push({ reason: 'FieldValueInvalid', field: 'metadata.name', message: `Invalid value: ${JSON.stringify(name)}: ${rule}` });
  }
  const labels = meta.labels;
  if (labels !== undefined && labels !== null) {
    if (!isObject(labels)) causes.push({ reason: 'FieldValueInvalid', field: 'metadata.labels', message: 'Invalid value: must be a map of strings' });
    else
      for (const [k, v] of Object.entries(labels)) {
        if (!LABEL_NAME.test(k) || k.split('/').pop()!.length > 63) causes.push({ reason: 'FieldValueInvalid', field: 'metadata.labels', message: `Invalid value: ${JSON.stringify(k)}: name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character` });
        if (typeof v !== 'string' || !LABEL_VALUE.test(v) || v.length > 63) causes.push({ reason: 'FieldValueInvalid', field: `metadata.labels`, message: `Invalid value: ${JSON.stringify(v)}: a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character` });
      }
  }
  const annotations = meta.annotations;
  if (annotations !== undefined && annotations !== null && (!isObject(annotations) || Object.values(annotations).some((v) => typeof v !== 'string'))) {
    causes.push({ reason: 'FieldValueInvalid', field: 'metadata.annotations', message: 'Invalid value: must be a map of strings' });
  }
  return causes;
}
