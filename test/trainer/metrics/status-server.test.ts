import t from 'tap';
import { connect, type Socket } from 'node:net';
import { Registry } from 'prom-client';
import { startStatusServer, STATUS_IDLE_TIMEOUT_MS } from '../../../trainer/metrics/status-server.js';
import { parseTrainOptions } from '../../../trainer/cli/train.js';
import { HOSTILE_RSS_LIMIT_BYTES, mb } from '../../helpers/peak-rss.js';

/** Opens a TCP connection and reports when the server closes it. */
function open(port: number): Promise<{ socket: Socket; closed: Promise<number> }> {
  return new Promise((resolve, reject) => {
    const opened = Date.now();
    const socket = connect({ host: '127.0.0.1', port }, () => resolve({ socket, closed }));
    const closed = new Promise<number>((r) => socket.on('close', () => r(Date.now() - opened)));
    socket.on('error', () => undefined);
    socket.once('error', reject);
  });
}

t.test('the metrics server binds the pod IP, else loopback: never every interface by default', async (t) => {
  const base = ['--data-train', 'x.rec', '--metrics-port', '9400'];
  t.equal(parseTrainOptions(base, {}).metrics?.host, '127.0.0.1', 'outside a pod: loopback');
  t.equal(parseTrainOptions(base, { POD_IP: '10.1.2.3' }).metrics?.host, '10.1.2.3', 'in a pod: the pod IP');
  t.equal(parseTrainOptions([...base, '--metrics-host', '0.0.0.0'], { POD_IP: '10.1.2.3' }).metrics?.host, '0.0.0.0', 'all interfaces only when asked');
});

t.test('the metrics server caps connections and closes idle ones', async (t) => {
  const server = await startStatusServer({ host: '127.0.0.1', port: 0, registry: new Registry(), progress: () => undefined });
  t.teardown(() => server.close());
  const port = Number(new URL(server.url).port);
  // 64 idle strangers: past the cap they are dropped at once, the rest when the idle timeout
  // ends. Told apart by when each closed (dropped long before the timeout), not by a fixed
  // window that a busy machine can miss.
  const conns = await Promise.all(Array.from({ length: 64 }, () => open(port)));
  const deadline = STATUS_IDLE_TIMEOUT_MS + 10_000;
  const ages = await Promise.all(conns.map((c) => Promise.race([c.closed, new Promise<number>((r) => setTimeout(() => r(Infinity), deadline))])));
  const dropped = ages.filter((age) => age < STATUS_IDLE_TIMEOUT_MS / 2).length;
  t.ok(dropped >= 64 - 32, `${dropped} of 64 connections over the cap of 32 were refused`);
  // The ones held are idle: each is closed within the idle timeout, not kept for minutes.
  const held = ages.filter((age) => age >= STATUS_IDLE_TIMEOUT_MS / 2);
  t.ok(held.length > 0, `${held.length} connections were accepted`);
  const oldest = Math.max(...held);
  t.ok(oldest <= deadline && STATUS_IDLE_TIMEOUT_MS <= 15_000, `every idle connection closed, the last after ${oldest} ms`);
  // Once they are gone a poller gets through.
  const res = await fetch(`${server.url}/healthz`);
  t.equal(res.status, 200);
  for (const c of conns) c.socket.destroy();
  const rss = process.resourceUsage().maxRSS * 1024;
  t.ok(rss < HOSTILE_RSS_LIMIT_BYTES, `peak RSS of this test process ${mb(rss)} < 600 MB`);
});
