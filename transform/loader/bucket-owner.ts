// A log bucket in another account: every request the loader's S3 client makes to that bucket carries
// ExpectedBucketOwner, so S3 refuses it (403) should the bucket ever belong to anyone else, e.g. after it
// was deleted and its name taken by another account. Added to the client once, not to each call.
import type { S3Client } from '@aws-sdk/client-s3';

/** Environment of the loader: the log bucket and the account that must own it. */
export const BUCKET_OWNER_ENV = { bucket: 'ALBATROSS_LOG_BUCKET', owner: 'ALBATROSS_LOG_BUCKET_OWNER' } as const;

/** Makes `s3` send ExpectedBucketOwner=`owner` with every request to `bucket`. */
export function expectBucketOwner(s3: S3Client, bucket: string, owner: string): void {
  if (!/^\d{12}$/.test(owner)) throw new Error(`${BUCKET_OWNER_ENV.owner} must be a 12-digit account id, got "${owner}"`);
  s3.middlewareStack.add(
    (next) => async (args) => {
      const input = args.input as { Bucket?: string; ExpectedBucketOwner?: string };
      if (input.Bucket === bucket) input.ExpectedBucketOwner ??= owner;
      return next(args);
    },
    { step: 'initialize', name: 'albatrossExpectedBucketOwner' },
  );
}
