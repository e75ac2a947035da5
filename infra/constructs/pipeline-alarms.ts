import { Annotations, ArnFormat, Duration, type RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as actions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as opensearch from 'aws-cdk-lib/aws-opensearchservice';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { METRICS_NAMESPACE, SERVICE_NAMES } from '../../transform/observability.ts';
import { DIRECT_METRICS, LOG_TYPE_DIMENSION } from '../../transform/loader/direct-handler.ts';
import type { LogType } from '../../transform/log-type-names.ts';

/** p90 `_bulk` latency of the direct loader above which the latency alarm fires. */
export const DIRECT_BULK_LATENCY_ALARM_MS = 10_000;

/** EMF metric the transform handler emits per invocation: lines it returned as ProcessingFailed. */
export const PROCESSING_FAILED_METRIC = 'RecordsProcessingFailed';
/** EMF metrics of the loader handler (transform/loader/handler.ts) that have alarms. */
export const LOADER_ALARM_METRICS = { objectsFailed: 'ObjectsFailed', failedLines: 'FailedLines', throttles: 'Throttles' } as const;
/** Main-queue ApproximateAgeOfOldestMessage at or above which the backlog alarm fires. */
export const QUEUE_AGE_THRESHOLD = Duration.hours(1);

export interface PipelineAlarmsProps {
  readonly alarmEmail?: string;
  readonly queue: sqs.IQueue;
  readonly deadLetterQueue: sqs.IQueue;
  /** Receives before the DLQ (for the alarm text). */
  readonly maxReceiveCount: number;
  /** Firehose delivery: each log type's stream and transform, each with the same alarms (none in direct delivery). */
  readonly streams?: readonly StreamAlarmTarget[];
  /** Firehose buffering interval: the data-freshness threshold is this plus 15 minutes. */
  readonly bufferInterval: Duration;
  readonly loader: lambda.IFunction;
  /**
   * Direct delivery: alarms on the loader's own indexing (refused documents, parser rejects, `_bulk` latency and
   * retries) and, per log type delivered, the heartbeat on the documents it indexed.
   */
  readonly directLoader?: { readonly logTypes: readonly LogType[] };
  readonly domain: opensearch.IDomain;
  /** Dedicated master nodes of a domain the stack created (0 = none, or an existing domain). */
  readonly masterNodes: number;
  /** FreeStorageSpace (MiB, on the emptiest node) at or below which the storage alarm fires. */
  readonly freeStorageThresholdMiB: number;
  /** Heartbeat: alarm when a log type's stream received no record (direct: no document indexed) for this many hours (1-24); 0 = no heartbeat alarm. */
  readonly heartbeatHours: number;
  /** Log types with a heartbeat alarm (ALBs write connection and health-check logs only where turned on). */
  readonly heartbeatLogTypes: readonly LogType[];
  readonly removalPolicy: RemovalPolicy;
}

/** One delivery stream's alarms: its ids start with `prefix` ('' for the access-log stream, whose ids predate the others). */
export interface StreamAlarmTarget {
  readonly prefix: string;
  readonly logType: LogType;
  readonly streamName: string;
  readonly transform: lambda.IFunction;
  /** Metrics service of `transform` (transformServiceName). */
  readonly transformServiceName: string;
}

/** Construct-id prefix of a log type's alarms: none for access logs (the ids they always had), else the type. */
export function alarmPrefix(type: LogType): string {
  return type === 'access' ? '' : type[0]!.toUpperCase() + type.slice(1);
}

type AlarmOptions = Omit<cloudwatch.AlarmProps, 'evaluationPeriods'> & { evaluationPeriods?: number };

/**
 * The pipeline's alarms, all notifying one KMS-encrypted SNS topic (optionally subscribed by e-mail). Each alarm's
 * construct id is its name in docs/deploy.md §7, where a runbook line says what it means and what to do.
 */
export class PipelineAlarms extends Construct {
  readonly topic: sns.Topic;
  readonly key: kms.Key;
  readonly alarms: cloudwatch.Alarm[] = [];
  /** ARN pattern of every CloudWatch alarm of this account and region: the only callers allowed to publish. */
  readonly alarmArnPattern: string;

  constructor(scope: Construct, id: string, props: PipelineAlarmsProps) {
    super(scope, id);
    const stack = Stack.of(this);
    this.alarmArnPattern = stack.formatArn({ service: 'cloudwatch', resource: 'alarm', resourceName: '*', arnFormat: ArnFormat.COLON_RESOURCE_NAME });
    // CloudWatch publishes as a service, on behalf of an alarm: only alarms of this account and region may use it
    // (confused-deputy protection, AWS SNS and KMS documentation).
    const fromOurAlarms = {
      StringEquals: { 'aws:SourceAccount': stack.account },
      ArnLike: { 'aws:SourceArn': this.alarmArnPattern },
    };
    const cloudwatchService = new iam.ServicePrincipal('cloudwatch.amazonaws.com');

    this.key = new kms.Key(this, 'TopicKey', {
      description: 'Albatross: encrypts the alarm topic',
      enableKeyRotation: true,
      removalPolicy: props.removalPolicy,
    });
    // CloudWatch cannot publish to a topic under the AWS-managed aws/sns key, so the topic has its own key.
    this.key.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'AllowCloudWatchAlarms',
        principals: [cloudwatchService],
        actions: ['kms:Decrypt', 'kms:GenerateDataKey*'],
        resources: ['*'],
        conditions: fromOurAlarms,
      }),
    );
    this.topic = new sns.Topic(this, 'Topic', { masterKey: this.key, enforceSSL: true });
    // enforceSSL gives the topic a policy of its own, which replaces SNS's default policy: without this Allow
    // nobody, CloudWatch included, may publish, and no alarm notification would ever be delivered.
    this.topic.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'AllowCloudWatchAlarms',
        principals: [cloudwatchService],
        actions: ['sns:Publish'],
        resources: [this.topic.topicArn],
        conditions: fromOurAlarms,
      }),
    );
    if (props.alarmEmail) {
      this.topic.addSubscription(new subscriptions.EmailSubscription(props.alarmEmail));
    } else {
      Annotations.of(this).addWarningV2('albatross:noAlarmEmail',
        'No alarmEmail: the alarm topic has no subscriber and nobody is told when an alarm fires. Deploy with -c alarmEmail=<address>, or subscribe to the AlarmTopicArn output yourself.');
    }

    this.addQueueAlarms(props);
    for (const stream of props.streams ?? []) this.addStreamAlarms(props, stream);
    this.addLambdaAlarms(props);
    this.addDomainAlarms(props);
  }

  private addQueueAlarms(props: PipelineAlarmsProps): void {
    this.add('DeadLetterQueueNotEmpty', {
      alarmDescription: `A log object failed ${props.maxReceiveCount} times in the loader and waits in the dead-letter queue.`,
      metric: props.deadLetterQueue.metricApproximateNumberOfMessagesVisible({ statistic: 'Maximum', period: Duration.minutes(5) }),
      threshold: 0,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
    });
    this.add('QueueBacklogOld', {
      alarmDescription: `The oldest log object in the queue has waited ${QUEUE_AGE_THRESHOLD.toHumanString()} or more: the loaders do not keep up (stream quota, concurrency) or keep failing; messages expire after 14 days.`,
      metric: props.queue.metricApproximateAgeOfOldestMessage({ statistic: 'Maximum', period: Duration.minutes(5) }),
      threshold: QUEUE_AGE_THRESHOLD.toSeconds(),
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      evaluationPeriods: 3,
    });
  }

  /** One delivery stream's alarms (Firehose delivery; direct delivery has no stream), ids prefixed with its type. */
  private addStreamAlarms(props: PipelineAlarmsProps, stream: StreamAlarmTarget): void {
    const { prefix, streamName } = stream;
    // Alarm texts name the stream's log type, except the access stream's (as they always read).
    const which = prefix === '' ? '' : `${prefix} logs: `;
    const firehoseMetric = (metricName: string, statistic: string): cloudwatch.Metric =>
      new cloudwatch.Metric({
        namespace: 'AWS/Firehose',
        metricName,
        dimensionsMap: { DeliveryStreamName: streamName },
        statistic,
        period: Duration.minutes(5),
      });
    if (props.heartbeatHours > 0 && props.heartbeatLogTypes.includes(stream.logType)) {
      this.add(`${prefix}NoIncomingRecords`, {
        alarmDescription: `${which}Firehose received no record for ${props.heartbeatHours} h: no ALB log object of this type was loaded (S3 notification removed, ALB logging off, loader stopped).`,
        metric: new cloudwatch.Metric({
          namespace: 'AWS/Firehose',
          metricName: 'IncomingRecords',
          dimensionsMap: { DeliveryStreamName: streamName },
          statistic: 'Sum',
          period: Duration.hours(props.heartbeatHours),
        }),
        threshold: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
        // Firehose publishes nothing while it receives nothing: silence is the incident here.
        treatMissingData: cloudwatch.TreatMissingData.BREACHING,
      });
    }
    this.add(`${prefix}DeliverySuccessLow`, {
      alarmDescription: `${which}Under 99 % of bulk requests to OpenSearch succeeded for 15 minutes; documents still failing after the retry duration go to errors/AmazonOpenSearchService-failed/.`,
      metric: firehoseMetric('DeliveryToAmazonOpenSearchService.Success', 'Average'),
      // A transient partial failure that a retry fixes is not an incident (L-14).
      threshold: 0.99,
      comparisonOperator: cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
      evaluationPeriods: 3,
    });
    const freshness = props.bufferInterval.plus(Duration.minutes(15));
    this.add(`${prefix}DeliveryDataStale`, {
      alarmDescription: `${which}The oldest record in Firehose is older than ${freshness.toSeconds()} s: OpenSearch does not accept documents (blocked, red, overloaded) and Firehose is retrying.`,
      metric: firehoseMetric('DeliveryToAmazonOpenSearchService.DataFreshness', 'Maximum'),
      threshold: freshness.toSeconds(),
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
    });
    this.add(`${prefix}BackupDeliveryFailing`, {
      alarmDescription: `${which}Firehose could not write to the backup bucket for 15 minutes: failed documents are not preserved (bucket policy, deleted bucket); Firehose drops them after 24 h of retries.`,
      metric: firehoseMetric('DeliveryToS3.Success', 'Average'),
      threshold: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
      evaluationPeriods: 3,
    });
    this.add(`${prefix}StreamThrottled`, {
      alarmDescription: `${which}Firehose throttled records for 15 minutes: the loaders exceed the stream's Direct PUT quota; request a raise or lower peakLinesPerSecond.`,
      metric: firehoseMetric('ThrottledRecords', 'Sum'),
      threshold: 0,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: 3,
    });
    this.add(`${prefix}ProcessingFailedRecords`, {
      alarmDescription: `${which}The transform returned ProcessingFailed for some lines; they are in the backup bucket under errors/processing-failed/.`,
      metric: this.emfMetric(stream.transformServiceName, PROCESSING_FAILED_METRIC),
      threshold: 0,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
    });
    this.add(`${prefix}TransformInvocationFailures`, {
      alarmDescription: `${which}Firehose could not invoke the transform (errors, timeouts, throttles); the whole batch goes to errors/processing-failed/.`,
      metric: firehoseMetric('ExecuteProcessing.Success', 'Minimum'),
      threshold: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
    });
    const sumOverFiveMinutes = { statistic: 'Sum', period: Duration.minutes(5) };
    this.add(`${prefix}TransformErrors`, {
      alarmDescription: `${which}The transform Lambda function failed (error or timeout).`,
      metric: stream.transform.metricErrors(sumOverFiveMinutes),
      threshold: 0,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
    });
    this.add(`${prefix}TransformThrottles`, {
      alarmDescription: `${which}The transform Lambda function was throttled (account concurrency exhausted).`,
      metric: stream.transform.metricThrottles(sumOverFiveMinutes),
      threshold: 0,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
    });
  }

  private addLambdaAlarms(props: PipelineAlarmsProps): void {
    const sumOverFiveMinutes = { statistic: 'Sum', period: Duration.minutes(5) };
    this.add('LoaderObjectsFailed', {
      alarmDescription: 'The loader failed on log objects (S3 access, corrupt gzip, Firehose errors); SQS retries them, and after maxReceiveCount they go to the DLQ.',
      metric: this.emfMetric(SERVICE_NAMES.loader, LOADER_ALARM_METRICS.objectsFailed),
      threshold: 0,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
    });
    if (props.directLoader) this.addDirectIndexingAlarms(props, props.directLoader.logTypes, sumOverFiveMinutes);
    // Firehose delivery: lines over the record limit, and throttled PutRecordBatch calls.
    if (!props.directLoader) this.add('LoaderFailedLines', {
      alarmDescription: 'The loader recorded lines it cannot send (over Firehose\'s 1,000 KiB record limit) under errors/loader-failed/.',
      metric: this.emfMetric(SERVICE_NAMES.loader, LOADER_ALARM_METRICS.failedLines),
      threshold: 0,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
    });
    if (!props.directLoader) this.add('LoaderSendThrottled', {
      alarmDescription: 'PutRecordBatch was throttled in every 5 minutes for 15 minutes: the stream quota is the bottleneck and the backlog grows.',
      metric: this.emfMetric(SERVICE_NAMES.loader, LOADER_ALARM_METRICS.throttles),
      threshold: 0,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: 3,
    });
    this.add('LoaderErrors', {
      alarmDescription: 'The loader Lambda function failed (error or timeout).',
      metric: props.loader.metricErrors(sumOverFiveMinutes),
      threshold: 0,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
    });
    this.add('LoaderThrottles', {
      alarmDescription: 'The loader Lambda function was throttled (account concurrency exhausted).',
      metric: props.loader.metricThrottles(sumOverFiveMinutes),
      threshold: 0,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
    });
  }

  /** AWS's recommended CloudWatch alarms for Amazon OpenSearch Service (thresholds, periods and counts as AWS gives them). */
  private addDomainAlarms(props: PipelineAlarmsProps): void {
    const domain = props.domain;
    const maximum = (minutes: number) => ({ statistic: 'Maximum', period: Duration.minutes(minutes) });
    const atLeast = cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD;
    this.add('ClusterRed', {
      alarmDescription: 'At least one primary shard is unassigned: some indices cannot be written or searched.',
      metric: domain.metricClusterStatusRed(maximum(1)),
      threshold: 1,
      comparisonOperator: atLeast,
    });
    this.add('ClusterYellow', {
      alarmDescription: 'At least one replica shard is unassigned for 5 minutes: a node failure now could lose data.',
      metric: domain.metricClusterStatusYellow(maximum(1)),
      threshold: 1,
      comparisonOperator: atLeast,
      evaluationPeriods: 5,
    });
    this.add('ClusterIndexWritesBlocked', {
      alarmDescription: 'The cluster blocks writes (disk flood stage, memory pressure): every bulk request fails and Firehose retries, then backs documents up.',
      metric: domain.metricClusterIndexWritesBlocked(maximum(5)),
      threshold: 1,
      comparisonOperator: atLeast,
    });
    this.add('FreeStorageLow', {
      alarmDescription: 'A data node is low on disk (at or below the free-storage threshold); at 95 % used OpenSearch blocks writes.',
      metric: domain.metricFreeStorageSpace({ statistic: 'Minimum', period: Duration.minutes(1) }),
      threshold: props.freeStorageThresholdMiB,
      comparisonOperator: cloudwatch.ComparisonOperator.LESS_THAN_OR_EQUAL_TO_THRESHOLD,
    });
    this.add('JVMMemoryPressureHigh', {
      alarmDescription: 'JVM heap use is at 95 % or more for 3 minutes: requests are being rejected by circuit breakers and the node may crash.',
      metric: domain.metricJVMMemoryPressure(maximum(1)),
      threshold: 95,
      comparisonOperator: atLeast,
      evaluationPeriods: 3,
    });
    this.add('CPUUtilizationHigh', {
      alarmDescription: 'Data node CPU at 80 % or more for 45 minutes: indexing and search slow down.',
      metric: domain.metricCPUUtilization(maximum(15)),
      threshold: 80,
      comparisonOperator: atLeast,
      evaluationPeriods: 3,
    });
    this.add('AutomatedSnapshotFailure', {
      alarmDescription: 'An automated snapshot failed: the domain has no recent backup.',
      metric: domain.metricAutomatedSnapshotFailure(maximum(1)),
      threshold: 1,
      comparisonOperator: atLeast,
    });
    this.add('KMSKeyError', {
      alarmDescription: 'The encryption-at-rest KMS key is disabled: the domain cannot read or write data.',
      metric: domain.metricKMSKeyError(maximum(1)),
      threshold: 1,
      comparisonOperator: atLeast,
    });
    this.add('KMSKeyInaccessible', {
      alarmDescription: 'The encryption-at-rest KMS key was deleted or its grants revoked: the domain cannot read or write data.',
      metric: domain.metricKMSKeyInaccessible(maximum(1)),
      threshold: 1,
      comparisonOperator: atLeast,
    });
    if (props.masterNodes > 0) {
      this.add('MasterCPUUtilizationHigh', {
        alarmDescription: 'Dedicated master CPU at 50 % or more for 45 minutes: cluster management may stall.',
        metric: domain.metricMasterCPUUtilization(maximum(15)),
        threshold: 50,
        comparisonOperator: atLeast,
        evaluationPeriods: 3,
      });
      this.add('MasterJVMMemoryPressureHigh', {
        alarmDescription: 'Dedicated master JVM heap at 95 % or more: the master may fail and the cluster lose its coordinator.',
        metric: domain.metricMasterJVMMemoryPressure(maximum(15)),
        threshold: 95,
        comparisonOperator: atLeast,
      });
    }
  }

  private emfMetric(service: string, metricName: string): cloudwatch.Metric {
    return new cloudwatch.Metric({
      namespace: METRICS_NAMESPACE,
      metricName,
      // Powertools Metrics adds the service name as the `service` dimension to every metric.
      dimensionsMap: { service },
      statistic: 'Sum',
      period: Duration.minutes(5),
    });
  }

  /**
   * The direct loader's EMF metrics (transform/loader/direct-handler.ts DIRECT_METRICS): what Firehose's metrics
   * watch in the other mode (heartbeat, refused documents, parser rejects, throttling), on the loader's own counts.
   */
  private addDirectIndexingAlarms(props: PipelineAlarmsProps, logTypes: readonly LogType[], sumOverFiveMinutes: { statistic: string; period: Duration }): void {
    const loaderMetric = (metricName: string, options: { statistic: string; period: Duration }, dimensions: Record<string, string> = {}) =>
      new cloudwatch.Metric({ namespace: METRICS_NAMESPACE, metricName, dimensionsMap: { service: SERVICE_NAMES.loader, ...dimensions }, ...options });
    if (props.heartbeatHours > 0) {
      for (const type of logTypes.filter((t) => props.heartbeatLogTypes.includes(t))) {
        const which = alarmPrefix(type) === '' ? '' : `${alarmPrefix(type)} logs: `;
        this.add(`${alarmPrefix(type)}NoDocumentsIndexed`, {
          alarmDescription: `${which}The loader indexed no document of this log type for ${props.heartbeatHours} h: no ALB log object of it was loaded (S3 notification removed, ALB logging off, loader stopped), or every line failed.`,
          metric: loaderMetric(DIRECT_METRICS.indexed, { statistic: 'Sum', period: Duration.hours(props.heartbeatHours) }, { [LOG_TYPE_DIMENSION]: type }),
          threshold: 1,
          comparisonOperator: cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
          // The loader publishes this metric only for objects it indexed: silence is the incident here.
          treatMissingData: cloudwatch.TreatMissingData.BREACHING,
        });
      }
    }
    this.add('LoaderBulkRetrying', {
      alarmDescription: 'The domain answered _bulk requests from the loader with 429, 5xx or no connection in every 5 minutes for 15 minutes: it is overloaded or blocked; objects that outlast the retry window go back to the queue.',
      metric: loaderMetric(DIRECT_METRICS.retries, sumOverFiveMinutes),
      threshold: 0,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: 3,
    });
    this.add('LoaderIndexingFailures', {
      alarmDescription: 'OpenSearch refused documents the loader bulk-indexed; they are in the backup bucket under errors/AmazonOpenSearchService-failed/ (albatross backfill --firehose-errors replays them).',
      metric: loaderMetric(DIRECT_METRICS.refused, sumOverFiveMinutes),
      threshold: 0,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
    });
    this.add('LoaderParseFailures', {
      alarmDescription: 'The loader\'s parser rejected some lines; they are in the backup bucket under errors/processing-failed/ (or errors/loader-failed/ when too long).',
      metric: loaderMetric(DIRECT_METRICS.parseFailed, sumOverFiveMinutes),
      threshold: 0,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
    });
    this.add('LoaderBulkLatencyHigh', {
      alarmDescription: '_bulk requests from the loader take over 10 s (p90 over 5 minutes): the domain is overloaded; objects may start to time out and retry.',
      metric: loaderMetric(DIRECT_METRICS.bulkLatency, { statistic: 'p90', period: Duration.minutes(5) }),
      threshold: DIRECT_BULK_LATENCY_ALARM_MS,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
    });
  }

  private add(id: string, options: AlarmOptions): void {
    const evaluationPeriods = options.evaluationPeriods ?? 1;
    const alarm = new cloudwatch.Alarm(this, id, {
      // No traffic, no data: an idle pipeline is not an incident (the heartbeat alarm says otherwise).
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      ...options,
      evaluationPeriods,
      datapointsToAlarm: evaluationPeriods,
    });
    alarm.addAlarmAction(new actions.SnsAction(this.topic));
    alarm.addOkAction(new actions.SnsAction(this.topic));
    this.alarms.push(alarm);
  }
}
