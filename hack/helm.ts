/**
 * `npm run helm -- ARGS`: runs the bundled helm (see hack/tools/ensure-tool.ts) with ARGS,
 * passing its output and exit code through.
 */
import { spawn } from 'node:child_process';
import { ensureTool } from './tools/ensure-tool.js';

async function main(): Promise<void> {
  let helm: string;
  try {
    helm = await ensureTool('helm');
  } catch (err) {
    process.stderr.write(`hack/helm.ts: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 1;
    return;
  }
  const child = spawn(helm, process.argv.slice(2), { stdio: 'inherit' });
  child.once('error', (err) => {
    process.stderr.write(`hack/helm.ts: cannot run ${helm}: ${err.message}\n`);
    process.exitCode = 1;
  });
  child.once('close', (code, signal) => {
    process.exitCode = code ?? (signal === null ? 1 : 128);
  });
}

await main();
