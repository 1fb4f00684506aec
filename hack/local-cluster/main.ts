/**
 * `npm run local-cluster -- --kubeconfig PATH`: the local development cluster in the
 * foreground. Prints a line containing "ready" once it is up; stops on SIGINT/SIGTERM.
 */
import { parseArgs } from 'node:util';
import { errorMessage, UsageError } from '../../trainer/util/errors.js';
import { startLocalCluster } from './launcher.js';
import type { TrainerSource } from './node-agent/commands.js';

const USAGE = `usage: npm run local-cluster -- --kubeconfig PATH [--no-operator] [--state-dir DIR] [--port N]
                                 [--trainer-from source|dist] [--operator-from source|dist]
                                 [--operator-arg ARG]... [--verbose]

A local Kubernetes-like cluster for development (not a real cluster): an in-memory API
server on 127.0.0.1 serving crds/, a node agent that runs each pod as a local process
with its own 127.x.y.z address, and the operator (unless --no-operator). Pod logs and
files live under the state directory.`;

function source(flag: string, value: string | undefined): TrainerSource {
  if (value === undefined || value === 'source') return 'source';
  if (value === 'dist') return 'dist';
  throw new UsageError(`${flag}: ${JSON.stringify(value)} must be source or dist`);
}

function log(line: string): void {
  process.stderr.write(`${new Date().toISOString()} ${line}\n`);
}

async function main(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      kubeconfig: { type: 'string' },
      'no-operator': { type: 'boolean', default: false },
      'state-dir': { type: 'string' },
      port: { type: 'string', default: '0' },
      'trainer-from': { type: 'string' },
      'operator-from': { type: 'string' },
      'operator-arg': { type: 'string', multiple: true, default: [] },
      verbose: { type: 'boolean', default: false },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  if (!values.kubeconfig) throw new UsageError('--kubeconfig: required (where to write the kubeconfig for this cluster)');
  const port = Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new UsageError(`--port: ${JSON.stringify(values.port)} is not a port number`);
  const cluster = await startLocalCluster({
    kubeconfigPath: values.kubeconfig,
    withOperator: !values['no-operator'],
    port,
    trainerFrom: source('--trainer-from', values['trainer-from']),
    operatorFrom: source('--operator-from', values['operator-from']),
    operatorArgs: values['operator-arg'],
    verbose: values.verbose,
    ...(values['state-dir'] ? { stateDir: values['state-dir'] } : {}),
    log,
  });
  const operator = cluster.operatorPid === undefined ? 'operator not started (--no-operator)' : `operator pid ${cluster.operatorPid}, log ${cluster.operatorLog}`;
  process.stdout.write(
    [
      `local-cluster ready: API server ${cluster.url}, kubeconfig ${cluster.kubeconfigPath}, state dir ${cluster.stateDir}, ${operator}`,
      `  try: kubectl --kubeconfig ${cluster.kubeconfigPath} get pods,ctj`,
      `  pod logs: ${cluster.agent.logsDir}`,
      '',
    ].join('\n'),
  );
  const reason = await new Promise<string>((resolve) => {
    process.once('SIGINT', () => resolve('SIGINT'));
    process.once('SIGTERM', () => resolve('SIGTERM'));
    void cluster.failed.then(resolve);
  });
  const failed = reason !== 'SIGINT' && reason !== 'SIGTERM';
  log(failed ? `local-cluster: ${reason}; stopping` : `local-cluster: ${reason}: stopping`);
  // A second signal while stopping means "now": the agent's exit hook kills the pods.
  const force = () => process.exit(130);
  process.once('SIGINT', force);
  process.once('SIGTERM', force);
  await cluster.stop();
  log('local-cluster: stopped');
  return failed ? 1 : 0;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`local-cluster: ${errorMessage(err)}\n`);
    if (err instanceof UsageError) process.stderr.write(`${USAGE}\n`);
    process.exit(err instanceof UsageError ? 2 : 1);
  },
);
