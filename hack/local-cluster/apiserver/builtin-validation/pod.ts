/**
 * The core validation a real server applies to the pod fields the operator writes, with the
 * field paths and wording of k8s.io/kubernetes pkg/apis/core/validation/validation.go:
 * container and volume names, ports, volumes and mounts, tolerations (ValidateTolerations),
 * resources (ValidateContainerResourceRequirements: requests <= limits, extended resources
 * whole and equal to their limit) and security contexts.
 */
import { getArray, getObject, isObject, type JsonObject, type JsonValue } from '../json.js';
import { badRequest, type FieldCause } from '../status.js';
import { goValue } from '../go-values.js';
import { isDns1123Label, isQualifiedName, isValidLabelValue, isValidPortName, PORT_RANGE, USER_ID_RANGE } from './names.js';
import { compareQuantity, isWhole, parseQuantity, QUANTITY_PATTERN, type Quantity } from './quantity.js';

export const required = (field: string, detail = ''): FieldCause => ({ reason: 'FieldValueRequired', field, message: detail ? `Required value: ${detail}` : 'Required value' });
export const invalid = (field: string, value: JsonValue, detail: string): FieldCause => ({ reason: 'FieldValueInvalid', field, message: `Invalid value: ${typeof value === 'object' && value !== null ? goValue(value) : JSON.stringify(value)}: ${detail}` });
export const duplicate = (field: string, value: JsonValue): FieldCause => ({ reason: 'FieldValueDuplicate', field, message: `Duplicate value: ${JSON.stringify(value)}` });
const notFound = (field: string, value: JsonValue): FieldCause => ({ reason: 'FieldValueNotFound', field, message: `Not found: ${JSON.stringify(value)}` });
const notSupported = (field: string, value: JsonValue, allowed: string[]): FieldCause => ({ reason: 'FieldValueNotSupported', field, message: `Unsupported value: ${JSON.stringify(value)}: supported values: ${allowed.map((a) => JSON.stringify(a)).join(', ')}` });
const forbidden = (field: string, detail: string): FieldCause => ({ reason: 'FieldValueForbidden', field, message: `Forbidden: ${detail}` });

const objects = (v: JsonValue[] | undefined): JsonObject[] => (v ?? []).filter(isObject);
const str = (o: JsonObject, k: string): string => (typeof o[k] === 'string' ? (o[k] as string) : '');

export function dnsLabel(field: string, value: string): FieldCause[] {
  return isDns1123Label(value).map((m) => invalid(field, value, m));
}

/** A required, unique DNS-1123 label among its siblings (container and volume names). */
export function uniqueDnsLabel(name: string, field: string, seen: Set<string>, causes: FieldCause[]): void {
  if (name === '') causes.push(required(field));
  else if (seen.has(name)) causes.push(duplicate(field, name));
  else causes.push(...dnsLabel(field, name));
  seen.add(name);
}

/** Volume sources: every key of a volume but its name. */
function volumeSources(v: JsonObject): string[] {
  return Object.keys(v).filter((k) => k !== 'name' && v[k] !== null && v[k] !== undefined);
}

function validateVolumes(spec: JsonObject, causes: FieldCause[]): Set<string> {
  const names = new Set<string>();
  objects(getArray(spec, 'volumes')).forEach((v, i) => {
    const at = `spec.volumes[${i}]`;
    uniqueDnsLabel(str(v, 'name'), `${at}.name`, names, causes);
    const sources = volumeSources(v);
    if (sources.length === 0) causes.push(required(at, 'must specify a volume type'));
    else if (sources.length > 1) causes.push(forbidden(`${at}.${sources[1]}`, 'may not specify more than 1 volume type'));
  });
  return names;
}

function validateMounts(c: JsonObject, at: string, volumes: Set<string>, causes: FieldCause[]): void {
  const paths = new Set<string>();
  objects(getArray(c, 'volumeMounts')).forEach((m, i) => {
    const mp = `${at}.volumeMounts[${i}]`;
    const name = str(m, 'name');
    if (name === '') causes.push(required(`${mp}.name`));
    if (!volumes.has(name)) causes.push(notFound(`${mp}.name`, name));
    const path = str(m, 'mountPath');
    if (path === '') causes.push(required(`${mp}.mountPath`));
    if (paths.has(path)) causes.push(invalid(`${mp}.mountPath`, path, 'must be unique'));
    paths.add(path);
  });
}

function validatePorts(c: JsonObject, at: string, causes: FieldCause[]): void {
  const names = new Set<string>();
  objects(getArray(c, 'ports')).forEach((p, i) => {
    const pp = `${at}.ports[${i}]`;
    const name = str(p, 'name');
    if (name !== '') {
      for (const m of isValidPortName(name)) causes.push(invalid(`${pp}.name`, name, m));
      if (names.has(name)) causes.push(duplicate(`${pp}.name`, name));
      names.add(name);
    }
    const port = p.containerPort;
    if (port === undefined) causes.push(required(`${pp}.containerPort`));
    else if (typeof port === 'number' && (port < 1 || port > 65535)) causes.push(invalid(`${pp}.containerPort`, port, PORT_RANGE));
    if (typeof p.hostPort === 'number' && p.hostPort !== 0 && (p.hostPort < 1 || p.hostPort > 65535)) causes.push(invalid(`${pp}.hostPort`, p.hostPort, PORT_RANGE));
  });
}

/** A resource map as quantities; a value that is not a quantity fails decoding, as in the real server. */
function quantities(map: JsonObject | undefined): Map<string, Quantity> {
  const out = new Map<string, Quantity>();
  for (const [k, v] of Object.entries(map ?? {})) {
    const q = typeof v === 'string' || typeof v === 'number' ? parseQuantity(v) : undefined;
    if (!q) throw badRequest(`Pod in version "v1" cannot be handled as a Pod: quantities must match the regular expression '${QUANTITY_PATTERN.source}'`);
    out.set(k, q);
  }
  return out;
}

/** Native resources (no domain, or a kubernetes.io one) may be overcommitted; extended resources may not. */
function overcommitAllowed(name: string): boolean {
  const native = !name.includes('/') || name.includes('kubernetes.io/');
  return native && !name.startsWith('hugepages-');
}

function validateResources(c: JsonObject, at: string, causes: FieldCause[]): void {
  const resources = getObject(c, 'resources');
  const limits = quantities(getObject(resources, 'limits'));
  const requests = quantities(getObject(resources, 'requests'));
  const limPath = `${at}.resources.limits`;
  const reqPath = `${at}.resources.requests`;
  const checkValue = (path: string, name: string, q: Quantity) => {
    if (name.includes('/') && !name.includes('kubernetes.io/')) for (const m of isQualifiedName(name)) causes.push(invalid(path, name, m));
    if (q.num < 0n) causes.push(invalid(path, q.text, 'must be greater than or equal to 0'));
    if (!overcommitAllowed(name) && !isWhole(q)) causes.push(invalid(path, q.text, 'must be an integer'));
  };
  for (const [name, q] of limits) checkValue(`${limPath}[${name}]`, name, q);
  for (const [name, q] of requests) {
    checkValue(`${reqPath}[${name}]`, name, q);
    const limit = limits.get(name);
    if (limit) {
      if (compareQuantity(q, limit) !== 0 && !overcommitAllowed(name)) causes.push(invalid(reqPath, q.text, `must be equal to ${name} limit of ${limit.text}`));
      else if (compareQuantity(q, limit) > 0) causes.push(invalid(reqPath, q.text, `must be less than or equal to ${name} limit of ${limit.text}`));
    } else if (!overcommitAllowed(name)) causes.push(required(limPath, 'Limit must be set for non overcommitable resources'));
  }
}

function validateUserIds(sc: JsonObject | undefined, at: string, keys: string[], causes: FieldCause[]): void {
  for (const k of keys) {
    const v = sc?.[k];
    if (typeof v === 'number' && (v < 0 || v > 2147483647)) causes.push(invalid(`${at}.${k}`, v, USER_ID_RANGE));
  }
}

function validateSeccomp(sc: JsonObject | undefined, at: string, causes: FieldCause[]): void {
  const profile = getObject(sc, 'seccompProfile');
  if (!profile) return;
  if (profile.type === 'Localhost' && profile.localhostProfile === undefined) causes.push(required(`${at}.seccompProfile.localhostProfile`, 'must be set when seccomp type is Localhost'));
  if (profile.type !== 'Localhost' && profile.localhostProfile !== undefined) causes.push(invalid(`${at}.seccompProfile.localhostProfile`, profile, 'can only be set when seccomp type is Localhost'));
}

function validateContainerSecurity(c: JsonObject, at: string, causes: FieldCause[]): void {
  const sc = getObject(c, 'securityContext');
  if (!sc) return;
  const path = `${at}.securityContext`;
  validateUserIds(sc, path, ['runAsUser', 'runAsGroup'], causes);
  validateSeccomp(sc, path, causes);
  if (sc.allowPrivilegeEscalation === false) {
    if (sc.privileged === true) causes.push(invalid(path, sc, 'cannot set `allowPrivilegeEscalation` to false and `privileged` to true'));
    const add = getArray(getObject(sc, 'capabilities'), 'add') ?? [];
    if (add.includes('CAP_SYS_ADMIN') || add.includes('SYS_ADMIN')) causes.push(invalid(path, sc, 'cannot set `allowPrivilegeEscalation` to false and `capabilities.Add` CAP_SYS_ADMIN'));
  }
}

function validateContainers(spec: JsonObject, volumes: Set<string>, causes: FieldCause[]): void {
  const names = new Set<string>();
  objects(getArray(spec, 'containers')).forEach((c, i) => {
    const at = `spec.containers[${i}]`;
    uniqueDnsLabel(str(c, 'name'), `${at}.name`, names, causes);
    const image = str(c, 'image');
    if (image === '') causes.push(required(`${at}.image`));
    else if (image !== image.trim()) causes.push(invalid(`${at}.image`, image, 'must not have leading or trailing whitespace'));
    validatePorts(c, at, causes);
    objects(getArray(c, 'env')).forEach((e, j) => {
      if (str(e, 'name') === '') causes.push(required(`${at}.env[${j}].name`));
    });
    validateMounts(c, at, volumes, causes);
    validateResources(c, at, causes);
    validateContainerSecurity(c, at, causes);
  });
}

/** ValidateTolerations, line for line in its checks and their order. */
function validateTolerations(spec: JsonObject, causes: FieldCause[]): void {
  objects(getArray(spec, 'tolerations')).forEach((t, i) => {
    const at = `spec.tolerations[${i}]`;
    const key = str(t, 'key');
    const operator = str(t, 'operator');
    const effect = str(t, 'effect');
    const value = str(t, 'value');
    if (key !== '') for (const m of isQualifiedName(key)) causes.push(invalid(`${at}.key`, key, m));
    if (key === '' && operator !== 'Exists') causes.push(invalid(`${at}.operator`, operator, 'operator must be Exists when `key` is empty, which means "match all values and all keys"'));
    if (t.tolerationSeconds !== undefined && t.tolerationSeconds !== null && effect !== 'NoExecute') causes.push(invalid(`${at}.effect`, effect, "effect must be 'NoExecute' when `tolerationSeconds` is set"));
    if (operator === '' || operator === 'Equal') {
      const errs = isValidLabelValue(value);
      if (errs.length > 0) causes.push(invalid(`${at}.operator`, value, errs.join(';')));
    } else if (operator === 'Exists') {
      if (value !== '') causes.push(invalid(`${at}.operator`, value, "value must be empty when `operator` is 'Exists'"));
    } else causes.push(notSupported(`${at}.operator`, operator, ['Equal', 'Exists']));
    if (effect !== '' && !['NoSchedule', 'PreferNoSchedule', 'NoExecute'].includes(effect)) causes.push(notSupported(`${at}.effect`, effect, ['NoSchedule', 'PreferNoSchedule', 'NoExecute']));
  });
}

/** The core checks of a pod's spec; the OpenAPI schema (types, required fields, enums) is checked apart. */
export function validatePodSpec(pod: JsonObject): FieldCause[] {
  const causes: FieldCause[] = [];
  const spec = getObject(pod, 'spec');
  if (!spec) return [required('spec')];
  if (objects(getArray(spec, 'containers')).length === 0) causes.push(required('spec.containers'));
  const volumes = validateVolumes(spec, causes);
  validateContainers(spec, volumes, causes);
  for (const k of ['hostname', 'subdomain']) {
    const v = str(spec, k);
    if (v !== '') causes.push(...dnsLabel(`spec.${k}`, v));
  }
  validateTolerations(spec, causes);
  for (const [k, v] of Object.entries(getObject(spec, 'nodeSelector') ?? {})) {
    for (const m of isQualifiedName(k)) causes.push(invalid('spec.nodeSelector', k, m));
    if (typeof v === 'string') for (const m of isValidLabelValue(v)) causes.push(invalid(`spec.nodeSelector[${k}]`, v, m));
  }
  const podSc = getObject(spec, 'securityContext');
  validateUserIds(podSc, 'spec.securityContext', ['runAsUser', 'runAsGroup', 'fsGroup'], causes);
  validateSeccomp(podSc, 'spec.securityContext', causes);
  const deadline = spec.activeDeadlineSeconds;
  if (typeof deadline === 'number' && (deadline < 1 || deadline > 2147483647)) causes.push(invalid('spec.activeDeadlineSeconds', deadline, 'must be between 1 and 2147483647, inclusive'));
  return causes;
}
