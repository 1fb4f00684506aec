import t from 'tap';
import type { LeaseApi, LeaseRecord } from '../../../operator/controller/cluster-api.js';
import type { Clock } from '../../../operator/runtime/clock.js';
import { KubeClusterApi } from '../../../operator/controller/kube-client.js';
import { LeaderElector, LeaseObservation } from '../../../operator/runtime/leader-election.js';
import { silentLogger } from '../../../operator/observability/logger.js';
import { kubeConfigFor, startTestApiServer } from '../../helpers/apiserver.js';
import { FakeClusterApi, ManualClock, waitFor } from '../../helpers/fake-cluster-api.js';

/** A LeaseApi that can be cut off, as a network partition would. */
function partitionable(api: LeaseApi): LeaseApi & { cut: boolean } {
  const wrapper = {
    cut: false,
    getLease: (ns: string, name: string) => (wrapper.cut ? Promise.reject(new Error('connection refused')) : api.getLease(ns, name)),
    createLease: (l: LeaseRecord) => (wrapper.cut ? Promise.reject(new Error('connection refused')) : api.createLease(l)),
    updateLease: (l: LeaseRecord) => (wrapper.cut ? Promise.reject(new Error('connection refused')) : api.updateLease(l)),
  };
  return wrapper;
}

/** A replica's wall clock: the shared manual time plus a fixed skew. Timers run on the shared time. */
function skewed(base: ManualClock, skewMs: number): Clock {
  return { now: () => base.now() + skewMs, schedule: (fn, delayMs) => base.schedule(fn, delayMs) };
}

interface Timing {
  leaseDurationMs: number;
  renewDeadlineMs: number;
  retryPeriodMs: number;
}

function candidate(api: LeaseApi, identity: string, name: string, timing: Timing, clock?: Clock) {
  const state = { leading: false, lost: false, startedAt: -1 };
  const elector = new LeaderElector({
    api,
    namespace: 'default',
    name,
    identity,
    ...timing,
    logger: silentLogger,
    ...(clock === undefined ? {} : { clock }),
    onStartedLeading: () => {
      state.leading = true;
      state.startedAt = Date.now();
    },
    onStoppedLeading: () => {
      state.leading = false;
      state.lost = true;
    },
  });
  void elector.run();
  return { elector, state };
}

t.test('LeaseObservation: expiry counts from when this replica saw the record change, not from renewTime', async (t) => {
  const seen = new LeaseObservation();
  t.notOk(seen.isValid(0), 'nothing observed: nothing to respect');
  // The holder's clock is an hour behind ours: its renewTime looks long expired.
  const lease: LeaseRecord = { namespace: 'n', name: 'l', holderIdentity: 'a', leaseDurationSeconds: 15, renewTime: new Date(1_000), resourceVersion: '1' };
  seen.observe(lease, 3_600_000);
  t.ok(seen.isValid(3_600_000 + 14_999), 'valid for leaseDurationSeconds after we first saw it');
  t.notOk(seen.isValid(3_600_000 + 15_000), 'expired once it went unchanged for leaseDurationSeconds');
  seen.observe({ ...lease, resourceVersion: '2' }, 3_610_000);
  t.notOk(seen.isValid(3_615_001), 'a new resourceVersion with the same record is not a renewal');
  seen.observe({ ...lease, renewTime: new Date(2_000), resourceVersion: '3' }, 3_620_000);
  t.ok(seen.isValid(3_634_999), 'a changed record restarts the clock');
  t.equal(seen.holder, 'a');
  // The holder's clock is an hour ahead: its renewTime lies in our future, which must not extend its claim.
  const ahead = new LeaseObservation();
  ahead.observe({ ...lease, renewTime: new Date(7_200_000) }, 0);
  t.notOk(ahead.isValid(15_000), 'a renewTime in the future does not keep the lease valid');
});

t.test('skewed clocks: two replicas never lead together, and a dead leader is replaced within a lease duration', async (t) => {
  const timing: Timing = { leaseDurationMs: 15_000, renewDeadlineMs: 10_000, retryPeriodMs: 2_000 };
  // Each skew pairs a leader clock with a standby clock far apart in both directions.
  for (const [leaderSkew, standbySkew] of [
    [-40_000, 40_000],
    [40_000, -40_000],
  ] as const) {
    await t.test(`leader ${leaderSkew / 1000} s, standby ${standbySkew / 1000} s`, async (t) => {
      const base = new ManualClock();
      const fake = new FakeClusterApi();
      const aApi = partitionable(fake);
      const a = candidate(aApi, 'pod-a', 'lease', timing, skewed(base, leaderSkew));
      const flush = () => new Promise<void>((resolve) => setImmediate(resolve));
      await flush();
      t.ok(a.state.leading, 'a leads the empty lease at once');
      const b = candidate(fake, 'pod-b', 'lease', timing, skewed(base, standbySkew));
      let overlapMs = 0;
      let bLedAt = -1;
      const step = async (ms: number): Promise<void> => {
        base.advance(ms);
        await flush();
        if (a.state.leading && b.state.leading) overlapMs += ms;
        if (b.state.leading && bLedAt < 0) bLedAt = base.now();
      };
      for (let i = 0; i < 600; i++) await step(100);
      t.ok(a.state.leading, 'a still leads after a minute of renewing');
      t.notOk(b.state.leading, 'b stays a follower whatever the skew');

      aApi.cut = true;
      const cutAt = base.now();
      for (let i = 0; i < 400 && bLedAt < 0; i++) await step(100);
      t.ok(a.state.lost, 'a, cut off from the API server, stepped down');
      t.ok(bLedAt > 0, 'b took over');
      const failover = bLedAt - cutAt;
      t.ok(failover <= timing.leaseDurationMs + 2 * timing.retryPeriodMs, `b took over ${failover} ms after a's last renewal could have landed`);
      t.equal(overlapMs, 0, 'never two leaders at once');
      t.equal((await fake.getLease('default', 'lease'))?.holderIdentity, 'pod-b');
      t.equal((await fake.getLease('default', 'lease'))?.leaseTransitions, 1, 'leaseTransitions counts the takeover');
      await Promise.all([a.elector.stop(), b.elector.stop()]);
    });
  }
});

t.test('leader election against the local API server', async (t) => {
  const server = await startTestApiServer(t);
  const api = new KubeClusterApi(kubeConfigFor(server.url));
  // Real time on a shared machine: generous timing, and every wait polls to a deadline.
  const timing: Timing = { leaseDurationMs: 2000, renewDeadlineMs: 1500, retryPeriodMs: 200 };

  await t.test('one candidate leads; a cut-off leader steps down and the other takes over', async (t) => {
    const aApi = partitionable(api);
    const a = candidate(aApi, 'pod-a_1', 'lease-1', timing);
    t.ok(await waitFor(() => a.state.leading, 10_000), 'a leads');
    const b = candidate(api, 'pod-b_2', 'lease-1', timing);
    t.teardown(() => Promise.all([a.elector.stop(), b.elector.stop()]));
    const lease = await api.getLease('default', 'lease-1');
    t.equal(lease?.holderIdentity, 'pod-a_1');
    t.equal(lease?.leaseDurationSeconds, 2);
    t.ok(lease?.renewTime instanceof Date && Math.abs(Date.now() - lease.renewTime.getTime()) < 60_000, 'renewTime round-trips as a date');

    aApi.cut = true;
    t.ok(await waitFor(() => a.state.lost, 15_000), 'a notices it cannot renew and steps down');
    t.ok(await waitFor(() => b.state.leading, 15_000), 'b takes over');
    t.ok(b.state.startedAt >= 0 && a.state.lost, 'a had stepped down when b started');
    const after = await api.getLease('default', 'lease-1');
    t.equal(after?.holderIdentity, 'pod-b_2');
    t.equal(after?.leaseTransitions, 1, 'leaseTransitions counts the takeover');
  });

  await t.test('a leader that stops gracefully releases the lease; the standby takes over without waiting it out', async (t) => {
    const slow: Timing = { leaseDurationMs: 60_000, renewDeadlineMs: 40_000, retryPeriodMs: 200 };
    const a = candidate(api, 'pod-a_3', 'lease-2', slow);
    t.ok(await waitFor(() => a.state.leading, 10_000));
    const b = candidate(api, 'pod-b_4', 'lease-2', slow);
    t.teardown(() => b.elector.stop());
    const stoppedAt = Date.now();
    await a.elector.stop();
    t.not((await api.getLease('default', 'lease-2'))?.holderIdentity, 'pod-a_3', 'the lease no longer names a');
    t.ok(await waitFor(() => b.state.leading, 20_000), 'b leads');
    const takeover = Date.now() - stoppedAt;
    t.ok(takeover < slow.leaseDurationMs / 2, `takeover after release in ${takeover} ms, far under the 60 s lease duration`);
    t.notOk(a.state.lost, 'a graceful stop is not a lost lease');
  });

  await t.test('invalid timing is rejected with the lease named', async (t) => {
    t.throws(
      () => new LeaderElector({ api, namespace: 'default', name: 'l', identity: 'x', leaseDurationMs: 1000, renewDeadlineMs: 2000, retryPeriodMs: 100, logger: silentLogger, onStartedLeading: () => undefined, onStoppedLeading: () => undefined }),
      /leader election default\/l: need lease duration > renew deadline > retry period/,
    );
  });
});
