/**
 * `npm run local-cluster -- --kubeconfig PATH`: the local development cluster in the
 * foreground. Prints a line containing "ready" once it is up; stops on SIGINT/SIGTERM.
 */
import { parseArgs } from 'node:util';
import { errorMessage, UsageError } from '../../trainer/util/errors.js';
import { parseQuantity, QuantityError } from './apiserver/quantity.js';
import { startLocalCluster } from './launcher.js';
import { repoRoot, type TrainerSource } from './node-agent/commands.js';
import { cifarSource, DATA_CHOICES } from './cifar-data.js';
import { LoopbackIpPool, type IpRange } from './node-agent/ip-pool.js';

const USAGE = `usage: npm run local-cluster -- --kubeconfig PATH [--no-operator] [--state-dir DIR] [--port N]
                                 [--nodes N] [--gpus-per-node G] [--cpus-per-node C] [--memory-per-node Q]
                                 [--trainer-from source|dist] [--operator-from source|dist]
                                 [--operator-arg ARG]... [--no-s3] [--data auto|shared|download|none|PATH]
                                 [--pod-ips FIRST-LAST] [--verbose]

A local Kubernetes-like cluster for development (not a real cluster): an in-memory API
server on 127.0.0.1 serving crds/, with a scheduler and garbage collector, N node agents
(default 1) that run each pod bound to their node as a local process in its own mount
namespace with its own 127.x.y.z address, and the operator (unless --no-operator).
Each node advertises the machine's cores and memory unless told otherwise, and
--gpus-per-node G nvidia.com/gpu (GPU nodes are tainted nvidia.com/gpu:NoSchedule).
kubectl logs works; log files also live under the state directory. --pod-ips (default
127.0.0.2-127.0.255.254) lets two local clusters run side by side.

Unless --no-s3, a local S3 (s3rver) runs too, reachable from pods at
http://local-s3.default.svc:4568 with the Secret cifar-local-s3, its objects kept in the
state directory; CIFAR-10 is packed into s3://cifar/data/ on the first start (--data:
${DATA_CHOICES}; none skips it). Then examples/local-cpu-lenet.yaml applies as it is.`;

function source(flag: string, value: string | undefined): TrainerSource {
  if (value === undefined || value === 'source') return 'source';
  if (value === 'dist') return 'dist';
  throw new UsageError(`${flag}: ${JSON.stringify(value)} must be source or dist`);
}

function ipRange(text: string): IpRange {
  const m = /^(\d+\.\d+\.\d+\.\d+)-(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (!m) throw new UsageError(`--pod-ips: ${JSON.stringify(text)} must be FIRST-LAST, e.g. 127.0.5.2-127.0.5.250`);
  try {
    // The pool's own checks: IPv4, inside 127.0.0.0/8, in order.
    new LoopbackIpPool({ first: m[1], last: m[2] });
  } catch (err) {
    throw new UsageError(`--pod-ips: ${errorMessage(err)}`);
  }
  return { first: m[1], last: m[2] };
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
      nodes: { type: 'string', default: '1' },
      'gpus-per-node': { type: 'string', default: '0' },
      'cpus-per-node': { type: 'string' },
      'memory-per-node': { type: 'string' },
      'pod-ips': { type: 'string' },
      'no-s3': { type: 'boolean', default: false },
      data: { type: 'string', default: 'auto' },
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
  const count = (flag: string, text: string, min: number): number => {
    const n = Number(text);
    if (!Number.isInteger(n) || n < min) throw new UsageError(`${flag}: ${JSON.stringify(text)} must be a whole number of at least ${min}`);
    return n;
  };
  const quantity = (flag: string, text: string | undefined): number | undefined => {
    if (text === undefined) return undefined;
    try {
      const v = parseQuantity(text);
      if (v <= 0) throw new QuantityError('must be positive');
      return v;
    } catch (err) {
      throw new UsageError(`${flag}: ${JSON.stringify(text)} is not a positive quantity (e.g. 2, 500m, 8Gi): ${(err as Error).message}`);
    }
  };
  const cpus = quantity('--cpus-per-node', values['cpus-per-node']);
  const memory = quantity('--memory-per-node', values['memory-per-node']);
  const podIps = values['pod-ips'] === undefined ? undefined : ipRange(values['pod-ips']);
  const data = values.data;
  const cluster = await startLocalCluster({
    ...(values['no-s3'] ? {} : { s3: data === 'none' ? {} : { source: () => cifarSource(data, repoRoot()) } }),
    nodes: count('--nodes', values.nodes, 1),
    gpusPerNode: count('--gpus-per-node', values['gpus-per-node'], 0),
    ...(cpus === undefined ? {} : { cpusPerNode: cpus }),
    ...(memory === undefined ? {} : { memoryPerNodeBytes: memory }),
    kubeconfigPath: values.kubeconfig,
    withOperator: !values['no-operator'],
    port,
    trainerFrom: source('--trainer-from', values['trainer-from']),
    operatorFrom: source('--operator-from', values['operator-from']),
    operatorArgs: values['operator-arg'],
    verbose: values.verbose,
    ...(podIps ? { agent: { podIpRange: podIps } } : {}),
    ...(values['state-dir'] ? { stateDir: values['state-dir'] } : {}),
    log,
  });
  const operator = cluster.operatorPid === undefined ? 'operator not started (--no-operator)' : `operator pid ${cluster.operatorPid}, log ${cluster.operatorLog}`;
  process.stdout.write(
    [
      `local-cluster ready: API server ${cluster.url}, kubeconfig ${cluster.kubeconfigPath}, state dir ${cluster.stateDir}, ${operator}`,
      `  nodes: ${cluster.agents.map((a) => a.nodeName).join(', ')}`,
      `  try: kubectl --kubeconfig ${cluster.kubeconfigPath} get nodes,pods,ctj`,
      `  pod logs: kubectl --kubeconfig ${cluster.kubeconfigPath} logs POD (files: ${cluster.agent.logsDir})`,
      ...(cluster.s3 ? [`  local S3: ${cluster.s3.endpoint} (pods: ${cluster.s3.inClusterEndpoint}); run a job: kubectl --kubeconfig ${cluster.kubeconfigPath} apply -f examples/local-cpu-lenet.yaml`] : []),
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
