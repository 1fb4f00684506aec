/**
 * The calls the node agent makes besides watching: the same ones a kubelet makes.
 * Behind an interface so the pod lifecycle does not depend on client-node details.
 */
import { ApiException, CoreV1Api, PatchStrategy, setHeaderOptions, type KubeConfig } from '@kubernetes/client-node';

export interface NodeApi {
  /** Decoded data, or undefined when the object does not exist. */
  readSecret(namespace: string, name: string): Promise<Record<string, Buffer> | undefined>;
  readConfigMap(namespace: string, name: string): Promise<Record<string, Buffer> | undefined>;
  /** Merge-patches pods/status; false when the pod is gone. */
  patchPodStatus(namespace: string, name: string, uid: string, status: object): Promise<boolean>;
  /** Assigns the pod to this node (what a scheduler's binding does); false when the pod is gone. */
  bindPod(namespace: string, name: string, uid: string, nodeName: string): Promise<boolean>;
}

/** 404, or 409 from the uid precondition: the pod we meant was deleted (and maybe recreated). */
function isGone(err: unknown): boolean {
  return err instanceof ApiException && (err.code === 404 || err.code === 409);
}

const MERGE_PATCH = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);

export function clientNodeApi(kc: KubeConfig): NodeApi {
  const core = kc.makeApiClient(CoreV1Api);
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
    async patchPodStatus(namespace, name, uid, status) {
      // The uid precondition keeps a late write for a deleted pod off its same-named successor.
      const body = { metadata: { uid }, status };
      return (await orNotFound(() => core.patchNamespacedPodStatus({ namespace, name, body }, MERGE_PATCH))) !== undefined;
    },
    async bindPod(namespace, name, uid, nodeName) {
      const body = { metadata: { uid }, spec: { nodeName } };
      return (await orNotFound(() => core.patchNamespacedPod({ namespace, name, body }, MERGE_PATCH))) !== undefined;
    },
  };
}
