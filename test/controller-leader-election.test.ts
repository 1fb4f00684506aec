import t from 'tap';
import type { LeaseApi } from '../operator/controller/cluster-api.js';
import { KubeClusterApi } from '../operator/controller/kube-client.js';
import { LeaderElector, leaseExpired } from '../operator/controller/leader-election.js';
import { silentLogger } from '../operator/observability/logger.js';
import { kubeConfigFor, startTestApiServer } from './helpers/apiserver.js';
import { waitFor } from './helpers/controller.js';

const TIMING = { leaseDurationMs: 1000, renewDeadlineMs: 600, retryPeriodMs: 100 };

/** A LeaseApi that can be cut off, as a network partition would. */
function partitionable(api: LeaseApi): LeaseApi & { cut: boolean } {
  const wrapper = {
    cut: false,
    getLease: (ns: string, name: string) => (wrapper.cut ? Promise.reject(new Error('connection refused')) : api.getLease(ns, name)),
    createLease: (l: Parameters<LeaseApi['createLease']>[0]) => (wrapper.cut ? Promise.reject(new Error('connection refused')) : api.createLease(l)),
    updateLease: (l: Parameters<LeaseApi['updateLease']>[0]) => (wrapper.cut ? Promise.reject(new Error('connection refused')) : api.updateLease(l)),
  };
  return wrapper;
}

function candidate(api: LeaseApi, identity: string, name: string) {
  const state = { leading: false, lost: false };
  const elector = new LeaderElector({
    api,
    namespace: 'default',
    name,
    identity,
    ...TIMING,
    logger: silentLogger,
    onStartedLeading: () => (state.leading = true),
    onStoppedLeading: () => {
      state.leading = false;
      state.lost = true;
    },
  });
  void elector.run();
  return { elector, state };
}

t.test('leaseExpired compares renewTime + leaseDurationSeconds with now', async (t) => {
  const lease = { namespace: 'n', name: 'l', renewTime: new Date(10_000), leaseDurationSeconds: 2 };
  t.notOk(leaseExpired(lease, 11_999));
  t.ok(leaseExpired(lease, 12_001));
  t.ok(leaseExpired({ namespace: 'n', name: 'l' }, 0), 'a lease never renewed is free');
});

t.test('leader election against the local API server', async (t) => {
  const server = await startTestApiServer(t);
  const api = new KubeClusterApi(kubeConfigFor(server.url));

  await t.test('two candidates: exactly one leads; a cut-off leader steps down and the other takes over within the lease duration', async (t) => {
    const aApi = partitionable(api);
    const a = candidate(aApi, 'pod-a_1', 'lease-1');
    t.ok(await waitFor(() => a.state.leading, 3000), 'a leads');
    const b = candidate(api, 'pod-b_2', 'lease-1');
    t.teardown(() => Promise.all([a.elector.stop(), b.elector.stop()]));
    await new Promise((r) => setTimeout(r, 1500));
    t.notOk(b.state.leading, 'b stays a follower while a renews (beyond one lease duration)');
    const lease = await api.getLease('default', 'lease-1');
    t.equal(lease?.holderIdentity, 'pod-a_1');
    t.equal(lease?.leaseDurationSeconds, 1);
    t.ok(lease?.renewTime instanceof Date && Date.now() - lease.renewTime.getTime() < 1000, 'renewTime is recent (MicroTime round-trips)');

    aApi.cut = true;
    const cutAt = Date.now();
    t.ok(await waitFor(() => a.state.lost, 3000), 'a notices it cannot renew and steps down');
    t.ok(await waitFor(() => b.state.leading, 3000), 'b takes over');
    const failover = Date.now() - cutAt;
    t.ok(failover <= TIMING.leaseDurationMs + 2 * TIMING.retryPeriodMs + 500, `failover in ${failover} ms, within the lease duration plus a retry`);
    const after = await api.getLease('default', 'lease-1');
    t.equal(after?.holderIdentity, 'pod-b_2');
    t.equal(after?.leaseTransitions, 1, 'leaseTransitions counts the takeover');
    t.notOk(a.state.leading && b.state.leading, 'never two leaders');
  });

  await t.test('a leader that stops gracefully releases the lease; the standby takes over at once', async (t) => {
    const a = candidate(api, 'pod-a_3', 'lease-2');
    t.ok(await waitFor(() => a.state.leading, 3000));
    const b = candidate(api, 'pod-b_4', 'lease-2');
    t.teardown(() => b.elector.stop());
    await new Promise((r) => setTimeout(r, 200));
    const stoppedAt = Date.now();
    await a.elector.stop();
    t.not((await api.getLease('default', 'lease-2'))?.holderIdentity, 'pod-a_3', 'the lease no longer names a');
    t.ok(await waitFor(() => b.state.leading, 3000), 'b leads');
    const takeover = Date.now() - stoppedAt;
    t.ok(takeover < TIMING.leaseDurationMs, `takeover after release in ${takeover} ms, well under the lease duration`);
    t.notOk(a.state.lost, 'a graceful stop is not a lost lease');
  });

  await t.test('invalid timing is rejected with the lease named', async (t) => {
    t.throws(
      () => new LeaderElector({ api, namespace: 'default', name: 'l', identity: 'x', leaseDurationMs: 1000, renewDeadlineMs: 2000, retryPeriodMs: 100, logger: silentLogger, onStartedLeading: () => undefined, onStoppedLeading: () => undefined }),
      /leader election default\/l: need lease duration > renew deadline > retry period/,
    );
  });
});
