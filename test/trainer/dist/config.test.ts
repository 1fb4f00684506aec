import t from 'tap';
import { UsageError } from '../../../trainer/util/errors.js';
import { describeDistConfig, distConfigFromEnv } from '../../../trainer/dist/config.js';

const SECRET = 'a-secret-of-enough-bytes';
const base = { WORLD_SIZE: '4', RANK: '2', MASTER_ADDR: '127.0.0.2', MASTER_PORT: '29501', CIFAR_PEER_SECRET: SECRET };

t.test('WORLD_SIZE unset or 1 means one process and needs nothing else', async (t) => {
  const solo = distConfigFromEnv({});
  t.equal(solo.worldSize, 1);
  t.equal(solo.rank, 0);
  t.equal(solo.secret, undefined);
  t.match(describeDistConfig(solo), /single process/);
  t.equal(distConfigFromEnv({ WORLD_SIZE: '1' }).worldSize, 1);
});

t.test('reads the operator environment with defaults', async (t) => {
  const c = distConfigFromEnv({ ...base, POD_IP: '127.0.0.4' });
  t.same(
    { w: c.worldSize, r: c.rank, a: c.masterAddr, p: c.masterPort, h: c.listenHost, l: c.listenPort },
    { w: 4, r: 2, a: '127.0.0.2', p: 29501, h: '127.0.0.4', l: 0 },
  );
  t.equal(c.secret?.toString(), SECRET);
  t.equal(c.rendezvousTimeoutMs, 120_000, 'rendezvous timeout defaults to 120 s');
  t.equal(c.peerTimeoutMs, 30_000, 'peer timeout defaults to 30 s');
  t.notMatch(describeDistConfig(c), SECRET, 'the secret never appears in the description');
});

t.test('flags override the environment', async (t) => {
  const c = distConfigFromEnv(base, { rank: 3, masterPort: 4000, peerTimeoutS: 2, rendezvousTimeoutS: 0.5, podIp: '127.0.0.9' });
  t.same([c.rank, c.masterPort, c.peerTimeoutMs, c.rendezvousTimeoutMs, c.listenHost], [3, 4000, 2000, 500, '127.0.0.9']);
});

t.test('secret from a mounted file, trailing newline dropped', async (t) => {
  const reads: string[] = [];
  const c = distConfigFromEnv({ ...base, CIFAR_PEER_SECRET: undefined, CIFAR_PEER_SECRET_FILE: '/var/run/secret/peer' }, {}, (p) => {
    reads.push(p);
    return `${SECRET}\n`;
  });
  t.same(reads, ['/var/run/secret/peer']);
  t.equal(c.secret?.toString(), SECRET);
  const missing = (): never => {
    throw Object.assign(new Error('nope'), { code: 'ENOENT' });
  };
  t.throws(
    () => distConfigFromEnv({ ...base, CIFAR_PEER_SECRET: undefined, CIFAR_PEER_SECRET_FILE: '/x' }, {}, missing),
    /CIFAR_PEER_SECRET_FILE \(\/x\): cannot read the secret file: ENOENT/,
  );
});

t.test('validation errors name the variable and the problem', async (t) => {
  const cases: [Record<string, string | undefined>, RegExp][] = [
    [{ ...base, RANK: '4' }, /RANK: rank 4 is out of range for WORLD_SIZE 4 \(expected 0\.\.3\)/],
    [{ ...base, RANK: undefined }, /RANK: required when WORLD_SIZE is 4/],
    [{ ...base, RANK: '-1' }, /RANK: expected an integer/],
    [{ ...base, WORLD_SIZE: 'two' }, /WORLD_SIZE: expected an integer/],
    [{ ...base, MASTER_ADDR: '' }, /MASTER_ADDR: required when WORLD_SIZE is 4/],
    [{ ...base, MASTER_PORT: '70000' }, /MASTER_PORT: expected an integer in \[1, 65535\]/],
    [{ ...base, CIFAR_PEER_SECRET: undefined }, /peer secret is required when WORLD_SIZE is 4/],
    [{ ...base, CIFAR_PEER_SECRET: 'short' }, /at least 16 bytes, got 5/],
    [{ ...base, CIFAR_PEER_SECRET_FILE: '/x' }, /both set/],
    [{ ...base, CIFAR_PEER_TIMEOUT: '0' }, /CIFAR_PEER_TIMEOUT: expected a number of seconds/],
    [{ ...base, CIFAR_RENDEZVOUS_TIMEOUT: 'soon' }, /CIFAR_RENDEZVOUS_TIMEOUT/],
    [{ ...base, CIFAR_JOB_ID: 'bad job id!' }, /CIFAR_JOB_ID/],
    [{ ...base, CIFAR_ALLREDUCE_CHUNK_BYTES: '5002' }, /not a multiple of 4/],
  ];
  for (const [env, re] of cases) {
    t.throws(() => distConfigFromEnv(env), UsageError, `${re}`);
    t.throws(() => distConfigFromEnv(env), re);
  }
});
