/**
 * The node agent's Node, registered and kept alive as a kubelet does it
 * (pkg/kubelet/kubelet_node_status.go, nodelease): capacity and allocatable (cpu, memory,
 * pods, and nvidia.com/gpu as the NVIDIA device plugin would advertise it), GPU nodes
 * tainted nvidia.com/gpu:NoSchedule as GPU node pools commonly are, Ready while the agent
 * runs, a Lease in kube-node-lease renewed every 10 s, and Ready=False when it stops.
 */
import { arch, cpus, release, totalmem } from 'node:os';
import type { V1Node } from '@kubernetes/client-node';
import type { NodeApi } from './node-api.js';

export interface NodeResources {
  /** Whole or fractional cores, e.g. 2 or 0.5. */
  cpu: number;
  memoryBytes: number;
  gpus: number;
  pods: number;
}

export const GPU_RESOURCE = 'nvidia.com/gpu';
export const KUBELET_VERSION = 'v1.32.3';
export const LEASE_DURATION_SECONDS = 40;

/** The machine's own: its cores and memory, no GPUs, the kubelet's default of 110 pods. */
export function machineResources(): NodeResources {
  return { cpu: cpus().length, memoryBytes: totalmem(), gpus: 0, pods: 110 };
}

function cpuQuantity(cpu: number): string {
  return Number.isInteger(cpu) ? String(cpu) : `${Math.round(cpu * 1000)}m`;
}

function conditions(ready: boolean, now: string, why: string): V1Node['status'] {
  const t = new Date(now);
  const pressure = (type: string, reason: string, message: string) => ({ type, status: 'False', reason, message, lastHeartbeatTime: t, lastTransitionTime: t });
  return {
    conditions: [
      pressure('MemoryPressure', 'KubeletHasSufficientMemory', 'kubelet has sufficient memory available'),
      pressure('DiskPressure', 'KubeletHasNoDiskPressure', 'kubelet has no disk pressure'),
      pressure('PIDPressure', 'KubeletHasSufficientPID', 'kubelet has sufficient PID available'),
      ready
        ? { type: 'Ready', status: 'True', reason: 'KubeletReady', message: 'kubelet is posting ready status', lastHeartbeatTime: t, lastTransitionTime: t }
        : { type: 'Ready', status: 'False', reason: 'KubeletNotReady', message: why, lastHeartbeatTime: t, lastTransitionTime: t },
    ],
  };
}

/** The Node object a kubelet with these resources registers. Pure. */
export function nodeObject(name: string, hostIP: string, kubeletPort: number, res: NodeResources, now: string): V1Node {
  const quantities: Record<string, string> = {
    cpu: cpuQuantity(res.cpu),
    memory: `${Math.floor(res.memoryBytes / 1024)}Ki`,
    pods: String(res.pods),
  };
  if (res.gpus > 0) quantities[GPU_RESOURCE] = String(res.gpus);
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: {
      name,
      labels: {
        'kubernetes.io/hostname': name,
        'kubernetes.io/os': 'linux',
        'kubernetes.io/arch': arch() === 'x64' ? 'amd64' : arch(),
        ...(res.gpus > 0 ? { 'nvidia.com/gpu.present': 'true' } : {}),
      },
    },
    spec: res.gpus > 0 ? { taints: [{ key: GPU_RESOURCE, effect: 'NoSchedule' }] } : {},
    status: {
      capacity: quantities,
      allocatable: { ...quantities },
      ...conditions(true, now, ''),
      addresses: [
        { type: 'InternalIP', address: hostIP },
        { type: 'Hostname', address: name },
      ],
      daemonEndpoints: { kubeletEndpoint: { Port: kubeletPort } },
      nodeInfo: {
        kubeletVersion: KUBELET_VERSION,
        kubeProxyVersion: '',
        osImage: 'local cluster (host file system as the image)',
        kernelVersion: release(),
        containerRuntimeVersion: 'local-cluster://mount-namespaces',
        operatingSystem: 'linux',
        architecture: arch() === 'x64' ? 'amd64' : arch(),
        machineID: '',
        systemUUID: '',
        bootID: '',
      },
    },
  };
}

export interface NodeHeartbeat {
  readonly uid: string;
  /** Stops renewing and reports the node NotReady. */
  stop(reason: string): Promise<void>;
}

/** Registers the node and renews its Lease until stopped. */
export async function registerNode(api: NodeApi, node: V1Node, opts: { renewMs?: number; log: (line: string) => void }): Promise<NodeHeartbeat> {
  const name = node.metadata?.name ?? '';
  const uid = await api.registerNode(node);
  const renew = () => api.renewLease(name, uid, new Date(), LEASE_DURATION_SECONDS).catch((err: unknown) => opts.log(`node ${name}: lease renewal failed: ${String(err)}`));
  await renew();
  const timer = setInterval(() => void renew(), opts.renewMs ?? 10_000);
  timer.unref();
  return {
    uid,
    async stop(reason) {
      clearInterval(timer);
      await api.patchNodeStatus(name, conditions(false, new Date().toISOString(), reason) ?? {}).catch((err: unknown) => opts.log(`node ${name}: NotReady update failed: ${String(err)}`));
    },
  };
}
