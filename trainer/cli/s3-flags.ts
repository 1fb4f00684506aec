import type { S3ConfigOptions } from '../io/s3-config.js';

/** The S3 flags every command that reads or writes data accepts. */
export const s3Flags = {
  options: {
    's3-endpoint': { type: 'string' },
    's3-region': { type: 'string' },
    's3-path-style': { type: 'boolean' },
  },
  usage: `S3 options (override the standard AWS environment; credentials come only from it):
  --s3-endpoint URL  S3 API endpoint (AWS_ENDPOINT_URL_S3 / AWS_ENDPOINT_URL)
  --s3-region NAME   region (AWS_REGION, default us-east-1)
  --s3-path-style    path-style addressing (S3_FORCE_PATH_STYLE; default on with a custom endpoint)`,
} as const;

export function s3Options(values: { 's3-endpoint'?: string; 's3-region'?: string; 's3-path-style'?: boolean }): S3ConfigOptions {
  const options: S3ConfigOptions = {};
  if (values['s3-endpoint'] !== undefined) options.endpoint = values['s3-endpoint'];
  if (values['s3-region'] !== undefined) options.region = values['s3-region'];
  if (values['s3-path-style'] !== undefined) options.forcePathStyle = values['s3-path-style'];
  return options;
}
