import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import * as s3 from 'aws-cdk-lib/aws-s3';
import type { Construct } from 'constructs';

export interface SecureBucketOptions {
  /** Objects expire this many days after creation. */
  readonly expirationDays: number;
  readonly removalPolicy: RemovalPolicy;
  /** Bucket receiving S3 server access logs; none for the access-log bucket itself. */
  readonly serverAccessLogsBucket?: s3.IBucket;
  readonly serverAccessLogsPrefix?: string;
  /**
   * Keep overwritten and deleted objects for NONCURRENT_VERSION_DAYS, so a mistaken delete or overwrite of data
   * that matters (log objects, backed-up documents) can be undone. @default true
   */
  readonly versioned?: boolean;
}

/** Days an overwritten or deleted object version is kept in a versioned bucket. */
export const NONCURRENT_VERSION_DAYS = 30;

/** An S3 bucket with SSE-S3, Block Public Access, TLS-only policy, no ACLs, versioning and lifecycle expiry. */
export function createSecureBucket(scope: Construct, id: string, options: SecureBucketOptions): s3.Bucket {
  const versioned = options.versioned ?? true;
  return new s3.Bucket(scope, id, {
    // SSE-S3: the only encryption ALB log delivery supports, and no key policy to manage.
    encryption: s3.BucketEncryption.S3_MANAGED,
    blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
    enforceSSL: true,
    minimumTLSVersion: 1.2,
    objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
    serverAccessLogsBucket: options.serverAccessLogsBucket,
    serverAccessLogsPrefix: options.serverAccessLogsPrefix,
    versioned,
    lifecycleRules: [
      {
        id: 'expire',
        expiration: Duration.days(options.expirationDays),
        abortIncompleteMultipartUploadAfter: Duration.days(1),
        ...(versioned ? { noncurrentVersionExpiration: Duration.days(NONCURRENT_VERSION_DAYS) } : {}),
      },
      // Expiry leaves a delete marker per object in a versioned bucket; drop it once the versions are gone.
      ...(versioned ? [{ id: 'delete-markers', expiredObjectDeleteMarker: true }] : []),
    ],
    removalPolicy: options.removalPolicy,
    autoDeleteObjects: false,
  });
}
