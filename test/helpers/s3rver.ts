// The tests use the same local S3 server launcher as the demo.
export { startS3rver, type S3rverHandle, type TeardownHost } from '../../hack/local-s3/s3rver.js';
