import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as logs from 'aws-cdk-lib/aws-logs';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import { Construct } from 'constructs';
import { BundledFunction } from './bundled-function.ts';
import { DEFAULT_FAILURE_PREFIX } from '../../transform/loader/failures.ts';

export interface LoaderProps {
  readonly queue: sqs.IQueue;
  readonly logBucket: s3.IBucket;
  /** Key prefix the loader may read, e.g. `AWSLogs/`. */
  readonly logKeyPrefix: string;
  /** The delivery stream of `streamEnvironment` (by default the access-log stream). */
  readonly streamName: string;
  readonly streamArn: string;
  /** Environment variable naming `streamName`. @default ALBATROSS_DELIVERY_STREAM */
  readonly streamEnvironment?: string;
  /** The other log types' delivery streams, each under its own environment variable. */
  readonly additionalStreams?: readonly { environment: string; streamName: string; streamArn: string }[];
  /** Where the loader records lines it cannot send (over Firehose's record limit). */
  readonly failureBucket: s3.IBucket;
  readonly memorySize: number;
  readonly timeout: Duration;
  /** SQS messages per invocation (one message = one log object). */
  readonly batchSize: number;
  /** Upper bound of concurrent loader invocations (SQS event source maximum concurrency, 2-1000). */
  readonly maxConcurrency: number;
  /** PutRecordBatch calls in flight per invocation; absent = the loader's default. */
  readonly sendConcurrency?: number;
  readonly logRetention: logs.RetentionDays;
  readonly removalPolicy: RemovalPolicy;
}

/** Checkpoint table schema, as used by DynamoDbCheckpointStore (transform/loader/checkpoint.ts). */
export const CHECKPOINT_PARTITION_KEY = 'id';
export const CHECKPOINT_TTL_ATTRIBUTE = 'expiresAt';

/** The loader Lambda fed by the log queue, with its DynamoDB checkpoint table. */
export class Loader extends Construct {
  readonly function: BundledFunction;
  readonly checkpointTable: dynamodb.Table;
  /** Next to Firehose's own `errors/<error-output-type>/` prefixes in the backup bucket (the loader's default). */
  readonly failurePrefix = DEFAULT_FAILURE_PREFIX;

  constructor(scope: Construct, id: string, props: LoaderProps) {
    super(scope, id);
    this.checkpointTable = new dynamodb.Table(this, 'Checkpoints', {
      partitionKey: { name: CHECKPOINT_PARTITION_KEY, type: dynamodb.AttributeType.STRING },
      billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
      timeToLiveAttribute: CHECKPOINT_TTL_ATTRIBUTE,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      encryption: dynamodb.TableEncryption.AWS_MANAGED,
      removalPolicy: props.removalPolicy,
    });

    const environment: Record<string, string> = {
      [props.streamEnvironment ?? 'ALBATROSS_DELIVERY_STREAM']: props.streamName,
      ...Object.fromEntries((props.additionalStreams ?? []).map((stream) => [stream.environment, stream.streamName])),
      ALBATROSS_CHECKPOINT_TABLE: this.checkpointTable.tableName,
      ALBATROSS_FAILURE_BUCKET: props.failureBucket.bucketName,
      ALBATROSS_FAILURE_PREFIX: DEFAULT_FAILURE_PREFIX,
      // A send gives up well before the invocation ends (the handler's default is 120 s), so it can still commit.
      ALBATROSS_MAX_RETRY_SECONDS: String(Math.min(120, Math.floor(props.timeout.toSeconds() / 2))),
    };
    if (props.sendConcurrency !== undefined) environment.ALBATROSS_SEND_CONCURRENCY = String(props.sendConcurrency);
    this.function = new BundledFunction(this, 'Loader', {
      entry: 'transform/loader/handler.ts',
      description: 'Albatross: ALB log object (S3 event via SQS) -> Firehose PutRecordBatch',
      memorySize: props.memorySize,
      timeout: props.timeout,
      logRetention: props.logRetention,
      removalPolicy: props.removalPolicy,
      environment,
    });
    const role = this.function.role;
    role.addToPolicy(
      new iam.PolicyStatement({
        sid: 'ReadAlbLogs',
        actions: ['s3:GetObject'],
        resources: [props.logBucket.arnForObjects(`${props.logKeyPrefix}*`)],
      }),
    );
    role.addToPolicy(
      new iam.PolicyStatement({
        sid: 'Deliver',
        actions: ['firehose:PutRecordBatch'],
        resources: [props.streamArn, ...(props.additionalStreams ?? []).map((stream) => stream.streamArn)],
      }),
    );
    role.addToPolicy(
      new iam.PolicyStatement({
        sid: 'RecordFailures',
        actions: ['s3:PutObject'],
        resources: [props.failureBucket.arnForObjects(`${DEFAULT_FAILURE_PREFIX}*`)],
      }),
    );
    role.addToPolicy(
      new iam.PolicyStatement({
        sid: 'Checkpoints',
        actions: ['dynamodb:GetItem', 'dynamodb:UpdateItem'],
        resources: [this.checkpointTable.tableArn],
      }),
    );
    this.function.function.addEventSource(
      new SqsEventSource(props.queue, {
        batchSize: props.batchSize,
        reportBatchItemFailures: true,
        maxConcurrency: props.maxConcurrency,
      }),
    );
  }
}
