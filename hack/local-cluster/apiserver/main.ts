import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { errorMessage, UsageError } from '../../../trainer/util/errors.js';
import { writeKubeconfig } from './kubeconfig.js';
import { startApiServer } from './server.js';

const USAGE = `usage: tsx hack/local-cluster/apiserver/main.ts [--port N] [--host 127.0.0.1] [--crds DIR] [--kubeconfig PATH] [--scheduler] [--quiet]

A development-only Kubernetes API server kept in memory, listening on loopback without
authentication. Prints a line containing "ready" once it accepts connections. With
--scheduler it also binds pods to the Nodes registered with it, as kube-scheduler would.`;

async function main(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      port: { type: 'string', default: '0' },
      host: { type: 'string', default: '127.0.0.1' },
      crds: { type: 'string' },
      kubeconfig: { type: 'string' },
      quiet: { type: 'boolean', default: false },
      scheduler: { type: 'boolean', default: false },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  const port = Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new UsageError(`--port: ${JSON.stringify(values.port)} is not a port number`);
  const server = await startApiServer({
    host: values.host,
    port,
    ...(values.crds ? { crdDir: resolve(values.crds) } : {}),
    scheduler: values.scheduler,
    log: values.quiet ? () => undefined : (line) => process.stderr.write(`${new Date().toISOString()} ${line}\n`),
  });
  if (values.kubeconfig) await writeKubeconfig(resolve(values.kubeconfig), server.url);
  process.stdout.write(`local-cluster apiserver ready at ${server.url}${values.kubeconfig ? ` (kubeconfig ${resolve(values.kubeconfig)})` : ''}\n`);
  const shutdown = () => {
    server.stop().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.once('SIGINT', shutdown);
  process.once('SIGTERM', shutdown);
}

main(process.argv.slice(2)).catch((err: unknown) => {
  process.stderr.write(`local-cluster apiserver: ${errorMessage(err)}\n`);
  if (err instanceof UsageError) process.stderr.write(`${USAGE}\n`);
  process.exit(err instanceof UsageError ? 2 : 1);
});
