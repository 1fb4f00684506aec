import t from 'tap';
import type { Pod, PodStatus } from '../../../operator/api/k8s-types.js';
import { EXIT_FAILURE, EXIT_OK, EXIT_RETRYABLE, EXIT_USAGE, classifyPodFailure } from '../../../operator/core/exit-codes.js';
import * as trainer from '../../../trainer/dist/exit-codes.js';

function pod(status: PodStatus): Pod {
  return { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'j-worker-1' }, spec: { restartPolicy: 'Never', containers: [] }, status };
}

function exited(exitCode: number, extra: { reason?: string; message?: string } = {}): Pod {
  return pod({ phase: 'Failed', containerStatuses: [{ name: 'trainer', state: { terminated: { exitCode, ...extra } } }] });
}

t.test('the operator reads the exit codes the trainer writes', async (t) => {
  t.equal(EXIT_OK, trainer.EXIT_OK);
  t.equal(EXIT_FAILURE, trainer.EXIT_FAILURE);
  t.equal(EXIT_USAGE, trainer.EXIT_USAGE);
  t.equal(EXIT_RETRYABLE, trainer.EXIT_RETRYABLE);
  t.equal(classifyPodFailure(exited(trainer.EXIT_RETRYABLE)).kind, trainer.isRetryableExit(trainer.EXIT_RETRYABLE) ? 'retryable' : 'permanent');
});

t.test('classification by exit code', async (t) => {
  const cases: Array<[number, string, string, RegExp]> = [
    [75, 'retryable', 'PeerLost', /exited with code 75 \(peer lost or rendezvous timed out\)/],
    [143, 'retryable', 'Killed', /killed by SIGTERM/],
    [137, 'retryable', 'Killed', /killed by SIGKILL/],
    [1, 'permanent', 'TrainerFailed', /exited with code 1 \(training failed\)/],
    [2, 'permanent', 'UsageError', /usage error/],
    [3, 'permanent', 'UnexpectedExitCode', /unexpected code 3/],
  ];
  for (const [code, kind, reason, detail] of cases) {
    const f = classifyPodFailure(exited(code));
    t.match(f, { kind, reason, exitCode: code, detail }, `exit ${code}`);
  }
});

t.test('OOMKilled is permanent and says what to change', async (t) => {
  t.match(classifyPodFailure(exited(137, { reason: 'OOMKilled' })), { kind: 'permanent', reason: 'OOMKilled', detail: /resources\.limits\.memory/ });
});

t.test('the termination message is kept, trimmed to its end', async (t) => {
  t.match(classifyPodFailure(exited(1, { message: 'DataFormatError: s3://b/x.rec: at byte offset 12: bad magic\n' })), { message: 'DataFormatError: s3://b/x.rec: at byte offset 12: bad magic' });
  const long = `${'x'.repeat(5000)}THE END`;
  const f = classifyPodFailure(exited(1, { message: long }));
  t.ok(f.kind !== 'none' && f.message !== undefined && f.message.length < 700 && f.message.endsWith('THE END'));
});

t.test('cluster-side endings are retryable', async (t) => {
  t.match(classifyPodFailure(pod({ phase: 'Failed', reason: 'Evicted', message: 'The node was low on resource: memory.' })), { kind: 'retryable', reason: 'Evicted', message: /low on resource/ });
  t.match(classifyPodFailure(pod({ phase: 'Failed', reason: 'NodeLost' })), { kind: 'retryable', reason: 'NodeLost' });
  t.match(classifyPodFailure(pod({ phase: 'Failed' })), { kind: 'retryable', reason: 'PodFailed', detail: /before the trainer exited/ });
});

t.test('pods that have not failed are not failures, except images that can never start', async (t) => {
  t.same(classifyPodFailure(pod({ phase: 'Running' })), { kind: 'none' });
  t.same(classifyPodFailure(pod({ phase: 'Succeeded' })), { kind: 'none' });
  t.same(classifyPodFailure(pod({})), { kind: 'none' });
  t.same(classifyPodFailure(pod({ phase: 'Pending', containerStatuses: [{ name: 'trainer', state: { waiting: { reason: 'ImagePullBackOff' } } }] })), { kind: 'none' }, 'a pull back-off may recover');
  t.match(classifyPodFailure(pod({ phase: 'Pending', containerStatuses: [{ name: 'trainer', state: { waiting: { reason: 'InvalidImageName', message: 'bad ref' } } }] })), { kind: 'permanent', reason: 'InvalidImageName' });
});
