import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as logs from 'aws-cdk-lib/aws-logs';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import { Construct } from 'constructs';
import { BundledFunction } from './bundled-function.ts';
import { enrichmentDataFiles, enrichmentEnvironment, grantEnrichmentDatabases, type EnrichmentSettings } from './enrichment.ts';
import type { FunctionNetwork } from './bundled-function.ts';
import type { LogType } from '../../transform/log-type-names.ts';
import { DEFAULT_FAILURE_PREFIX } from '../../transform/loader/failures.ts';
import { FAILURE_BUCKET_ENV } from '../../transform/loader/handler.ts';
import { BUCKET_OWNER_ENV } from '../../transform/loader/bucket-owner.ts';
import { OPENSEARCH_FAILED, PROCESSING_FAILED } from '../../transform/firehose-error-record.ts';

export interface LoaderProps {
  readonly queue: sqs.IQueue;
  readonly logBucket: s3.IBucket;
  /** The log bucket's account when it is not this stack's: the loader's requests name it as ExpectedBucketOwner. */
  readonly logBucketOwner?: string;
  /** Key prefix the loader may read, e.g. `AWSLogs/`. */
  readonly logKeyPrefix: string;
  /** Firehose delivery: the stream of `streamEnvironment` (by default the access-log stream). */
  readonly streamName?: string;
  readonly streamArn?: string;
  /** Environment variable naming `streamName`. @default ALBATROSS_DELIVERY_STREAM */
  readonly streamEnvironment?: string;
  /** The other log types' delivery streams, each under its own environment variable. */
  readonly additionalStreams?: readonly { environment: string; streamName: string; streamArn: string }[];
  /**
   * Direct delivery: the loader bulk-indexes into this domain itself (instead of streams), each object
   * of the log types delivered under its type's index prefix.
   */
  readonly direct?: {
    readonly domainArn: string;
    readonly domainEndpoint: string;
    readonly indexPrefixes: Readonly<Record<LogType, string>>;
    readonly logTypes: readonly LogType[];
    /** Enrichment of access-log documents, as the transform's (settings, bundled data, own databases). */
    readonly enrichment?: EnrichmentSettings;
  };
  /** Fixed role name (direct delivery into an existing domain: its owner allows and maps the role before deploying). */
  readonly roleName?: string;
  /** Direct delivery to a private (VPC) domain: run the loader in the domain's VPC. */
  readonly network?: FunctionNetwork;
  /** Where the loader records lines it cannot send (over Firehose's record limit); direct delivery: every failure, in Firehose's layout. */
  readonly failureBucket: s3.IBucket;
  /**
   * Where lines of these log types are recorded instead: their stream's backup bucket, where that
   * stream's replay reads (Firehose delivery). @default failureBucket
   */
  readonly typeFailureBuckets?: Partial<Record<Exclude<LogType, 'access'>, s3.IBucket>>;
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
  /** Every bucket the loader records failures in: the default one first, then each type's own. */
  readonly failureBuckets: s3.IBucket[];
  /** Connection and health-check logs' failure buckets, when not the access logs' one. */
  readonly typeFailureBuckets: Partial<Record<Exclude<LogType, 'access'>, s3.IBucket>>;

  /** Key prefixes the loader writes failure records under: its own, and in direct delivery Firehose's two error-output types. */
  failurePrefixes(direct: boolean): string[] {
    return direct ? [DEFAULT_FAILURE_PREFIX, `errors/${PROCESSING_FAILED}/`, `errors/${OPENSEARCH_FAILED}/`] : [DEFAULT_FAILURE_PREFIX];
  }

  constructor(scope: Construct, id: string, props: LoaderProps) {
    super(scope, id);
    this.typeFailureBuckets = { ...props.typeFailureBuckets };
    this.failureBuckets = [props.failureBucket, ...Object.values(props.typeFailureBuckets ?? {}).filter((bucket) => bucket !== props.failureBucket)];
    this.checkpointTable = new dynamodb.Table(this, 'Checkpoints', {
      partitionKey: { name: CHECKPOINT_PARTITION_KEY, type: dynamodb.AttributeType.STRING },
      billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
      timeToLiveAttribute: CHECKPOINT_TTL_ATTRIBUTE,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      encryption: dynamodb.TableEncryption.AWS_MANAGED,
      removalPolicy: props.removalPolicy,
    });

    const { direct } = props;
    if ((direct === undefined) === (props.streamName === undefined || props.streamArn === undefined)) {
      throw new Error('Loader needs either a delivery stream (streamName and streamArn) or direct delivery, not both');
    }
    const environment: Record<string, string> = {
      ...(direct
        ? {
            ALBATROSS_DELIVERY: 'direct', ALBATROSS_OPENSEARCH_ENDPOINT: direct.domainEndpoint,
            ALBATROSS_INDEX_PREFIX: direct.indexPrefixes.access,
            ALBATROSS_CONNECTION_INDEX_PREFIX: direct.indexPrefixes.connection,
            ALBATROSS_HEALTH_INDEX_PREFIX: direct.indexPrefixes.health,
            ALBATROSS_LOG_TYPES: direct.logTypes.join(','),
            ...enrichmentEnvironment(direct.enrichment ?? { enrichment: 'none' }),
          }
        : {
            [props.streamEnvironment ?? 'ALBATROSS_DELIVERY_STREAM']: props.streamName!,
            ...Object.fromEntries((props.additionalStreams ?? []).map((stream) => [stream.environment, stream.streamName])),
          }),
      ALBATROSS_CHECKPOINT_TABLE: this.checkpointTable.tableName,
      ...(props.logBucketOwner ? { [BUCKET_OWNER_ENV.bucket]: props.logBucket.bucketName, [BUCKET_OWNER_ENV.owner]: props.logBucketOwner } : {}),
      [FAILURE_BUCKET_ENV.access]: props.failureBucket.bucketName,
      ...Object.fromEntries(Object.entries(props.typeFailureBuckets ?? {}).map(([type, bucket]) => [FAILURE_BUCKET_ENV[type as LogType], bucket.bucketName])),
      ALBATROSS_FAILURE_PREFIX: DEFAULT_FAILURE_PREFIX,
      // A send gives up well before the invocation ends (the handler's default is 120 s), so it can still commit.
      ALBATROSS_MAX_RETRY_SECONDS: String(Math.min(120, Math.floor(props.timeout.toSeconds() / 2))),
    };
    if (props.sendConcurrency !== undefined) environment.ALBATROSS_SEND_CONCURRENCY = String(props.sendConcurrency);
    this.function = new BundledFunction(this, 'Loader', {
      entry: 'transform/loader/handler.ts',
      description: direct
        ? 'Albatross: ALB log object (S3 event via SQS) -> parse -> OpenSearch _bulk (direct delivery)'
        : 'Albatross: ALB log object (S3 event via SQS) -> Firehose PutRecordBatch',
      ...(props.roleName ? { role: new iam.Role(this, 'Role', { roleName: props.roleName, assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com') }) } : {}),
      memorySize: props.memorySize,
      timeout: props.timeout,
      logRetention: props.logRetention,
      removalPolicy: props.removalPolicy,
      environment,
      ...(props.network ? { network: props.network } : {}),
      // Direct delivery builds the documents itself: the enrichment data beside the code, as the transform's.
      ...(direct?.enrichment ? { files: enrichmentDataFiles(direct.enrichment) } : {}),
    });
    const role = this.function.role;
    if (direct?.enrichment) grantEnrichmentDatabases(this, role, direct.enrichment);
    role.addToPolicy(
      new iam.PolicyStatement({
        sid: 'ReadAlbLogs',
        actions: ['s3:GetObject'],
        resources: [props.logBucket.arnForObjects(`${props.logKeyPrefix}*`)],
      }),
    );
    if (direct) {
      // `_bulk` with the index in each action line: one path, POST only (SigV4-signed; FGAC maps the role to <prefix>-loader).
      role.addToPolicy(new iam.PolicyStatement({ sid: 'BulkIndex', actions: ['es:ESHttpPost'], resources: [`${direct.domainArn}/_bulk`] }));
    } else {
      role.addToPolicy(
        new iam.PolicyStatement({
          sid: 'Deliver',
          actions: ['firehose:PutRecordBatch'],
          resources: [props.streamArn!, ...(props.additionalStreams ?? []).map((stream) => stream.streamArn)],
        }),
      );
    }
    role.addToPolicy(
      new iam.PolicyStatement({
        sid: 'RecordFailures',
        actions: ['s3:PutObject'],
        resources: this.failureBuckets.flatMap((bucket) => this.failurePrefixes(direct !== undefined).map((prefix) => bucket.arnForObjects(`${prefix}*`))),
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
