/**
 * Checks once, when the node agent starts, that this machine can give pods their own
 * mount namespace (see sandbox.ts): as root with `unshare --mount`, otherwise through an
 * unprivileged user namespace. When neither works, pods fail with this message instead
 * of running with the whole host file system in view.
 */
import { execFile } from 'node:child_process';

export type SandboxSupport = { ok: true; userNamespace: boolean } | { ok: false; message: string };

const PROBE_TIMEOUT_MS = 10_000;

function attempt(args: string[]): Promise<string | undefined> {
  return new Promise((resolve) => {
    // A tmpfs mount is the first thing a pod sandbox does; if it works here, pods can start.
    execFile('unshare', [...args, '--mount', '--propagation', 'private', '--', '/bin/sh', '-c', 'mount -t tmpfs probe /mnt 2>&1 || mount -t tmpfs probe /tmp 2>&1'], { timeout: PROBE_TIMEOUT_MS }, (err, stdout, stderr) => {
      resolve(err ? `${[stderr, stdout].join(' ').trim() || err.message}` : undefined);
    });
  });
}

export async function probeSandbox(uid: number = process.getuid?.() ?? -1): Promise<SandboxSupport> {
  if (process.platform !== 'linux') return { ok: false, message: `local cluster: pods need Linux mount namespaces; this is ${process.platform}` };
  const errors: string[] = [];
  if (uid === 0) {
    const err = await attempt([]);
    if (err === undefined) return { ok: true, userNamespace: false };
    errors.push(`unshare --mount: ${err}`);
  }
  const err = await attempt(['--user', '--map-root-user']);
  if (err === undefined) return { ok: true, userNamespace: true };
  errors.push(`unshare --user --map-root-user --mount: ${err}`);
  return {
    ok: false,
    message: `local cluster: cannot create a mount namespace for pods (${errors.join('; ')}); run the local cluster as root, or enable unprivileged user namespaces (sysctl kernel.unprivileged_userns_clone=1 / user.max_user_namespaces > 0)`,
  };
}
