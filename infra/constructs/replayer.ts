import { Duration, type RemovalPolicy } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as actions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as logs from 'aws-cdk-lib/aws-logs';
import type * as opensearch from 'aws-cdk-lib/aws-opensearchservice';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import type * as sns from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';
import { DELIVERY_FAILED_PREFIX, REPLAYED_PREFIX } from '../../scripts/backfill/replay.ts';
import type { LogType } from '../../transform/log-type-names.ts';
import { METRICS_NAMESPACE, replayerServiceName } from '../../transform/observability.ts';
import { REPLAY_METRICS } from '../handlers/replayer.ts';
import { BundledFunction, type FunctionNetwork } from './bundled-function.ts';

export interface ReplayerProps {
  /** The domain the documents go back into (its endpoint and ARN). */
  readonly domain: opensearch.IDomain;
  /** The backup bucket it replays (errors/AmazonOpenSearchService-failed/...): a stream's, or the direct loader's. */
  readonly backupBucket: s3.IBucket;
  /** The stream whose backup it replays (its metrics' service name, its IAM statement ids). @default - access, or the direct loader's backup */
  readonly logType?: LogType;
  /** The index families the bucket holds: the run waits while one of them is write-blocked. */
  readonly logTypes: readonly LogType[];
  /** The stack's index prefix of every log type (a record may name any of them). */
  readonly indexPrefixes: Readonly<Record<LogType, string>>;
  /** Both alarms notify this topic (PipelineAlarms.topic). */
  readonly alarmTopic: sns.ITopic;
  /** Time between runs (5 minutes to 1 day, whole minutes). @default 15 minutes */
  readonly interval?: Duration;
  /** Memory (MB): a backup object is read whole. @default 1024 */
  readonly memorySize?: number;
  /**
   * Execution role; it must be mapped in FGAC to what bulk writing needs (the stack maps it to the
   * Firehose role through the templates installer). @default - a new role
   */
  readonly role?: iam.Role;
  /** Run in the private domain's VPC (S3 through the gateway endpoint). @default - no VPC */
  readonly network?: FunctionNetwork;
  readonly logRetention: logs.RetentionDays;
  readonly removalPolicy: RemovalPolicy;
}

/**
 * The scheduled replay of one delivery-failure backup (docs/replay.md; one per stream, or the direct loader's): a Lambda function run
 * by an EventBridge schedule that indexes the documents under errors/AmazonOpenSearchService-failed/
 * again when the domain takes writes, and moves what it replayed to errors/replayed/. Least
 * privilege: list, read, rewrite and delete under the delivery-failure prefix, write under the
 * replayed prefix, HTTP GET/POST on the one domain. Two alarms: documents or objects it could not
 * replay, and failed runs.
 */
export class Replayer extends Construct {
  /** The metrics service of its runs (replayerServiceName). */
  readonly serviceName: string;
  readonly function: BundledFunction;
  readonly rule: events.Rule;
  readonly failuresAlarm: cloudwatch.Alarm;
  readonly errorsAlarm: cloudwatch.Alarm;
  readonly interval: Duration;
  readonly backupBucket: s3.IBucket;

  constructor(scope: Construct, id: string, props: ReplayerProps) {
    super(scope, id);
    this.backupBucket = props.backupBucket;
    const interval = (this.interval = props.interval ?? Duration.minutes(15));
    const minutes = interval.toMinutes({ integral: false });
    if (!Number.isInteger(minutes) || minutes < 5 || minutes > 1440) {
      throw new Error(`the replay interval must be whole minutes between 5 and 1440, got ${minutes}`);
    }
    // Ends before the next run starts: runs never overlap (and a second one would only overwrite).
    const timeout = Duration.minutes(Math.min(10, minutes - 1));
    const streamType = props.logType === undefined || props.logType === 'access' ? undefined : props.logType;
    this.serviceName = replayerServiceName(streamType ?? 'access');
    // Statement ids unique in the role the replayers may share: the access one keeps its ids.
    const sid = (name: string) => streamType === undefined ? name : `${name}${streamType[0]!.toUpperCase()}${streamType.slice(1)}`;
    this.function = new BundledFunction(this, 'Replayer', {
      entry: 'infra/handlers/replayer.ts',
      description: `Albatross: replays documents Firehose backed up after OpenSearch refused them (errors/AmazonOpenSearchService-failed/)${streamType ? `, ${streamType} logs` : ''}`,
      memorySize: props.memorySize ?? 1024,
      timeout,
      logRetention: props.logRetention,
      removalPolicy: props.removalPolicy,
      ...(props.role ? { role: props.role } : {}),
      ...(props.network ? { network: props.network } : {}),
      environment: {
        ALBATROSS_OPENSEARCH_ENDPOINT: props.domain.domainEndpoint,
        ALBATROSS_INDEX_PREFIX: props.indexPrefixes.access,
        ALBATROSS_CONNECTION_INDEX_PREFIX: props.indexPrefixes.connection,
        ALBATROSS_HEALTH_INDEX_PREFIX: props.indexPrefixes.health,
        ALBATROSS_LOG_TYPES: props.logTypes.join(','),
        ...(streamType ? { ALBATROSS_LOG_TYPE: streamType } : {}),
        ALBATROSS_BACKUP_BUCKET: props.backupBucket.bucketName,
      },
    });
    const role = this.function.role;
    role.addToPolicy(new iam.PolicyStatement({
      sid: sid('ListDeliveryFailures'),
      actions: ['s3:ListBucket'],
      resources: [props.backupBucket.bucketArn],
      conditions: { StringLike: { 's3:prefix': [`${DELIVERY_FAILED_PREFIX}*`] } },
    }));
    role.addToPolicy(new iam.PolicyStatement({
      sid: sid('ReplayDeliveryFailures'),
      // Read an object, rewrite it with what is left, delete it once moved.
      actions: ['s3:GetObject', 's3:PutObject', 's3:DeleteObject'],
      resources: [props.backupBucket.arnForObjects(`${DELIVERY_FAILED_PREFIX}*`)],
    }));
    role.addToPolicy(new iam.PolicyStatement({
      sid: sid('MoveAsideReplayed'),
      actions: ['s3:PutObject'],
      resources: [props.backupBucket.arnForObjects(`${REPLAYED_PREFIX}*`)],
    }));
    role.addToPolicy(new iam.PolicyStatement({
      sid: sid('ReadClusterHealth'),
      // Cluster health and the write blocks of its index families.
      actions: ['es:ESHttpGet'],
      resources: [`${props.domain.domainArn}/_cluster/*`],
    }));
    role.addToPolicy(new iam.PolicyStatement({
      sid: sid('IndexDocuments'),
      actions: ['es:ESHttpPost'],
      resources: [`${props.domain.domainArn}/_bulk`],
    }));

    this.rule = new events.Rule(this, 'Schedule', {
      description: `Albatross: run the replayer of the Firehose delivery-failure backup${streamType ? ` (${streamType} logs)` : ''}`,
      schedule: events.Schedule.rate(interval),
    });
    // No retry: the next scheduled run is the retry, and it starts from what is left.
    this.rule.addTarget(new targets.LambdaFunction(this.function.function, { retryAttempts: 0 }));

    const metric = (metricName: string) => new cloudwatch.Metric({
      namespace: METRICS_NAMESPACE,
      metricName,
      dimensionsMap: { service: this.serviceName },
      statistic: 'Sum',
      period: interval,
    });
    this.failuresAlarm = new cloudwatch.Alarm(this, 'NotReplayed', {
      alarmDescription: `The replayer${streamType ? ` of the ${streamType}-log stream's backup` : ''} could not put some backed-up documents back (refused again, or an object it cannot read); they stay in errors/AmazonOpenSearchService-failed/ with replayErrorMessage. See docs/replay.md.`,
      metric: new cloudwatch.MathExpression({
        expression: 'FILL(documents, 0) + FILL(objects, 0)',
        usingMetrics: { documents: metric(REPLAY_METRICS.documentsFailed), objects: metric(REPLAY_METRICS.objectsFailed) },
        period: interval,
        label: 'documents and objects not replayed',
      }),
      threshold: 0,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: 1,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    this.errorsAlarm = new cloudwatch.Alarm(this, 'Errors', {
      alarmDescription: `A replayer run${streamType ? ` (${streamType}-log stream's backup)` : ''} failed (error or timeout); backed-up documents wait until a run succeeds. See docs/replay.md.`,
      metric: this.function.function.metricErrors({ statistic: 'Sum', period: interval }),
      threshold: 0,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: 1,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    for (const alarm of [this.failuresAlarm, this.errorsAlarm]) alarm.addAlarmAction(new actions.SnsAction(props.alarmTopic));
  }
}
