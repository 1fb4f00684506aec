import { createWriteStream, existsSync } from 'node:fs';
import { mkdir, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';

/** The official CIFAR-10 binary archive and its published size. */
export const OFFICIAL_BINARY_URL = 'https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz';
export const OFFICIAL_BINARY_BYTES = 170_052_171;

/** Downloads the official archive once into `cacheDir` (atomically) and returns its path. */
export async function downloadOfficialArchive(cacheDir: string, url = OFFICIAL_BINARY_URL, expectedBytes = OFFICIAL_BINARY_BYTES): Promise<string> {
  const path = join(cacheDir, 'cifar-10-binary.tar.gz');
  if (existsSync(path) && (await stat(path)).size === expectedBytes) return path;
  await mkdir(cacheDir, { recursive: true });
  console.log(`downloading ${url} (${(expectedBytes / 1e6).toFixed(0)} MB) into ${cacheDir}`);
  const response = await fetch(url, { signal: AbortSignal.timeout(15 * 60_000) }).catch((err: unknown) => {
    throw new Error(`cannot download ${url}: ${err instanceof Error ? err.message : String(err)}; pass --data PATH to a CIFAR-10 copy instead`);
  });
  if (!response.ok || !response.body) throw new Error(`cannot download ${url}: HTTP ${response.status}`);
  const partial = `${path}.partial`;
  try {
    await pipeline(Readable.fromWeb(response.body as import('node:stream/web').ReadableStream), createWriteStream(partial));
    const size = (await stat(partial)).size;
    if (size !== expectedBytes) throw new Error(`${url}: got ${size} bytes, expected ${expectedBytes}`);
    await rename(partial, path);
  } finally {
    await rm(partial, { force: true });
  }
  return path;
}
