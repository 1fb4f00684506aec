/**
 * Service and Secret checks from k8s.io/kubernetes pkg/apis/core/validation/validation.go
 * (ValidateService: DNS-1035 name, ports; ValidateSecret: data keys).
 */
import { getArray, getObject, getString, isObject, type JsonObject } from '../json.js';
import type { FieldCause } from '../status.js';
import { isValidPortName, PORT_RANGE } from './names.js';
import { dnsLabel, duplicate, invalid, required } from './pod.js';

const DNS1035_LABEL = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;
const CONFIG_KEY = /^[-._a-zA-Z0-9]+$/;

export function validateService(svc: JsonObject): FieldCause[] {
  const causes: FieldCause[] = [];
  const name = getString(getObject(svc, 'metadata'), 'name') ?? '';
  if (name !== '' && (!DNS1035_LABEL.test(name) || name.length > 63)) {
    causes.push(invalid('metadata.name', name, "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')"));
  }
  const ports = (getArray(getObject(svc, 'spec'), 'ports') ?? []).filter(isObject);
  const names = new Set<string>();
  ports.forEach((p, i) => {
    const at = `spec.ports[${i}]`;
    const portName = typeof p.name === 'string' ? p.name : '';
    if (ports.length > 1 && portName === '') causes.push(required(`${at}.name`));
    else if (portName !== '') {
      if (names.has(portName)) causes.push(duplicate(`${at}.name`, portName));
      else causes.push(...dnsLabel(`${at}.name`, portName));
      names.add(portName);
    }
    if (typeof p.port === 'number' && (p.port < 1 || p.port > 65535)) causes.push(invalid(`${at}.port`, p.port, PORT_RANGE));
    const target = p.targetPort;
    if (typeof target === 'number' && (target < 1 || target > 65535)) causes.push(invalid(`${at}.targetPort`, target, PORT_RANGE));
    if (typeof target === 'string') for (const m of isValidPortName(target)) causes.push(invalid(`${at}.targetPort`, target, m));
  });
  return causes;
}

export function validateSecret(secret: JsonObject): FieldCause[] {
  const causes: FieldCause[] = [];
  for (const key of Object.keys(getObject(secret, 'data') ?? {})) {
    if (!CONFIG_KEY.test(key) || key.length > 253) {
      causes.push(invalid(`data[${key}]`, key, "a valid config key must consist of alphanumeric characters, '-', '_' or '.' (e.g. 'key.name',  or 'KEY_NAME',  or 'key-name', regex used for validation is '[-._a-zA-Z0-9]+')"));
    }
  }
  return causes;
}
