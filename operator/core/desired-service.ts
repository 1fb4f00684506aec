/**
 * Headless Service for rendezvous: it gives every worker pod the DNS name
 * `<pod>.<service>.<namespace>.svc`, and rank 0's is MASTER_ADDR.
 */
import type { Service } from '../api/k8s-types.js';
import type { DefaultedSpec } from '../api/defaults.js';
import { childLabels, jobSelector } from './labels.js';
import { workersServiceName } from './names.js';
import { controllerRef, type JobIdentity } from './owner-ref.js';

export const MASTER_PORT_NAME = 'rendezvous';
export const METRICS_PORT_NAME = 'metrics';

export function desiredWorkersService(job: JobIdentity, spec: DefaultedSpec): Service {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: {
      name: workersServiceName(job.name),
      namespace: job.namespace,
      labels: childLabels(job.name, 'workers'),
      ownerReferences: [controllerRef(job)],
    },
    spec: {
      clusterIP: 'None',
      selector: jobSelector(job.name),
      // Ranks rendezvous before any of them is Ready; their DNS records must exist by then.
      publishNotReadyAddresses: true,
      ports: [
        { name: MASTER_PORT_NAME, port: spec.masterPort, targetPort: spec.masterPort, protocol: 'TCP' },
        { name: METRICS_PORT_NAME, port: spec.metricsPort, targetPort: spec.metricsPort, protocol: 'TCP' },
      ],
    },
  };
}
