/** The cifar-operator command line: flags, defaults and validation, with errors naming the flag. */
import { UsageError } from '../../contract/errors.js';
import { parseLogLevel, type LogLevel } from '../observability/logger.js';
import { parseListenAddress } from '../observability/http-server.js';

export interface OperatorFlags {
  help: boolean;
  kubeconfig?: string;
  namespace?: string;
  metricsAddr: { host: string; port: number };
  leaderElect: boolean;
  leaderElectionNamespace: string;
  leaderElectionId: string;
  leaseDurationMs: number;
  renewDeadlineMs: number;
  retryPeriodMs: number;
  progressIntervalMs: number;
  logLevel: LogLevel;
  workers: number;
  shutdownTimeoutMs: number;
  defaultTrainerImage?: string;
  defaultTrainerServiceAccount?: string;
}

export const USAGE = `Usage: cifar-operator [flags]

Runs the CifarTrainingJob controller (training.cifar-operator.io/v1alpha1).

Flags:
  --kubeconfig PATH                 kubeconfig file; default in-cluster credentials, else $KUBECONFIG or ~/.kube/config
  --namespace NS                    watch only this namespace (default: all namespaces)
  --metrics-addr [HOST]:PORT        /metrics, /healthz and /readyz (default :8080)
  --leader-elect[=true|false]       elect a leader on a Lease so replicas can run side by side (default true)
  --leader-election-namespace NS    namespace of the Lease (default $POD_NAMESPACE or default)
  --leader-election-id NAME         name of the Lease (default cifar-operator-leader)
  --lease-duration SECONDS          how long a lease is valid without renewal (default 15)
  --renew-deadline SECONDS          the leader gives up after failing to renew for this long (default 10)
  --retry-period SECONDS            how often candidates retry and the leader renews (default 2)
  --progress-interval SECONDS       poll rank 0's /progress at most this often per job; 0 disables (default 10)
  --workers N                       concurrent reconciles (default 2)
  --shutdown-timeout SECONDS        bound on graceful shutdown after SIGTERM (default 25)
  --default-trainer-image IMAGE     trainer image for jobs without spec.image (default: none; such jobs fail naming spec.image)
  --default-trainer-service-account NAME
                                    ServiceAccount for trainer pods of jobs without spec.serviceAccountName
                                    (default: none, the namespace's default ServiceAccount)
  --log-level debug|info|warn|error (default info)
  --help                            this text
`;

const BOOLEAN = new Set(['help', 'leader-elect']);
const VALUED = new Set([
  'kubeconfig', 'namespace', 'metrics-addr', 'leader-election-namespace', 'leader-election-id', 'lease-duration',
  'renew-deadline', 'retry-period', 'progress-interval', 'workers', 'shutdown-timeout', 'log-level',
  'default-trainer-image', 'default-trainer-service-account',
]);

function seconds(flag: string, text: string, min: number): number {
  const value = Number(text);
  if (text.trim() === '' || !Number.isFinite(value) || value < min) throw new UsageError(`--${flag} ${text}: expected a number of seconds >= ${min}`);
  return value * 1000;
}

/** The raw values of the flags given, by name (booleans as "true"/"false"). */
function readFlagValues(argv: readonly string[]): Map<string, string> {
  const values = new Map<string, string>();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] ?? '';
    if (arg === '-h') {
      values.set('help', 'true');
      continue;
    }
    const m = /^--(no-)?([a-z-]+)(?:=(.*))?$/.exec(arg);
    if (m === null) throw new UsageError(`unexpected argument ${arg}; see --help`);
    const [, negated, name = '', inline] = m;
    if (BOOLEAN.has(name)) {
      if (negated !== undefined && inline !== undefined) throw new UsageError(`--no-${name} takes no value`);
      const value = negated !== undefined ? 'false' : (inline ?? 'true');
      if (value !== 'true' && value !== 'false') throw new UsageError(`--${name}=${value}: expected true or false`);
      values.set(name, value);
    } else if (VALUED.has(name) && negated === undefined) {
      const value = inline ?? argv[++i];
      if (value === undefined) throw new UsageError(`--${name} needs a value`);
      values.set(name, value);
    } else {
      throw new UsageError(`unknown flag ${arg}; see --help`);
    }
  }
  return values;
}

/** A parser's error as a usage error. */
function asUsage<T>(parse: () => T): T {
  try {
    return parse();
  } catch (err) {
    throw new UsageError(err instanceof Error ? err.message : String(err));
  }
}

export function parseFlags(argv: readonly string[], env: NodeJS.ProcessEnv = process.env): OperatorFlags {
  const values = readFlagValues(argv);
  const get = (name: string): string | undefined => values.get(name);
  const workersText = get('workers') ?? '2';
  const workers = Number(workersText);
  if (!Number.isInteger(workers) || workers < 1 || workers > 64) throw new UsageError(`--workers ${workersText}: expected an integer from 1 to 64`);
  const logLevel = asUsage(() => parseLogLevel(get('log-level') ?? 'info'));
  const metricsAddr = asUsage(() => parseListenAddress(get('metrics-addr') ?? ':8080'));
  const flags: OperatorFlags = {
    help: get('help') === 'true',
    metricsAddr,
    leaderElect: (get('leader-elect') ?? 'true') === 'true',
    leaderElectionNamespace: get('leader-election-namespace') ?? (env.POD_NAMESPACE !== undefined && env.POD_NAMESPACE !== '' ? env.POD_NAMESPACE : 'default'),
    leaderElectionId: get('leader-election-id') ?? 'cifar-operator-leader',
    leaseDurationMs: seconds('lease-duration', get('lease-duration') ?? '15', 1),
    renewDeadlineMs: seconds('renew-deadline', get('renew-deadline') ?? '10', 0.1),
    retryPeriodMs: seconds('retry-period', get('retry-period') ?? '2', 0.05),
    progressIntervalMs: seconds('progress-interval', get('progress-interval') ?? '10', 0),
    logLevel,
    workers,
    shutdownTimeoutMs: seconds('shutdown-timeout', get('shutdown-timeout') ?? '25', 1),
  };
  if (!(flags.leaseDurationMs > flags.renewDeadlineMs && flags.renewDeadlineMs > flags.retryPeriodMs)) {
    throw new UsageError('--lease-duration must exceed --renew-deadline, which must exceed --retry-period');
  }
  const kubeconfig = get('kubeconfig');
  if (kubeconfig !== undefined) flags.kubeconfig = kubeconfig;
  const namespace = get('namespace');
  if (namespace !== undefined) flags.namespace = namespace;
  return { ...flags, ...trainerDefaults(get) };
}

/** --default-trainer-image and --default-trainer-service-account, checked. */
function trainerDefaults(get: (name: string) => string | undefined): Pick<OperatorFlags, 'defaultTrainerImage' | 'defaultTrainerServiceAccount'> {
  const flags: Pick<OperatorFlags, 'defaultTrainerImage' | 'defaultTrainerServiceAccount'> = {};
  const image = get('default-trainer-image');
  if (image !== undefined) {
    if (image.trim() === '' || /\s/.test(image)) throw new UsageError(`--default-trainer-image ${JSON.stringify(image)}: expected an image reference such as registry.example.com/cifar-trainer:1.0`);
    flags.defaultTrainerImage = image;
  }
  const serviceAccount = get('default-trainer-service-account');
  if (serviceAccount !== undefined) {
    if (!/^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/.test(serviceAccount)) throw new UsageError(`--default-trainer-service-account ${JSON.stringify(serviceAccount)}: expected a ServiceAccount name (lower-case letters, digits, '-' and '.')`);
    flags.defaultTrainerServiceAccount = serviceAccount;
  }
  return flags;
}
