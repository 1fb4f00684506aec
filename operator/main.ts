#!/usr/bin/env node
/**
 * cifar-operator: the CifarTrainingJob controller. This is exactly what runs in a cluster;
 * the local development cluster runs the same binary against its API server.
 */
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { UsageError } from '../contract/errors.js';
import { errorMessage } from './runtime/api-errors.js';
import { USAGE, parseFlags, type OperatorFlags } from './controller/flags.js';
import { KubeClusterApi, loadKubeConfig } from './controller/kube-client.js';
import { Operator } from './controller/operator.js';
import { startObservabilityServer } from './observability/http-server.js';
import { createJsonLogger, type Logger } from './observability/logger.js';
import { OperatorMetrics } from './observability/metrics.js';

async function run(flags: OperatorFlags, logger: Logger): Promise<number> {
  const api = new KubeClusterApi(loadKubeConfig(flags.kubeconfig));
  const metrics = new OperatorMetrics();
  // The pod name, plus a suffix so a restarted container never mistakes the old lease for its own.
  const podName = process.env.POD_NAME ?? hostname();
  const identity = `${podName}_${randomBytes(4).toString('hex')}`;
  let exitCode = 0;
  let shutdown: ((code: number) => void) | undefined;
  const stopped = new Promise<number>((resolve) => (shutdown = resolve));
  const operator = new Operator({
    api,
    logger,
    metrics,
    ...(flags.namespace === undefined ? {} : { namespace: flags.namespace }),
    workers: flags.workers,
    progressIntervalMs: flags.progressIntervalMs,
    instance: identity,
    defaults: {
      ...(flags.defaultTrainerImage === undefined ? {} : { trainerImage: flags.defaultTrainerImage }),
      ...(flags.defaultTrainerServiceAccount === undefined ? {} : { trainerServiceAccount: flags.defaultTrainerServiceAccount }),
    },
    ...(flags.leaderElect
      ? {
          leaderElection: {
            namespace: flags.leaderElectionNamespace,
            name: flags.leaderElectionId,
            identity,
            leaseDurationMs: flags.leaseDurationMs,
            renewDeadlineMs: flags.renewDeadlineMs,
            retryPeriodMs: flags.retryPeriodMs,
          },
        }
      : {}),
    // As controller-runtime: a replica that lost its lease exits, and restarts clean.
    onLostLeadership: () => shutdown?.(1),
  });
  const server = await startObservabilityServer({ ...flags.metricsAddr, registry: metrics.registry, isReady: () => operator.isReady(), logger });
  logger.info('metrics server listening', { address: `${server.host}:${server.port}` });
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    process.once(signal, () => {
      logger.info('shutting down', { signal });
      shutdown?.(0);
    });
  }
  logger.info('starting', { identity, namespace: flags.namespace ?? '(all)', leaderElect: flags.leaderElect, workers: flags.workers });
  operator.start();
  exitCode = await stopped;
  const bounded = await Promise.race([
    operator.stop().then(() => true),
    new Promise<boolean>((resolve) => setTimeout(() => resolve(false), flags.shutdownTimeoutMs).unref()),
  ]);
  await server.close();
  if (!bounded) {
    logger.error('graceful shutdown did not finish in time', { timeoutMs: flags.shutdownTimeoutMs });
    return 1;
  }
  logger.info('stopped', { exitCode });
  return exitCode;
}

async function main(): Promise<void> {
  let flags: OperatorFlags;
  try {
    flags = parseFlags(process.argv.slice(2));
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    process.stderr.write(`cifar-operator: ${err.message}\n`);
    process.exitCode = 2;
    return;
  }
  if (flags.help) {
    process.stdout.write(USAGE);
    return;
  }
  const logger = createJsonLogger({ level: flags.logLevel });
  try {
    // Exit explicitly: an idle keep-alive socket must not hold a stopped operator open.
    process.exit(await run(flags, logger));
  } catch (err) {
    logger.error('operator failed', { err: errorMessage(err) });
    process.exit(1);
  }
}

await main();
