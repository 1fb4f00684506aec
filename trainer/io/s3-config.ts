import { inspect } from 'node:util';
import { UsageError } from '../util/errors.js';
import { TRAINER_S3_ENV } from '../../contract/env.js';

/** How to reach S3 (or an S3-compatible server such as MinIO or s3rver). */
export interface S3Config {
  /** Custom endpoint URL, e.g. http://minio:9000. Unset means AWS S3 for `region`. */
  endpoint?: string;
  region: string;
  /** Address buckets as http://host/bucket/key instead of http://bucket.host/key. */
  forcePathStyle: boolean;
  /** Static credentials; when unset the SDK's default chain (IRSA, profiles, IMDS) applies. */
  accessKeyId?: string;
  secretAccessKey?: string;
  sessionToken?: string;
}

/** Values given on the command line (--s3-endpoint, --s3-region, --s3-path-style). */
export interface S3ConfigOptions {
  endpoint?: string;
  region?: string;
  forcePathStyle?: boolean;
}

export type Env = Readonly<Record<string, string | undefined>>;

export const DEFAULT_S3_REGION = 'us-east-1';

/**
 * Resolves S3 settings: explicit options win over the standard AWS environment.
 * Pure: the environment is a parameter so callers (and tests) decide what it is.
 * Path-style addressing defaults to on for custom endpoints, since self-hosted servers
 * rarely have wildcard DNS for virtual-host buckets, and off for AWS itself.
 */
export function resolveS3Config(options: S3ConfigOptions, env: Env): S3Config {
  const endpointSource = firstSet([
    ['--s3-endpoint', options.endpoint],
    ['AWS_ENDPOINT_URL_S3', env[TRAINER_S3_ENV.endpoint]],
    ['AWS_ENDPOINT_URL', env.AWS_ENDPOINT_URL],
  ]);
  const endpoint = endpointSource ? normalizeEndpoint(endpointSource[0], endpointSource[1]) : undefined;

  const regionSource = firstSet([
    ['--s3-region', options.region],
    ['AWS_REGION', env[TRAINER_S3_ENV.region]],
    ['AWS_DEFAULT_REGION', env.AWS_DEFAULT_REGION],
  ]);
  const region = regionSource ? validateRegion(regionSource[0], regionSource[1]) : DEFAULT_S3_REGION;

  const forcePathStyle =
    options.forcePathStyle ?? parsePathStyle(nonEmpty(env[TRAINER_S3_ENV.pathStyle])) ?? endpoint !== undefined;

  const accessKeyId = nonEmpty(env[TRAINER_S3_ENV.accessKeyId]);
  const secretAccessKey = nonEmpty(env[TRAINER_S3_ENV.secretAccessKey]);
  const sessionToken = nonEmpty(env.AWS_SESSION_TOKEN);
  // Names only, never values: these messages end up in logs.
  if ((accessKeyId === undefined) !== (secretAccessKey === undefined)) {
    const [set, unset] = accessKeyId ? ['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY'] : ['AWS_SECRET_ACCESS_KEY', 'AWS_ACCESS_KEY_ID'];
    throw new UsageError(`S3 credentials: ${set} is set but ${unset} is not; set both or neither`);
  }
  if (sessionToken !== undefined && accessKeyId === undefined) {
    throw new UsageError('S3 credentials: AWS_SESSION_TOKEN is set without AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY');
  }

  const config: S3Config = { region, forcePathStyle };
  if (endpoint !== undefined) config.endpoint = endpoint;
  if (accessKeyId !== undefined && secretAccessKey !== undefined) {
    config.accessKeyId = accessKeyId;
    config.secretAccessKey = secretAccessKey;
    if (sessionToken !== undefined) config.sessionToken = sessionToken;
  }
  return redactWhenPrinted(config);
}

/** A one-line summary safe for logs: no secret and no access key id. */
export function describeS3Config(config: S3Config): string {
  const credentials = config.accessKeyId ? (config.sessionToken ? 'static+session' : 'static') : 'sdk-default-chain';
  return `endpoint=${s3EndpointLabel(config)} region=${config.region} path-style=${config.forcePathStyle} credentials=${credentials}`;
}

/** The endpoint named in error messages: the custom URL, or AWS's regional endpoint. */
export function s3EndpointLabel(config: Pick<S3Config, 'endpoint' | 'region'>): string {
  return config.endpoint ?? `https://s3.${config.region}.amazonaws.com`;
}

/**
 * Makes String(), JSON.stringify() and util.inspect()/console.log of the config print the
 * redacted summary, so logging the object by accident cannot leak the secret. The methods
 * are non-enumerable: spreading or comparing the config sees only the data fields.
 */
function redactWhenPrinted(config: S3Config): S3Config {
  const summary = (): string => `S3Config(${describeS3Config(config)})`;
  Object.defineProperties(config, {
    toString: { value: summary, enumerable: false },
    toJSON: { value: () => ({ ...config, accessKeyId: undefined, secretAccessKey: undefined, sessionToken: undefined, credentials: describeCredentials(config) }), enumerable: false },
    [inspect.custom]: { value: summary, enumerable: false },
  });
  return config;
}

function describeCredentials(config: S3Config): string {
  return config.accessKeyId ? 'static (redacted)' : 'sdk-default-chain';
}

function firstSet(candidates: [string, string | undefined][]): [string, string] | undefined {
  for (const [name, value] of candidates) {
    const v = nonEmpty(value);
    if (v !== undefined) return [name, v];
  }
  return undefined;
}

// Kubernetes renders optional env vars from absent Secret keys as empty strings.
function nonEmpty(value: string | undefined): string | undefined {
  const v = value?.trim();
  return v ? v : undefined;
}

function normalizeEndpoint(source: string, value: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new UsageError(`${source}: not a URL: "${value}" (expected e.g. http://127.0.0.1:9000)`);
  }
  // Checked before echoing the value anywhere, so embedded passwords are never printed.
  if (url.username || url.password) {
    throw new UsageError(`${source}: the endpoint URL must not contain credentials; use AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new UsageError(`${source}: endpoint "${value}" must use http:// or https://`);
  }
  if (url.search || url.hash) {
    throw new UsageError(`${source}: endpoint "${value}" must not have a query or fragment`);
  }
  return url.href.replace(/\/+$/, '');
}

function validateRegion(source: string, value: string): string {
  if (!/^[a-z0-9-]+$/.test(value)) {
    throw new UsageError(`${source}: region "${value}" must contain only lowercase letters, digits and hyphens`);
  }
  return value;
}

function parsePathStyle(value: string | undefined): boolean | undefined {
  if (value === undefined) return undefined;
  const v = value.toLowerCase();
  if (v === 'true') return true;
  if (v === 'false') return false;
  throw new UsageError(`S3_FORCE_PATH_STYLE: expected "true" or "false", got "${value}"`);
}
