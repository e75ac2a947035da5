import { Annotations, CfnOutput, Duration, RemovalPolicy, Stack, Token } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { RegionInfo } from 'aws-cdk-lib/region-info';
import { Construct } from 'constructs';
import { createSecureBucket } from './secure-bucket.ts';

export interface LogSourceProps {
  /** Name of an existing bucket the ALBs already write to; absent = create one. */
  readonly existingBucketName?: string;
  /**
   * Account that owns the existing bucket, when it is not this stack's (e.g. an organization's log-archive account).
   * The stack then cannot change the bucket: it adds no notification and no bucket policy, and outputs what the
   * bucket owner adds (`addOwnerOutputs`). @default - the bucket is in this stack's account
   */
  readonly bucketOwnerAccount?: string;
  /** KMS key the bucket's objects are encrypted with (SSE-KMS): readers get kms:Decrypt through S3 only. @default - SSE-S3 */
  readonly bucketKeyArn?: string;
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
  /** Account S3 notifications come from: the bucket owner's (aws:SourceAccount of S3's requests). */
  readonly bucketAccount: string;
  /** Set when the bucket is in another account: its owner adds the notification and the read grants. */
  readonly bucketOwnerAccount?: string;
  /** SSE-KMS key of the bucket's objects, if any. */
  readonly bucketKeyArn?: string;
  /** Roles that read log objects (addReader): the bucket and key policies of another account must name them. */
  private readonly readers: iam.IRole[] = [];
  /** The S3 event notification the bucket sends to the queue: ObjectCreated under the log prefix, `.log.gz` only. */
  readonly notificationFilter: s3.NotificationKeyFilter;

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

    const stack = Stack.of(this);
    if (props.bucketOwnerAccount !== undefined || props.bucketKeyArn !== undefined) {
      if (!props.existingBucketName) throw new Error('a log bucket owner account or key applies to an existing log bucket (logBucketName or logBucketArn)');
    }
    if (props.bucketOwnerAccount !== undefined && !/^\d{12}$/.test(props.bucketOwnerAccount)) {
      throw new Error(`logBucketAccount must be a 12-digit AWS account id, got "${props.bucketOwnerAccount}"`);
    }
    if (props.bucketKeyArn !== undefined && !/^arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:key\/[0-9a-f-]{36}$/.test(props.bucketKeyArn)) {
      throw new Error(`logBucketKmsKeyArn must be the ARN of a KMS key (arn:aws:kms:<region>:<account>:key/<id>), got "${props.bucketKeyArn}"`);
    }
    this.bucketOwnerAccount = props.bucketOwnerAccount;
    this.bucketKeyArn = props.bucketKeyArn;
    this.bucketAccount = props.bucketOwnerAccount ?? stack.account;
    this.notificationFilter = {
      prefix: this.logKeyPrefix,
      // Excludes the ELBAccessLogTestFile control object and any non-log object.
      suffix: '.log.gz',
    };

    if (props.existingBucketName) {
      this.bucketCreated = false;
      this.bucket = s3.Bucket.fromBucketAttributes(this, 'Bucket', {
        bucketName: props.existingBucketName,
        ...(props.bucketOwnerAccount !== undefined ? { account: props.bucketOwnerAccount } : {}),
      });
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

    // S3 sends as a service on behalf of the bucket: only the log bucket, owned by the account named, may send.
    // Bucket ARNs name no account, so the account condition keeps a bucket of that name re-created in another
    // account out (confused deputy); CDK's own statement for S3 checks the ARN only, hence this one.
    this.queue.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'AllowS3NotificationsFromLogBucket',
        principals: [new iam.ServicePrincipal('s3.amazonaws.com')],
        actions: ['sqs:SendMessage'],
        resources: [this.queue.queueArn],
        conditions: { StringEquals: { 'aws:SourceAccount': this.bucketAccount }, ArnLike: { 'aws:SourceArn': this.bucket.bucketArn } },
      }),
    );
    this.queue.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'DenyS3FromOtherAccounts',
        effect: iam.Effect.DENY,
        principals: [new iam.ServicePrincipal('s3.amazonaws.com')],
        actions: ['sqs:SendMessage'],
        resources: [this.queue.queueArn],
        conditions: { StringNotEquals: { 'aws:SourceAccount': this.bucketAccount } },
      }),
    );
    if (props.bucketOwnerAccount === undefined) {
      // Merged into the bucket's existing notification configuration by CDK's custom resource (Managed: false).
      const queue = this.queue;
      this.bucket.addEventNotification(s3.EventType.OBJECT_CREATED, {
        bind: () => ({ arn: queue.queueArn, type: s3.BucketNotificationDestinationType.QUEUE, dependencies: [queue] }),
      }, this.notificationFilter);
    }
  }

  /**
   * A role that reads log objects: with an SSE-KMS bucket it gets kms:Decrypt on the key, through S3 only; for a
   * bucket in another account it is named in the policies the owner adds. (Its s3:GetObject is the caller's.)
   */
  addReader(role: iam.IRole): void {
    this.readers.push(role);
    if (this.bucketKeyArn !== undefined) {
      role.addToPrincipalPolicy(new iam.PolicyStatement({
        sid: 'DecryptAlbLogs',
        actions: ['kms:Decrypt'],
        resources: [this.bucketKeyArn],
        conditions: { StringEquals: { 'kms:ViaService': `s3.${Stack.of(this).region}.amazonaws.com` } },
      }));
    }
  }

  /** What the owner of a bucket in another account adds, as policy and configuration JSON (docs/deploy.md). */
  ownerInstructions(): { bucketPolicyStatement: object; notificationConfiguration: object; keyPolicyStatement?: object } {
    const readers = this.readers.map((role) => role.roleArn);
    return {
      bucketPolicyStatement: {
        Sid: 'AlbatrossReadAlbLogs',
        Effect: 'Allow',
        Principal: { AWS: readers },
        Action: 's3:GetObject',
        Resource: this.bucket.arnForObjects(`${this.logKeyPrefix}*`),
      },
      notificationConfiguration: {
        QueueConfigurations: [{
          Id: 'albatross-alb-logs',
          QueueArn: this.queue.queueArn,
          Events: ['s3:ObjectCreated:*'],
          Filter: { Key: { FilterRules: [{ Name: 'prefix', Value: this.notificationFilter.prefix }, { Name: 'suffix', Value: this.notificationFilter.suffix }] } },
        }],
      },
      ...(this.bucketKeyArn !== undefined
        ? {
            keyPolicyStatement: {
              Sid: 'AlbatrossDecryptAlbLogs',
              Effect: 'Allow',
              Principal: { AWS: readers },
              Action: 'kms:Decrypt',
              Resource: '*',
              Condition: { StringEquals: { 'kms:ViaService': `s3.${Stack.of(this).region}.amazonaws.com` } },
            },
          }
        : {}),
    };
  }

  /** Stack outputs with the owner's additions, ready to paste; call once every reader is added. */
  addOwnerOutputs(): void {
    if (this.bucketOwnerAccount === undefined) return;
    const stack = Stack.of(this);
    const instructions = this.ownerInstructions();
    new CfnOutput(stack, 'LogBucketPolicyStatement', {
      value: stack.toJsonString(instructions.bucketPolicyStatement),
      description: `Add to the bucket policy of ${this.bucket.bucketName} (account ${this.bucketOwnerAccount}): lets Albatross read the ALB logs`,
    });
    new CfnOutput(stack, 'LogBucketNotification', {
      value: stack.toJsonString(instructions.notificationConfiguration),
      description: `Merge into the notification configuration of ${this.bucket.bucketName}: ObjectCreated to the Albatross queue`,
    });
    if (instructions.keyPolicyStatement !== undefined) {
      new CfnOutput(stack, 'LogBucketKeyPolicyStatement', {
        value: stack.toJsonString(instructions.keyPolicyStatement),
        description: 'Add to the key policy of the bucket\'s KMS key: lets Albatross decrypt the ALB logs through S3',
      });
    }
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
