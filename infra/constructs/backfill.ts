// Backfill at scale (`albatross backfill s3://… --on-aws`): a queue of log objects (one message
// each, with its dead-letter queue), the backfill worker that consumes it, and the table that holds
// each run's progress. The worker is the loader's handler in direct delivery (the same code as
// `-c delivery=direct`: parse, enrich, `_bulk` with _id = event.id into the EVENT-day index,
// failures to the backup bucket in Firehose's error-record layout), with a reserved concurrency
// that bounds how hard it can push the domain.
import { Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as actions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import { SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import type * as logs from 'aws-cdk-lib/aws-logs';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import type * as sns from 'aws-cdk-lib/aws-sns';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { OBJECT_KEY, RUN_KEY } from '../../transform/backfill/progress.ts';
import { OPENSEARCH_FAILED, PROCESSING_FAILED } from '../../transform/firehose-error-record.ts';
import { DEFAULT_FAILURE_PREFIX } from '../../transform/loader/failures.ts';
import { FAILURE_BUCKET_ENV } from '../../transform/loader/handler.ts';
import type { LogType } from '../../transform/log-type-names.ts';
import { BundledFunction, type FunctionNetwork } from './bundled-function.ts';
import { enrichmentDataFiles, enrichmentEnvironment, grantEnrichmentDatabases, type EnrichmentSettings } from './enrichment.ts';

/** The worker's timeout: the longest a Lambda function may run, so one object rarely needs a second invocation. */
export const BACKFILL_WORKER_TIMEOUT = Duration.minutes(15);

export interface BackfillProps {
  readonly domainArn: string;
  readonly domainEndpoint: string;
  readonly indexPrefixes: Readonly<Record<LogType, string>>;
  readonly logTypes: readonly LogType[];
  readonly enrichment: EnrichmentSettings;
  /** Buckets the worker may read log objects from (the stack's log bucket and any named in the backfillBuckets setting). */
  readonly sourceBuckets: readonly string[];
  /** The stack's backup bucket: failed lines and refused documents, in Firehose's error-record layout. */
  readonly backupBucket: s3.IBucket;
  /**
   * Connection and health-check logs' own backup buckets (Firehose delivery: each stream's, where its replayer
   * reads), for that type's failures. @default backupBucket
   */
  readonly typeFailureBuckets?: Partial<Record<Exclude<LogType, 'access'>, s3.IBucket>>;
  /** The loader's checkpoint table: an object the live pipeline already loaded is not indexed again. */
  readonly checkpointTable: dynamodb.ITable;
  /** Reserved concurrency of the worker (and the event source's maximum): at most this many objects are indexed at once. */
  readonly concurrency: number;
  readonly memorySize: number;
  readonly maxReceiveCount: number;
  /** Fixed role name (an existing domain: its owner allows and maps the role before deploying). */
  readonly roleName?: string;
  readonly network?: FunctionNetwork;
  readonly logRetention: logs.RetentionDays;
  readonly removalPolicy: RemovalPolicy;
}

export class Backfill extends Construct {
  readonly queue: sqs.Queue;
  readonly deadLetterQueue: sqs.Queue;
  readonly table: dynamodb.Table;
  readonly worker: BundledFunction;
  private readonly maxReceiveCount: number;
  /** Objects the worker may read (one wildcard per source bucket) and write failures to. */
  readonly sourceObjectArns: string[];
  readonly failureObjectArns: string[];

  constructor(scope: Construct, id: string, props: BackfillProps) {
    super(scope, id);
    this.deadLetterQueue = new sqs.Queue(this, 'DeadLetterQueue', {
      encryption: sqs.QueueEncryption.SQS_MANAGED, enforceSSL: true, retentionPeriod: Duration.days(14),
    });
    this.queue = new sqs.Queue(this, 'Queue', {
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      // Lambda's rule of thumb is six times the timeout, for invocations the service throttles; the event
      // source's maximum concurrency equals the reserved concurrency, so none are: twice is enough, and a
      // crashed object comes back within half an hour.
      visibilityTimeout: Duration.seconds(BACKFILL_WORKER_TIMEOUT.toSeconds() * 2),
      retentionPeriod: Duration.days(14),
      deadLetterQueue: { queue: this.deadLetterQueue, maxReceiveCount: props.maxReceiveCount },
    });
    this.table = new dynamodb.Table(this, 'Progress', {
      partitionKey: { name: RUN_KEY, type: dynamodb.AttributeType.STRING },
      sortKey: { name: OBJECT_KEY, type: dynamodb.AttributeType.STRING },
      billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      encryption: dynamodb.TableEncryption.AWS_MANAGED,
      removalPolicy: props.removalPolicy,
    });

    this.worker = new BundledFunction(this, 'Worker', {
      // One implementation: the loader's handler, in direct delivery, with a progress table.
      entry: 'transform/loader/handler.ts',
      description: 'Albatross: backfill worker: ALB log object (albatross backfill --on-aws) -> parse -> OpenSearch _bulk by event time',
      ...(props.roleName ? { role: new iam.Role(this, 'Role', { roleName: props.roleName, assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com') }) } : {}),
      memorySize: props.memorySize,
      timeout: BACKFILL_WORKER_TIMEOUT,
      logRetention: props.logRetention,
      removalPolicy: props.removalPolicy,
      environment: {
        ALBATROSS_DELIVERY: 'direct',
        ALBATROSS_OPENSEARCH_ENDPOINT: props.domainEndpoint,
        ALBATROSS_INDEX_PREFIX: props.indexPrefixes.access,
        ALBATROSS_CONNECTION_INDEX_PREFIX: props.indexPrefixes.connection,
        ALBATROSS_HEALTH_INDEX_PREFIX: props.indexPrefixes.health,
        ALBATROSS_LOG_TYPES: props.logTypes.join(','),
        ...enrichmentEnvironment(props.enrichment),
        ALBATROSS_CHECKPOINT_TABLE: props.checkpointTable.tableName,
        ALBATROSS_BACKFILL_TABLE: this.table.tableName,
        ALBATROSS_MAX_RECEIVE_COUNT: String(props.maxReceiveCount),
        [FAILURE_BUCKET_ENV.access]: props.backupBucket.bucketName,
        ...Object.fromEntries(Object.entries(props.typeFailureBuckets ?? {}).map(([type, bucket]) => [FAILURE_BUCKET_ENV[type as LogType], bucket.bucketName])),
        ALBATROSS_FAILURE_PREFIX: DEFAULT_FAILURE_PREFIX,
        // An unavailable domain is retried this long before the attempt fails (and SQS retries the object).
        ALBATROSS_MAX_RETRY_SECONDS: '300',
      },
      files: enrichmentDataFiles(props.enrichment),
      ...(props.network ? { network: props.network } : {}),
    });
    const fn = this.worker.function;
    const role = this.worker.role;
    // Bounded: the domain's indexing capacity, not Lambda's, sets the pace.
    (fn.node.defaultChild as import('aws-cdk-lib/aws-lambda').CfnFunction).reservedConcurrentExecutions = props.concurrency;
    grantEnrichmentDatabases(this, role, props.enrichment);
    const partition = Stack.of(this).partition;
    this.sourceObjectArns = props.sourceBuckets.map((bucket) => `arn:${partition}:s3:::${bucket}/*`);
    const failureBuckets = [props.backupBucket, ...Object.values(props.typeFailureBuckets ?? {}).filter((bucket) => bucket !== props.backupBucket)];
    this.failureObjectArns = failureBuckets.flatMap((bucket) =>
      [DEFAULT_FAILURE_PREFIX, `errors/${PROCESSING_FAILED}/`, `errors/${OPENSEARCH_FAILED}/`].map((prefix) => bucket.arnForObjects(`${prefix}*`)));
    role.addToPolicy(new iam.PolicyStatement({ sid: 'ReadAlbLogs', actions: ['s3:GetObject'], resources: this.sourceObjectArns }));
    role.addToPolicy(new iam.PolicyStatement({ sid: 'BulkIndex', actions: ['es:ESHttpPost'], resources: [`${props.domainArn}/_bulk`] }));
    role.addToPolicy(new iam.PolicyStatement({
      sid: 'RecordFailures',
      actions: ['s3:PutObject'],
      resources: this.failureObjectArns,
    }));
    role.addToPolicy(new iam.PolicyStatement({ sid: 'Checkpoints', actions: ['dynamodb:GetItem', 'dynamodb:UpdateItem'], resources: [props.checkpointTable.tableArn] }));
    role.addToPolicy(new iam.PolicyStatement({ sid: 'Progress', actions: ['dynamodb:UpdateItem'], resources: [this.table.tableArn] }));
    fn.addEventSource(new SqsEventSource(this.queue, {
      batchSize: 1,
      reportBatchItemFailures: true,
      maxConcurrency: Math.max(2, props.concurrency),
    }));

    this.maxReceiveCount = props.maxReceiveCount;
  }

  /** The alarm on the dead-letter queue, notifying the pipeline's alarm topic. */
  addAlarms(topic: sns.ITopic): cloudwatch.Alarm {
    const alarm = new cloudwatch.Alarm(this, 'BackfillDeadLetterQueueNotEmpty', {
      alarmDescription: `A backfill object failed ${this.maxReceiveCount} times and waits in the backfill dead-letter queue; \`albatross backfill --status\` shows why.`,
      metric: this.deadLetterQueue.metricApproximateNumberOfMessagesVisible({ statistic: 'Maximum', period: Duration.minutes(5) }),
      threshold: 0,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: 1,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    alarm.addAlarmAction(new actions.SnsAction(topic));
    alarm.addOkAction(new actions.SnsAction(topic));
    return alarm;
  }
}
