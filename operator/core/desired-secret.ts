/**
 * The job's peer key: every worker of the job mounts it and proves knowledge of it in the
 * trainers' HMAC handshake, so pods of other jobs cannot join the ring. The random bytes
 * are a parameter so this stays a pure function; the controller draws them.
 */
import type { Secret } from '../api/k8s-types.js';
import { childLabels } from './labels.js';
import { peerKeySecretName } from './names.js';
import { controllerRef, type JobIdentity } from './owner-ref.js';

export const PEER_KEY_BYTES = 32;
/** Key inside the Secret, and the file name under PEER_KEY_MOUNT_PATH. */
export const PEER_KEY_SECRET_KEY = 'peer-key';

export function desiredPeerKeySecret(job: JobIdentity, randomBytes: Uint8Array): Secret {
  if (randomBytes.length < PEER_KEY_BYTES) {
    throw new Error(`desiredPeerKeySecret: randomBytes has ${randomBytes.length} bytes; need at least ${PEER_KEY_BYTES}`);
  }
  // Hex text, because the trainer reads the key file as UTF-8 and strips a trailing newline.
  const keyText = Buffer.from(randomBytes.subarray(0, PEER_KEY_BYTES)).toString('hex');
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: {
      name: peerKeySecretName(job.name),
      namespace: job.namespace,
      labels: childLabels(job.name, 'peer-key'),
      ownerReferences: [controllerRef(job)],
    },
    type: 'Opaque',
    // A new key means new pods; never rotate under a running gang.
    immutable: true,
    data: { [PEER_KEY_SECRET_KEY]: Buffer.from(keyText, 'utf8').toString('base64') },
  };
}
