import { Duration, type RemovalPolicy } from 'aws-cdk-lib';
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
import { DIRECT_METRICS } from '../../transform/loader/direct-handler.ts';

/** p90 `_bulk` latency of the direct loader above which the latency alarm fires. */
export const DIRECT_BULK_LATENCY_ALARM_MS = 10_000;

/** EMF metric the transform handler emits per invocation: lines it returned as ProcessingFailed. */
export const PROCESSING_FAILED_METRIC = 'RecordsProcessingFailed';

export interface PipelineAlarmsProps {
  readonly alarmEmail?: string;
  readonly deadLetterQueue: sqs.IQueue;
  /** Firehose delivery: the stream and the transform (absent in direct delivery). */
  readonly streamName?: string;
  readonly loader: lambda.IFunction;
  readonly transform?: lambda.IFunction;
  /** Direct delivery: alarms on the loader's own indexing (refused documents, parser rejects, `_bulk` latency). */
  readonly directLoader?: boolean;
  readonly domain: opensearch.IDomain;
  /** FreeStorageSpace (MiB, on the emptiest node) at or below which the storage alarm fires. */
  readonly freeStorageThresholdMiB: number;
  readonly removalPolicy: RemovalPolicy;
}

/** The pipeline's alarms, all notifying one KMS-encrypted SNS topic (optionally subscribed by e-mail). */
export class PipelineAlarms extends Construct {
  readonly topic: sns.Topic;
  readonly alarms: cloudwatch.Alarm[] = [];

  constructor(scope: Construct, id: string, props: PipelineAlarmsProps) {
    super(scope, id);
    const key = new kms.Key(this, 'TopicKey', {
      description: 'Albatross: encrypts the alarm topic',
      enableKeyRotation: true,
      removalPolicy: props.removalPolicy,
    });
    // CloudWatch cannot publish to a topic under the AWS-managed aws/sns key, so the topic has its own key.
    key.grant(new iam.ServicePrincipal('cloudwatch.amazonaws.com'), 'kms:Decrypt', 'kms:GenerateDataKey*');
    this.topic = new sns.Topic(this, 'Topic', { masterKey: key, enforceSSL: true });
    if (props.alarmEmail) this.topic.addSubscription(new subscriptions.EmailSubscription(props.alarmEmail));

    const { streamName, transform } = props;
    const firehoseMetric = (metricName: string, statistic: string): cloudwatch.Metric =>
      new cloudwatch.Metric({
        namespace: 'AWS/Firehose',
        metricName,
        dimensionsMap: { DeliveryStreamName: streamName! },
        statistic,
        period: Duration.minutes(5),
      });
    const sumOverFiveMinutes = { statistic: 'Sum', period: Duration.minutes(5) };

    this.add('DeadLetterQueueNotEmpty', {
      alarmDescription: 'Log objects the loader failed on 5 times are waiting in the dead-letter queue.',
      metric: props.deadLetterQueue.metricApproximateNumberOfMessagesVisible({ statistic: 'Maximum', period: Duration.minutes(5) }),
      threshold: 0,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
    });
    if (streamName !== undefined) {
    this.add('DeliverySuccessBelow100', {
      alarmDescription: 'Firehose could not index some documents into OpenSearch; after the retry duration they go to the backup bucket.',
      metric: firehoseMetric('DeliveryToAmazonOpenSearchService.Success', 'Minimum'),
      threshold: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
    });
    this.add('ProcessingFailedRecords', {
      alarmDescription: 'The transform returned ProcessingFailed for some lines; they are in the backup bucket under errors/processing-failed/.',
      metric: new cloudwatch.Metric({
        namespace: METRICS_NAMESPACE,
        metricName: PROCESSING_FAILED_METRIC,
        dimensionsMap: { service: SERVICE_NAMES.transform },
        ...sumOverFiveMinutes,
      }),
      threshold: 0,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
    });
    this.add('TransformInvocationFailures', {
      alarmDescription: 'Firehose could not invoke the transform (errors, timeouts, throttles); the whole batch goes to errors/processing-failed/.',
      metric: firehoseMetric('ExecuteProcessing.Success', 'Minimum'),
      threshold: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
    });
    }
    if (props.directLoader) this.addDirectIndexingAlarms(sumOverFiveMinutes);
    for (const [name, fn] of [['Loader', props.loader], ...(transform ? [['Transform', transform] as const] : [])] as const) {
      this.add(`${name}Errors`, {
        alarmDescription: `The ${name.toLowerCase()} Lambda function failed (error or timeout).`,
        metric: fn.metricErrors(sumOverFiveMinutes),
        threshold: 0,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      });
      this.add(`${name}Throttles`, {
        alarmDescription: `The ${name.toLowerCase()} Lambda function was throttled (account concurrency exhausted).`,
        metric: fn.metricThrottles(sumOverFiveMinutes),
        threshold: 0,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      });
    }
    this.add('ClusterRed', {
      alarmDescription: 'At least one primary shard is unassigned: some indices cannot be written or searched.',
      metric: props.domain.metricClusterStatusRed({ statistic: 'Maximum', period: Duration.minutes(1) }),
      threshold: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
    });
    this.add('FreeStorageLow', {
      alarmDescription: 'A data node is low on disk (25 % of its volume or less free); at the flood-stage watermark (95 % used) OpenSearch blocks writes.',
      metric: props.domain.metricFreeStorageSpace({ statistic: 'Minimum', period: Duration.minutes(5) }),
      threshold: props.freeStorageThresholdMiB,
      comparisonOperator: cloudwatch.ComparisonOperator.LESS_THAN_OR_EQUAL_TO_THRESHOLD,
    });
  }

  /** The direct loader's EMF metrics (transform/loader/direct-handler.ts DIRECT_METRICS). */
  private addDirectIndexingAlarms(sumOverFiveMinutes: { statistic: string; period: Duration }): void {
    const loaderMetric = (metricName: string, options: { statistic: string; period: Duration }) =>
      new cloudwatch.Metric({ namespace: METRICS_NAMESPACE, metricName, dimensionsMap: { service: SERVICE_NAMES.loader }, ...options });
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

  private add(id: string, props: Omit<cloudwatch.AlarmProps, 'evaluationPeriods' | 'treatMissingData'>): void {
    const alarm = new cloudwatch.Alarm(this, id, {
      ...props,
      evaluationPeriods: 1,
      // No traffic, no data: an idle pipeline is not an incident.
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    alarm.addAlarmAction(new actions.SnsAction(this.topic));
    this.alarms.push(alarm);
  }
}
