/**
 * The local cluster's S3: s3rver on an address of its own with a fixed port, published in
 * the cluster the way an outside service is on a real one (a Service without a selector and
 * an EndpointSlice), so pods reach it at one fixed name whatever address it got, and
 * examples/local-cpu-lenet.yaml applies as it is. The objects live in the state directory,
 * so CIFAR-10 is packed into it once.
 */
import type { CoreV1Api, DiscoveryV1Api } from '@kubernetes/client-node';
import type { S3Config } from '../../trainer/io/s3-config.js';
import { startS3rver } from '../local-s3/s3rver.js';

export const LOCAL_S3_SERVICE = 'local-s3';
export const LOCAL_S3_NAMESPACE = 'default';
export const LOCAL_S3_PORT = 4568;
export const LOCAL_S3_BUCKET = 'cifar';
/** What spec.s3.endpoint says in the local examples. */
export const LOCAL_S3_IN_CLUSTER_ENDPOINT = `http://${LOCAL_S3_SERVICE}.${LOCAL_S3_NAMESPACE}.svc:${LOCAL_S3_PORT}`;
/** The Secret the examples name in spec.s3.credentialsSecretRef (s3rver's fixed keys). */
export const LOCAL_S3_SECRET = 'cifar-local-s3';
const S3RVER_KEY = 'S3RVER';

export interface LocalS3 {
  /** Where this machine reaches it (http://ADDRESS:4568). */
  endpoint: string;
  /** Where pods reach it (the Service's name). */
  inClusterEndpoint: string;
  config: S3Config;
  pid: number;
  stop(): Promise<void>;
}

/** Starts s3rver on `address`:4568 keeping its objects in `dataDir`, and publishes it in the cluster. */
export async function startLocalS3(opts: { address: string; dataDir: string; core: CoreV1Api; discovery: DiscoveryV1Api }): Promise<LocalS3> {
  const stops: Array<() => unknown> = [];
  const server = await startS3rver({ teardown: (fn) => stops.push(fn) }, { buckets: [LOCAL_S3_BUCKET], address: opts.address, port: LOCAL_S3_PORT, dataDir: opts.dataDir });
  try {
    await publish(opts.core, opts.discovery, opts.address);
  } catch (err) {
    await server.stop();
    throw new Error(`local S3: cannot publish ${LOCAL_S3_SERVICE} in the cluster: ${err instanceof Error ? err.message : String(err)}`);
  }
  return { endpoint: server.endpoint, inClusterEndpoint: LOCAL_S3_IN_CLUSTER_ENDPOINT, config: server.config, pid: server.pid, stop: server.stop };
}

async function publish(core: CoreV1Api, discovery: DiscoveryV1Api, address: string): Promise<void> {
  const namespace = LOCAL_S3_NAMESPACE;
  const labels = { 'app.kubernetes.io/name': 'local-s3', 'app.kubernetes.io/part-of': 'cifar-operator-local-cluster' };
  await core.createNamespacedService({
    namespace,
    body: { metadata: { name: LOCAL_S3_SERVICE, labels }, spec: { ports: [{ name: 's3', port: LOCAL_S3_PORT, protocol: 'TCP' }] } },
  });
  await discovery.createNamespacedEndpointSlice({
    namespace,
    body: {
      metadata: { name: LOCAL_S3_SERVICE, labels: { ...labels, 'kubernetes.io/service-name': LOCAL_S3_SERVICE, 'endpointslice.kubernetes.io/managed-by': 'local-cluster' } },
      addressType: 'IPv4',
      endpoints: [{ addresses: [address], conditions: { ready: true } }],
      ports: [{ name: 's3', port: LOCAL_S3_PORT, protocol: 'TCP' }],
    },
  });
  await core.createNamespacedSecret({
    namespace,
    body: { metadata: { name: LOCAL_S3_SECRET, labels }, type: 'Opaque', stringData: { AWS_ACCESS_KEY_ID: S3RVER_KEY, AWS_SECRET_ACCESS_KEY: S3RVER_KEY } },
  });
}
