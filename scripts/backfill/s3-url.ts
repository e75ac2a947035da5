// `s3://bucket/prefix` URLs, checked without loading the AWS SDK (the CLI checks its arguments first).

/**
 * S3 bucket names: 3-63 lowercase letters, digits, dots and hyphens today; buckets made in us-east-1
 * before March 2018 may also have capitals and underscores and up to 255 characters, and old ALB log
 * buckets can be that old, so those are accepted too.
 */
const BUCKET = /^[A-Za-z0-9][A-Za-z0-9._-]{1,253}[A-Za-z0-9]$/;

/** The bucket and key prefix of `s3://bucket[/prefix]`; undefined when it is not such a URL with a valid bucket name. */
export function parseS3Url(url: string): { bucket: string; prefix: string } | undefined {
  const match = /^s3:\/\/([^/]+)\/?(.*)$/.exec(url);
  if (match === null || !BUCKET.test(match[1]!)) return undefined;
  return { bucket: match[1]!, prefix: match[2]! };
}
