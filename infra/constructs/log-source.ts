import { Annotations, Duration, RemovalPolicy, Stack, Token } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as s3n from 'aws-cdk-lib/aws-s3-notifications';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { RegionInfo } from 'aws-cdk-lib/region-info';
import { Construct } from 'constructs';
import { createSecureBucket } from './secure-bucket.ts';

export interface LogSourceProps {
  /** Name of an existing bucket the ALBs already write to; absent = create one. */
  readonly existingBucketName?: string;
  /** Access-log prefix configured on the ALB ('' = none); notifications fire on `<prefix>/AWSLogs/`. */
  readonly prefix: string;
  /** Expiry of ALB log objects in a bucket this stack creates. */
  readonly logExpirationDays: number;
  /** Loader timeout: the queue's visibility timeout is six times this. */
  readonly loaderTimeout: Duration;
  readonly maxReceiveCount: number;
  readonly removalPolicy: RemovalPolicy;
  readonly serverAccessLogsBucket: s3.IBucket;
}

/** The ALB log bucket (existing or new) and its ObjectCreated notifications into an SSE, TLS-only queue with a DLQ. */
export class LogSource extends Construct {
  readonly bucket: s3.IBucket;
  readonly queue: sqs.Queue;
  readonly deadLetterQueue: sqs.Queue;
  /** Key prefix of ALB log files, e.g. `AWSLogs/` or `my-alb/AWSLogs/`. */
  readonly logKeyPrefix: string;
  /** True when this stack created the bucket. */
  readonly bucketCreated: boolean;

  constructor(scope: Construct, id: string, props: LogSourceProps) {
    super(scope, id);
    this.logKeyPrefix = `${props.prefix ? `${props.prefix}/` : ''}AWSLogs/`;

    this.deadLetterQueue = new sqs.Queue(this, 'DeadLetterQueue', {
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
    });
    this.queue = new sqs.Queue(this, 'Queue', {
      // SSE-SQS, not KMS: S3 cannot use the aws/sqs key, whose policy can't be changed.
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      // Lambda's rule for SQS sources: at least six times the function timeout.
      visibilityTimeout: Duration.seconds(props.loaderTimeout.toSeconds() * 6),
      // The SQS maximum: a backlog (stream quota, domain outage) must outlive any weekend before messages expire.
      retentionPeriod: Duration.days(14),
      deadLetterQueue: { queue: this.deadLetterQueue, maxReceiveCount: props.maxReceiveCount },
    });

    if (props.existingBucketName) {
      this.bucketCreated = false;
      // The notification custom resource merges with the bucket's existing notification configuration.
      this.bucket = s3.Bucket.fromBucketName(this, 'Bucket', props.existingBucketName);
    } else {
      this.bucketCreated = true;
      const bucket = createSecureBucket(this, 'Bucket', {
        expirationDays: props.logExpirationDays,
        removalPolicy: props.removalPolicy,
        serverAccessLogsBucket: props.serverAccessLogsBucket,
        serverAccessLogsPrefix: 'alb-log-bucket/',
      });
      this.allowAlbLogDelivery(bucket);
      this.bucket = bucket;
    }

    this.bucket.addEventNotification(s3.EventType.OBJECT_CREATED, new s3n.SqsDestination(this.queue), {
      prefix: this.logKeyPrefix,
      // Excludes the ELBAccessLogTestFile control object and any non-log object.
      suffix: '.log.gz',
    });
    // CDK's statement for S3 checks the bucket ARN only, and bucket ARNs name no account: a bucket of that name
    // re-created in another account must not be able to send (confused deputy).
    this.queue.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'DenyS3FromOtherAccounts',
        effect: iam.Effect.DENY,
        principals: [new iam.ServicePrincipal('s3.amazonaws.com')],
        actions: ['sqs:SendMessage'],
        resources: [this.queue.queueArn],
        conditions: { StringNotEquals: { 'aws:SourceAccount': Stack.of(this).account } },
      }),
    );
  }

  /** ALB access-log delivery: the log-delivery service principal, and the regional ELB account where one exists. */
  private allowAlbLogDelivery(bucket: s3.Bucket): void {
    const stack = Stack.of(this);
    const objects = bucket.arnForObjects(`${this.logKeyPrefix}${stack.account}/*`);
    bucket.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'AlbLogDeliveryServicePrincipal',
        principals: [new iam.ServicePrincipal('logdelivery.elasticloadbalancing.amazonaws.com')],
        actions: ['s3:PutObject'],
        resources: [objects],
      }),
    );
    // Regions launched before August 2022 deliver from a per-region ELB account instead.
    if (Token.isUnresolved(stack.region)) {
      Annotations.of(this).addWarningV2('albatross:regionAgnosticLogBucket',
        'Synthesized without a region: the new log bucket admits only the ALB log-delivery service principal, and ALBs in regions launched before August 2022 cannot deliver. Pass -c region=<region>.');
    }
    const elbAccount = Token.isUnresolved(stack.region) ? undefined : RegionInfo.get(stack.region).elbv2Account;
    if (elbAccount) {
      bucket.addToResourcePolicy(
        new iam.PolicyStatement({
          sid: 'AlbLogDeliveryRegionalAccount',
          principals: [new iam.AccountPrincipal(elbAccount)],
          actions: ['s3:PutObject'],
          resources: [objects],
        }),
      );
    }
  }
}
