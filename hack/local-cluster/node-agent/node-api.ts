/**
 * The calls the node agent makes besides watching: the same ones a kubelet makes.
 * Behind an interface so the pod lifecycle does not depend on client-node details.
 */
import { ApiException, CoordinationV1Api, CoreV1Api, PatchStrategy, setHeaderOptions, type KubeConfig, type V1Node, type V1PersistentVolume, type V1PersistentVolumeClaim } from '@kubernetes/client-node';

export interface NodeApi {
  /** Decoded data, or undefined when the object does not exist. */
  readSecret(namespace: string, name: string): Promise<Record<string, Buffer> | undefined>;
  readConfigMap(namespace: string, name: string): Promise<Record<string, Buffer> | undefined>;
  /** Undefined when the object does not exist. */
  readClaim(namespace: string, name: string): Promise<V1PersistentVolumeClaim | undefined>;
  readVolume(name: string): Promise<V1PersistentVolume | undefined>;
  /** Merge-patches pods/status; false when the pod is gone. */
  patchPodStatus(namespace: string, name: string, uid: string, status: object): Promise<boolean>;
  /**
   * DELETE with gracePeriodSeconds 0 and a uid precondition, as the kubelet's status
   * manager removes a pod whose containers are gone; false when it was already gone.
   */
  deletePod(namespace: string, name: string, uid: string): Promise<boolean>;
  /** Creates this node's Node object, or takes over an existing one; sets its status. Returns its uid. */
  registerNode(node: V1Node): Promise<string>;
  patchNodeStatus(name: string, status: object): Promise<void>;
  /** Renews (or creates) the node's Lease in kube-node-lease: the kubelet's heartbeat. */
  renewLease(name: string, nodeUid: string, renewTime: Date, durationSeconds: number): Promise<void>;
}

/** 404, or 409 from the uid precondition: the pod we meant was deleted (and maybe recreated). */
function isGone(err: unknown): boolean {
  return err instanceof ApiException && (err.code === 404 || err.code === 409);
}

const MERGE_PATCH = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);
export const NODE_LEASE_NAMESPACE = 'kube-node-lease';

export function clientNodeApi(kc: KubeConfig): NodeApi {
  const core = kc.makeApiClient(CoreV1Api);
  const coordination = kc.makeApiClient(CoordinationV1Api);
  const orNotFound = async <T>(call: () => Promise<T>): Promise<T | undefined> => {
    try {
      return await call();
    } catch (err) {
      if (isGone(err)) return undefined;
      throw err;
    }
  };
  return {
    async readSecret(namespace, name) {
      const secret = await orNotFound(() => core.readNamespacedSecret({ namespace, name }));
      if (secret === undefined) return undefined;
      return Object.fromEntries(Object.entries(secret.data ?? {}).map(([k, v]) => [k, Buffer.from(v, 'base64')]));
    },
    async readConfigMap(namespace, name) {
      const cm = await orNotFound(() => core.readNamespacedConfigMap({ namespace, name }));
      if (cm === undefined) return undefined;
      return {
        ...Object.fromEntries(Object.entries(cm.binaryData ?? {}).map(([k, v]) => [k, Buffer.from(v, 'base64')])),
        ...Object.fromEntries(Object.entries(cm.data ?? {}).map(([k, v]) => [k, Buffer.from(v, 'utf8')])),
      };
    },
    readClaim: (namespace, name) => orNotFound(() => core.readNamespacedPersistentVolumeClaim({ namespace, name })),
    readVolume: (name) => orNotFound(() => core.readPersistentVolume({ name })),
    async patchPodStatus(namespace, name, uid, status) {
      // The uid precondition keeps a late write for a deleted pod off its same-named successor.
      const body = { metadata: { uid }, status };
      return (await orNotFound(() => core.patchNamespacedPodStatus({ namespace, name, body }, MERGE_PATCH))) !== undefined;
    },
    async deletePod(namespace, name, uid) {
      const body = { gracePeriodSeconds: 0, preconditions: { uid } };
      return (await orNotFound(() => core.deleteNamespacedPod({ namespace, name, body }))) !== undefined;
    },
    async registerNode(node) {
      const name = node.metadata?.name ?? '';
      let uid: string;
      try {
        uid = (await core.createNode({ body: { ...node, status: undefined } })).metadata?.uid ?? '';
      } catch (err) {
        if (!(err instanceof ApiException && err.code === 409)) throw err;
        // A node agent restarting on the same node takes its Node over, as a kubelet does.
        const existing = await core.readNode({ name });
        const body = { metadata: { labels: node.metadata?.labels ?? {} }, spec: { taints: node.spec?.taints ?? null } };
        uid = (await core.patchNode({ name, body }, MERGE_PATCH)).metadata?.uid ?? existing.metadata?.uid ?? '';
      }
      await core.patchNodeStatus({ name, body: { status: node.status ?? {} } }, MERGE_PATCH);
      return uid;
    },
    async patchNodeStatus(name, status) {
      await core.patchNodeStatus({ name, body: { status } }, MERGE_PATCH);
    },
    async renewLease(name, nodeUid, renewTime, durationSeconds) {
      // MicroTime: RFC 3339 with microseconds.
      const micro = renewTime.toISOString().replace(/Z$/, '000Z');
      const patch = { spec: { holderIdentity: name, leaseDurationSeconds: durationSeconds, renewTime: micro } };
      const updated = await orNotFound(() => coordination.patchNamespacedLease({ namespace: NODE_LEASE_NAMESPACE, name, body: patch }, MERGE_PATCH));
      if (updated !== undefined) return;
      await coordination.createNamespacedLease({
        namespace: NODE_LEASE_NAMESPACE,
        body: { metadata: { name, ownerReferences: [{ apiVersion: 'v1', kind: 'Node', name, uid: nodeUid }] }, spec: { holderIdentity: name, leaseDurationSeconds: durationSeconds, renewTime } },
      });
    },
  };
}
