import t from 'tap';
import { inspect } from 'node:util';
import { describeS3Config, resolveS3Config, s3EndpointLabel } from '../../../trainer/io/s3-config.js';
import { UsageError } from '../../../trainer/util/errors.js';

const SECRET = 'wJalrXUtnFEMI-K7MDENG-bPxRfiCYEXAMPLEKEY';
const TOKEN = 'FwoGZXIvYXdzEXAMPLETOKEN';
const KEY_ID = 'AKIAIOSFODNN7EXAMPLE';

t.test('defaults: AWS S3 in us-east-1, virtual-host style, SDK credential chain', async (t) => {
  const c = resolveS3Config({}, {});
  t.same({ ...c }, { region: 'us-east-1', forcePathStyle: false });
  t.equal(s3EndpointLabel(c), 'https://s3.us-east-1.amazonaws.com');
  t.equal(describeS3Config(c), 'endpoint=https://s3.us-east-1.amazonaws.com region=us-east-1 path-style=false credentials=sdk-default-chain');
});

t.test('the standard AWS environment is read', async (t) => {
  const c = resolveS3Config({}, {
    AWS_ENDPOINT_URL: 'http://minio:9000/',
    AWS_DEFAULT_REGION: 'eu-west-1',
    AWS_ACCESS_KEY_ID: KEY_ID,
    AWS_SECRET_ACCESS_KEY: SECRET,
    AWS_SESSION_TOKEN: TOKEN,
  });
  t.same({ ...c }, {
    endpoint: 'http://minio:9000',
    region: 'eu-west-1',
    forcePathStyle: true,
    accessKeyId: KEY_ID,
    secretAccessKey: SECRET,
    sessionToken: TOKEN,
  }, 'a custom endpoint defaults to path style; trailing slash dropped');
});

t.test('precedence: options over S3-specific env over generic env', async (t) => {
  const env = {
    AWS_ENDPOINT_URL_S3: 'http://s3-specific:1',
    AWS_ENDPOINT_URL: 'http://generic:2',
    AWS_REGION: 'ap-south-1',
    AWS_DEFAULT_REGION: 'eu-west-1',
    S3_FORCE_PATH_STYLE: 'false',
  };
  const fromEnv = resolveS3Config({}, env);
  t.equal(fromEnv.endpoint, 'http://s3-specific:1');
  t.equal(fromEnv.region, 'ap-south-1', 'AWS_REGION beats AWS_DEFAULT_REGION');
  t.equal(fromEnv.forcePathStyle, false, 'S3_FORCE_PATH_STYLE=false beats the endpoint default');
  const fromFlags = resolveS3Config({ endpoint: 'https://flag:3', region: 'us-west-2', forcePathStyle: true }, env);
  t.same([fromFlags.endpoint, fromFlags.region, fromFlags.forcePathStyle], ['https://flag:3', 'us-west-2', true]);
  t.equal(resolveS3Config({}, { S3_FORCE_PATH_STYLE: 'TRUE' }).forcePathStyle, true);
  t.equal(resolveS3Config({}, { AWS_REGION: '', AWS_ENDPOINT_URL: ' ' }).region, 'us-east-1', 'empty values count as unset');
  t.equal(resolveS3Config({}, { AWS_REGION: '', AWS_ENDPOINT_URL: ' ' }).endpoint, undefined);
});

t.test('bad values are usage errors naming the flag or variable', async (t) => {
  const bad: [Parameters<typeof resolveS3Config>, RegExp][] = [
    [[{ endpoint: 'minio:9000' }, {}], /^--s3-endpoint: endpoint "minio:9000" must use http:\/\/ or https:\/\//],
    [[{}, { AWS_ENDPOINT_URL_S3: 'not a url' }], /^AWS_ENDPOINT_URL_S3: not a URL: "not a url"/],
    [[{}, { AWS_ENDPOINT_URL: 'http://h:1/?x=1' }], /^AWS_ENDPOINT_URL: .* must not have a query/],
    [[{ region: 'US East' }, {}], /^--s3-region: region "US East" must contain only/],
    [[{}, { S3_FORCE_PATH_STYLE: 'yes' }], /^S3_FORCE_PATH_STYLE: expected "true" or "false", got "yes"/],
    [[{}, { AWS_ACCESS_KEY_ID: KEY_ID }], /AWS_ACCESS_KEY_ID is set but AWS_SECRET_ACCESS_KEY is not/],
    [[{}, { AWS_SECRET_ACCESS_KEY: SECRET }], /AWS_SECRET_ACCESS_KEY is set but AWS_ACCESS_KEY_ID is not/],
    [[{}, { AWS_SESSION_TOKEN: TOKEN }], /AWS_SESSION_TOKEN is set without/],
  ];
  for (const [args, pattern] of bad) {
    t.throws(() => resolveS3Config(...args), pattern);
    t.throws(() => resolveS3Config(...args), UsageError);
  }
});

t.test('secrets never appear in messages or printed forms', async (t) => {
  const c = resolveS3Config({ endpoint: 'http://127.0.0.1:9000' }, {
    AWS_ACCESS_KEY_ID: KEY_ID,
    AWS_SECRET_ACCESS_KEY: SECRET,
    AWS_SESSION_TOKEN: TOKEN,
  });
  t.equal(c.secretAccessKey, SECRET, 'the value is still there for the client');
  const printed = [describeS3Config(c), String(c), `${c}`, JSON.stringify(c), inspect(c), inspect({ nested: c })];
  for (const text of printed) {
    t.notMatch(text, SECRET);
    t.notMatch(text, TOKEN);
    t.notMatch(text, KEY_ID);
  }
  t.match(String(c), /endpoint=http:\/\/127\.0\.0\.1:9000 .*credentials=static\+session/);
  t.same(JSON.parse(JSON.stringify(c)), { endpoint: 'http://127.0.0.1:9000', region: 'us-east-1', forcePathStyle: true, credentials: 'static (redacted)' });

  const caught = (fn: () => unknown): Error => {
    try {
      fn();
    } catch (e) {
      return e as Error;
    }
    throw new Error('expected a throw');
  };
  const partial = caught(() => resolveS3Config({}, { AWS_ACCESS_KEY_ID: KEY_ID, AWS_SESSION_TOKEN: TOKEN }));
  t.notMatch(partial.message, KEY_ID);
  t.notMatch(partial.message, TOKEN);
  const embedded = caught(() => resolveS3Config({ endpoint: `http://user:${SECRET}@host:9000` }, {}));
  t.ok(embedded instanceof UsageError);
  t.match(embedded.message, /^--s3-endpoint: the endpoint URL must not contain credentials/);
  t.notMatch(embedded.message, SECRET, 'an endpoint with embedded credentials is refused without echoing them');
});
