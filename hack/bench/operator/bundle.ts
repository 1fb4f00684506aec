/**
 * The operator as production ships it: one esbuild bundle of operator/main.ts, built with
 * the options of images/operator.Dockerfile, into a directory the caller owns. Run with
 * plain `node`, it has no tsx loader in its memory.
 */
import { join } from 'node:path';
import { build } from 'esbuild';

export async function bundleOperator(root: string, outDir: string): Promise<string> {
  const outfile = join(outDir, 'cifar-operator.mjs');
  await build({
    entryPoints: [join(root, 'operator', 'main.ts')],
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    outfile,
    legalComments: 'external',
    logLevel: 'error',
    // As in the image: bundled CommonJS dependencies call require().
    banner: { js: "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);" },
  });
  return outfile;
}
