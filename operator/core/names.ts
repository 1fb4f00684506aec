/**
 * Deterministic names for a job's children. Level-triggered reconciling depends on them:
 * the same job always maps to the same names, so "does it exist?" is a lookup.
 *
 * Pod names double as pod hostnames and the Service name is a DNS-1035 label, so every
 * child name is a DNS label of at most 63 characters. A job name that is too long or not
 * already a valid label (CR names may contain dots) is cut and given a hash of the full
 * name, so two different jobs never share a child name.
 *
 * Worker pods carry the gang attempt in their name after the first (`<job>-worker-1-a2`):
 * a restarted gang never waits for the old pods to give their names back, which on a real
 * cluster means the whole termination grace period, or for ever on a lost node.
 */
import { createHash } from 'node:crypto';

export const MAX_DNS_LABEL = 63;
const HASH_LENGTH = 8;

/** Hex prefix of SHA-256; short, stable, and uniform enough to separate names. */
export function shortHash(text: string, length = HASH_LENGTH): string {
  return createHash('sha256').update(text).digest('hex').slice(0, length);
}

const DNS_1035_LABEL = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;

/** `<base>-<suffix>` as a DNS-1035 label (<= 63 chars, starts with a letter). */
export function dnsLabel(base: string, suffix: string): string {
  const plain = `${base}-${suffix}`;
  if (plain.length <= MAX_DNS_LABEL && DNS_1035_LABEL.test(plain)) return plain;
  const tail = `-${shortHash(base)}-${suffix}`;
  let head = base.toLowerCase().replace(/[^a-z0-9-]/g, '-');
  if (!/^[a-z]/.test(head)) head = `j${head}`;
  head = head.slice(0, MAX_DNS_LABEL - tail.length).replace(/-+$/, '');
  return `${head}${tail}`;
}

/** Pod of one replica in one gang attempt; also its hostname under the headless Service. */
export function workerPodName(jobName: string, replica: number, attempt = 0): string {
  return dnsLabel(jobName, attempt === 0 ? `worker-${replica}` : `worker-${replica}-a${attempt}`);
}

/** Headless Service giving each worker pod a DNS name for rendezvous. */
export function workersServiceName(jobName: string): string {
  return dnsLabel(jobName, 'workers');
}

/** Secret holding the job's peer key for the trainers' HMAC handshake. */
export function peerKeySecretName(jobName: string): string {
  return dnsLabel(jobName, 'peer-key');
}

const LABEL_VALUE = /^([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)?$/;

/** A label value (<= 63 chars) that stands for `text`; hashed when `text` does not fit. */
export function labelValue(text: string): string {
  if (text.length <= MAX_DNS_LABEL && LABEL_VALUE.test(text)) return text;
  const tail = `-${shortHash(text)}`;
  const head = text.replace(/[^-A-Za-z0-9_.]/g, '-').slice(0, MAX_DNS_LABEL - tail.length).replace(/[^A-Za-z0-9]+$/, '');
  return `${head}${tail}`;
}

/** MASTER_ADDR: the DNS name of this attempt's rank 0, `<pod>.<service>.<namespace>.svc`. */
export function masterAddress(jobName: string, namespace: string, attempt = 0): string {
  return `${workerPodName(jobName, 0, attempt)}.${workersServiceName(jobName)}.${namespace}.svc`;
}

/** One gang scheduler group per attempt: a restarted gang is queued and placed as a whole again. */
export function podGroupName(jobName: string, attempt: number): string {
  return dnsLabel(jobName, `gang-${attempt}`);
}
