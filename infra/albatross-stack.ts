import { CfnOutput, Duration, RemovalPolicy, Stack, type StackProps } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import { RetentionDays } from 'aws-cdk-lib/aws-logs';
import * as opensearch from 'aws-cdk-lib/aws-opensearchservice';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import type { Construct } from 'constructs';
import { DeliveryStream } from './constructs/delivery-stream.ts';
import { LogSource } from './constructs/log-source.ts';
import { Loader } from './constructs/loader.ts';
import { acknowledgeFindings } from './nag.ts';
import { PipelineAlarms } from './constructs/pipeline-alarms.ts';
import { type DomainSizing, NewSearchDomain } from './constructs/search-domain.ts';
import { createSecureBucket } from './constructs/secure-bucket.ts';
import { TemplatesInstaller } from './constructs/templates-installer.ts';

/**
 * Everything a user can set. Every property is optional; the defaults are secure and sized for a small
 * deployment. `settingsFromContext` (infra/context.ts) fills these from CDK context (`-c name=value`, see docs/deploy.md).
 */
/** How documents reach OpenSearch: through Firehose (+ transform Lambda), or bulk-indexed by the loader itself. */
export type DeliveryMode = 'firehose' | 'direct';

export interface AlbatrossStackProps extends StackProps {
  /**
   * `firehose`: loader -> Firehose (transform Lambda) -> OpenSearch. `direct`: the loader parses and bulk-indexes each
   * object itself (event-time indices, _id = event.id; no delivery stream, no transform; docs/cost.md). @default 'firehose'
   */
  readonly delivery?: DeliveryMode;
  /** Bucket your ALBs already write access logs to. @default - a new encrypted bucket with an ALB delivery policy */
  readonly existingLogBucketName?: string;
  /** Access-log prefix configured on the ALBs ('' = none); objects are expected under `<prefix>/AWSLogs/`. @default '' */
  readonly logPrefix?: string;
  /** Days before ALB log objects expire, in a log bucket this stack creates. @default 90 */
  readonly logExpirationDays?: number;

  /** Endpoint of an existing OpenSearch Service domain (`search-….es.amazonaws.com`, with or without https://). @default - a new domain */
  readonly existingDomainEndpoint?: string;
  /** ARN of that domain, when it can't be derived from the endpoint (other account/region naming). @default - derived from the endpoint */
  readonly existingDomainArn?: string;
  /** Size of a new domain. @default 1 × t3.small.search data node, 10 GiB gp3, no dedicated masters */
  readonly domainSizing?: Partial<DomainSizing>;
  /** Cognito hosted-UI domain prefix for Dashboards sign-in (unique per region). @default `<stack name lower-case>-<account>` */
  readonly signInDomainPrefix?: string;

  /** Daily indices are `<indexPrefix>-YYYY-MM-DD`. @default 'alb-logs' */
  readonly indexPrefix?: string;
  /** Days an index is kept before the ISM policy deletes it. @default 30 */
  readonly retentionDays?: number;
  /** Days failed records stay in the backup bucket. @default 30 */
  readonly backupExpirationDays?: number;

  /** Alarm notifications go to this address (SNS e-mail subscription, confirm by e-mail). @default - topic without subscription */
  readonly alarmEmail?: string;
  /** Invited to Dashboards (Cognito sends a temporary password). @default alarmEmail */
  readonly adminEmail?: string;
  /**
   * Give every Dashboards user (the Cognito pool's IAM role) the FGAC admin role all_access as well.
   * @default false - read-only on `<indexPrefix>-*` plus kibana_user for their own saved objects
   */
  readonly dashboardsAdmin?: boolean;

  /** Loader memory (MB); also its CPU share. @default 1024 */
  readonly loaderMemorySize?: number;
  /** Loader timeout (max 15 min); the queue's visibility timeout is 6×. @default 5 minutes */
  readonly loaderTimeout?: Duration;
  /** SQS messages (log objects) per loader invocation. @default 1 */
  readonly loaderBatchSize?: number;
  /** Maximum concurrent loader invocations (2-1000). @default 5 */
  readonly loaderMaxConcurrency?: number;
  /** PutRecordBatch calls in flight per loader invocation. @default - the loader's built-in default */
  readonly loaderSendConcurrency?: number;
  /** Receives before a log object's message moves to the dead-letter queue (>= 5). @default 5 */
  readonly maxReceiveCount?: number;
  /** Transform memory (MB). @default 512 */
  readonly transformMemorySize?: number;
  /** Transform timeout (Firehose allows at most 5 minutes). @default 1 minute */
  readonly transformTimeout?: Duration;

  /** Firehose buffering interval towards OpenSearch (0-900 s). @default 60 seconds */
  readonly bufferInterval?: Duration;
  /** Firehose buffer size towards OpenSearch (1-100 MB; t3 instances accept at most 10 MiB per request). @default 5 */
  readonly bufferSizeMB?: number;
  /** How long Firehose retries a failed bulk request before backing the documents up (0-7200 s). @default 300 seconds */
  readonly retryDuration?: Duration;

  /** Retention of every log group the stack creates. @default one month */
  readonly logRetention?: RetentionDays;
  /** What happens to the domain, buckets, table, user pool and log groups when the stack is deleted. @default RETAIN */
  readonly removalPolicy?: RemovalPolicy;
  /** FreeStorageSpace alarm threshold (MiB, emptiest node). @default 25 % of a new domain's volume; 1024 for an existing domain */
  readonly freeStorageThresholdMiB?: number;
}

/** Resolved settings: every default applied and every range checked. */
export interface AlbatrossSettings {
  readonly delivery: DeliveryMode;
  readonly logPrefix: string;
  readonly logExpirationDays: number;
  readonly indexPrefix: string;
  readonly retentionDays: number;
  readonly backupExpirationDays: number;
  readonly loaderMemorySize: number;
  readonly loaderTimeout: Duration;
  readonly loaderBatchSize: number;
  readonly loaderMaxConcurrency: number;
  readonly maxReceiveCount: number;
  readonly transformMemorySize: number;
  readonly transformTimeout: Duration;
  readonly bufferInterval: Duration;
  readonly bufferSizeMB: number;
  readonly retryDuration: Duration;
  readonly domainSizing: DomainSizing;
  readonly logRetention: RetentionDays;
  readonly removalPolicy: RemovalPolicy;
}

export const DEFAULT_DOMAIN_SIZING: DomainSizing = {
  instanceType: 't3.small.search',
  dataNodes: 1,
  volumeSizeGiB: 10,
  masterNodes: 0,
  masterInstanceType: 'm6g.large.search',
};

function checkRange(name: string, value: number, min: number, max: number): number {
  if (!Number.isFinite(value) || value < min || value > max) {
    throw new Error(`${name} must be between ${min} and ${max}, got ${value}`);
  }
  return value;
}

function checkInteger(name: string, value: number, min: number, max: number): number {
  if (!Number.isInteger(value)) throw new Error(`${name} must be an integer, got ${value}`);
  return checkRange(name, value, min, max);
}

/** Applies the defaults and rejects values AWS would reject at deploy time (or that would break the pipeline). */
export function resolveSettings(props: AlbatrossStackProps): AlbatrossSettings {
  const indexPrefix = props.indexPrefix ?? 'alb-logs';
  // Lower-case, no pattern characters; Firehose appends -YYYY-MM-DD within its 80-character IndexName limit.
  if (!/^[a-z0-9][a-z0-9_-]{0,68}$/.test(indexPrefix)) {
    throw new Error(`indexPrefix must be 1-69 characters of a-z, 0-9, '-' or '_', starting with a letter or digit, got "${indexPrefix}"`);
  }
  const logPrefix = (props.logPrefix ?? '').replace(/^\/+|\/+$/g, '');
  if (/AWSLogs/.test(logPrefix)) throw new Error(`logPrefix is the ALB's prefix without "AWSLogs", got "${logPrefix}"`);
  if (props.dashboardsAdmin && props.existingDomainEndpoint !== undefined) {
    throw new Error('dashboardsAdmin applies to the Dashboards sign-in of a domain the stack creates, not to an existing domain');
  }
  const loaderTimeout = props.loaderTimeout ?? Duration.minutes(5);
  checkRange('loaderTimeout (seconds)', loaderTimeout.toSeconds(), 1, 900);
  const transformTimeout = props.transformTimeout ?? Duration.minutes(1);
  checkRange('transformTimeout (seconds)', transformTimeout.toSeconds(), 1, 300);
  const bufferInterval = props.bufferInterval ?? Duration.seconds(60);
  checkRange('bufferInterval (seconds)', bufferInterval.toSeconds(), 0, 900);
  const retryDuration = props.retryDuration ?? Duration.seconds(300);
  checkRange('retryDuration (seconds)', retryDuration.toSeconds(), 0, 7200);
  const sizing: DomainSizing = { ...DEFAULT_DOMAIN_SIZING, ...props.domainSizing };
  checkInteger('domainSizing.dataNodes', sizing.dataNodes, 1, 80);
  checkInteger('domainSizing.volumeSizeGiB', sizing.volumeSizeGiB, 10, 16384);
  if (sizing.masterNodes !== 0 && sizing.masterNodes !== 3 && sizing.masterNodes !== 5) {
    throw new Error(`domainSizing.masterNodes must be 0, 3 or 5, got ${sizing.masterNodes}`);
  }
  const delivery = props.delivery ?? 'firehose';
  if (delivery !== 'firehose' && delivery !== 'direct') throw new Error(`delivery must be "firehose" or "direct", got "${String(delivery)}"`);
  return {
    delivery,
    logPrefix,
    logExpirationDays: checkInteger('logExpirationDays', props.logExpirationDays ?? 90, 1, 36500),
    indexPrefix,
    retentionDays: checkInteger('retentionDays', props.retentionDays ?? 30, 1, 36500),
    backupExpirationDays: checkInteger('backupExpirationDays', props.backupExpirationDays ?? 30, 1, 36500),
    loaderMemorySize: checkInteger('loaderMemorySize', props.loaderMemorySize ?? 1024, 128, 10240),
    loaderTimeout,
    loaderBatchSize: checkInteger('loaderBatchSize', props.loaderBatchSize ?? 1, 1, 10),
    loaderMaxConcurrency: checkInteger('loaderMaxConcurrency', props.loaderMaxConcurrency ?? 5, 2, 1000),
    maxReceiveCount: checkInteger('maxReceiveCount', props.maxReceiveCount ?? 5, 5, 1000),
    transformMemorySize: checkInteger('transformMemorySize', props.transformMemorySize ?? 512, 128, 10240),
    transformTimeout,
    bufferInterval,
    bufferSizeMB: checkInteger('bufferSizeMB', props.bufferSizeMB ?? 5, 1, 100),
    retryDuration,
    domainSizing: sizing,
    logRetention: props.logRetention ?? RetentionDays.ONE_MONTH,
    removalPolicy: props.removalPolicy ?? RemovalPolicy.RETAIN,
  };
}

/**
 * ALB access logs -> S3 -> SQS -> loader Lambda -> Firehose (transform Lambda) -> OpenSearch daily indices,
 * failures backed up to S3, alarms to SNS. See docs/deploy.md.
 */
export class AlbatrossStack extends Stack {
  readonly settings: AlbatrossSettings;
  readonly logSource: LogSource;
  /** Firehose delivery only. */
  readonly delivery?: DeliveryStream;
  /** Failed records: Firehose's errors/ (or the direct loader's, in the same layout) and errors/loader-failed/. */
  readonly backupBucket: s3.IBucket;
  readonly loader: Loader;
  readonly templates: TemplatesInstaller;
  /** Runs the template installer; FGAC master user of a new domain. */
  readonly templatesInstallerRole: iam.Role;
  readonly alarms: PipelineAlarms;
  /** ARN of the domain the pipeline writes to (new or existing). */
  readonly domainArn: string;
  /** Set when the stack created the domain. */
  readonly searchDomain?: NewSearchDomain;

  constructor(scope: Construct, id: string, props: AlbatrossStackProps = {}) {
    super(scope, id, props);
    const settings = resolveSettings(props);
    this.settings = settings;
    const { removalPolicy, logRetention } = settings;
    const existingDomain = props.existingDomainEndpoint !== undefined;
    if (props.existingDomainArn !== undefined && !existingDomain) {
      throw new Error('existingDomainArn needs existingDomainEndpoint as well');
    }


    const accessLogs = createSecureBucket(this, 'AccessLogsBucket', { expirationDays: 90, removalPolicy });
    this.logSource = new LogSource(this, 'LogSource', {
      existingBucketName: props.existingLogBucketName,
      prefix: settings.logPrefix,
      logExpirationDays: settings.logExpirationDays,
      loaderTimeout: settings.loaderTimeout,
      maxReceiveCount: settings.maxReceiveCount,
      removalPolicy,
      serverAccessLogsBucket: accessLogs,
    });

    // Named only for an existing domain: its owner must allow and map these roles before the deployment.
    const fixedRoleName = (suffix: string): string | undefined =>
      existingDomain ? `${this.stackName}-${suffix}`.slice(0, 64) : undefined;
    const installerRole = (this.templatesInstallerRole = new iam.Role(this, 'TemplatesInstallerRole', {
      roleName: fixedRoleName('templates'),
      description: 'Albatross: installs index templates and FGAC role mappings (FGAC master user of a new domain)',
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
    }));

    let domain: opensearch.IDomain;
    if (existingDomain) {
      domain = props.existingDomainArn
        ? opensearch.Domain.fromDomainAttributes(this, 'Domain', {
            domainArn: props.existingDomainArn,
            domainEndpoint: props.existingDomainEndpoint!,
          })
        : opensearch.Domain.fromDomainEndpoint(this, 'Domain', `https://${props.existingDomainEndpoint!.replace(/^https?:\/\//, '')}`);
    } else {
      this.searchDomain = new NewSearchDomain(this, 'Search', {
        sizing: settings.domainSizing,
        masterRole: installerRole,
        signInDomainPrefix: props.signInDomainPrefix ?? `${this.stackName.toLowerCase()}-${this.account}`,
        adminEmail: props.adminEmail ?? props.alarmEmail,
        logRetention,
        removalPolicy,
      });
      domain = this.searchDomain.domain;
    }
    this.domainArn = domain.domainArn;
    installerRole.addToPolicy(
      new iam.PolicyStatement({
        sid: 'ConfigureDomain',
        actions: ['es:ESHttpGet', 'es:ESHttpPut', 'es:ESHttpPost', 'es:ESHttpHead'],
        resources: [`${domain.domainArn}/*`],
      }),
    );

    const direct = settings.delivery === 'direct';
    if (direct) {
      this.backupBucket = createSecureBucket(this, 'BackupBucket', {
        expirationDays: settings.backupExpirationDays,
        removalPolicy,
        serverAccessLogsBucket: accessLogs,
        serverAccessLogsPrefix: 'backup-bucket/',
      });
    } else {
      this.delivery = new DeliveryStream(this, 'Delivery', {
        domainArn: domain.domainArn,
        indexPrefix: settings.indexPrefix,
        bufferInterval: settings.bufferInterval,
        bufferSizeMB: settings.bufferSizeMB,
        retryDuration: settings.retryDuration,
        backupExpirationDays: settings.backupExpirationDays,
        transformMemorySize: settings.transformMemorySize,
        transformTimeout: settings.transformTimeout,
        logRetention,
        removalPolicy,
        serverAccessLogsBucket: accessLogs,
        roleName: fixedRoleName('firehose'),
      });
      this.searchDomain?.allowHttpAccess(this.delivery.role);
      this.backupBucket = this.delivery.backupBucket;
    }

    this.loader = new Loader(this, 'Loader', {
      queue: this.logSource.queue,
      logBucket: this.logSource.bucket,
      logKeyPrefix: this.logSource.logKeyPrefix,
      ...(this.delivery
        ? { streamName: this.delivery.streamName, streamArn: this.delivery.streamArn }
        : { direct: { domainArn: domain.domainArn, domainEndpoint: domain.domainEndpoint, indexPrefix: settings.indexPrefix } }),
      failureBucket: this.backupBucket,
      memorySize: settings.loaderMemorySize,
      timeout: settings.loaderTimeout,
      batchSize: settings.loaderBatchSize,
      maxConcurrency: settings.loaderMaxConcurrency,
      sendConcurrency: props.loaderSendConcurrency,
      roleName: direct ? fixedRoleName('loader') : undefined,
      logRetention,
      removalPolicy,
    });
    if (direct) this.searchDomain?.allowHttpAccess(this.loader.function.role);

    this.templates = new TemplatesInstaller(this, 'Templates', {
      role: installerRole,
      domainEndpoint: domain.domainEndpoint,
      indexPrefix: settings.indexPrefix,
      retentionDays: settings.retentionDays,
      // One data node cannot hold a replica: 0 keeps a new single-node domain green.
      replicas: existingDomain ? undefined : Math.min(1, settings.domainSizing.dataNodes - 1),
      firehoseRoleArn: this.delivery?.role.roleArn,
      loaderRoleArn: direct ? this.loader.function.role.roleArn : undefined,
      dashboardsRoleArn: this.searchDomain?.dashboardsRole.roleArn,
      dashboardsAdmin: props.dashboardsAdmin ?? false,
      logRetention,
      removalPolicy,
    });
    // The access policy (a custom resource inside the domain construct) must be in place before the installer signs in.
    if (this.searchDomain) this.templates.node.addDependency(this.searchDomain.domain);
    // Templates and role mappings before data.
    (this.delivery?.stream ?? this.loader.function.function).node.addDependency(this.templates.resource);

    this.alarms = new PipelineAlarms(this, 'Alarms', {
      alarmEmail: props.alarmEmail,
      deadLetterQueue: this.logSource.deadLetterQueue,
      streamName: this.delivery?.streamName,
      loader: this.loader.function.function,
      transform: this.delivery?.transform.function,
      directLoader: direct,
      domain,
      freeStorageThresholdMiB:
        props.freeStorageThresholdMiB ??
        (existingDomain ? 1024 : Math.floor(settings.domainSizing.volumeSizeGiB * 1024 * 0.25)),
      removalPolicy,
    });

    new CfnOutput(this, 'DomainEndpoint', { value: `https://${domain.domainEndpoint}`, description: 'OpenSearch endpoint (SigV4-signed requests only)' });
    new CfnOutput(this, 'DashboardsUrl', { value: `https://${domain.domainEndpoint}/_dashboards/`, description: props.dashboardsAdmin ? 'OpenSearch Dashboards (Cognito sign-in, users are admins: all_access)' : 'OpenSearch Dashboards (Cognito sign-in, users read <indexPrefix>-* only)' });
    if (this.delivery) new CfnOutput(this, 'DeliveryStreamName', { value: this.delivery.streamName });
    new CfnOutput(this, 'QueueUrl', { value: this.logSource.queue.queueUrl, description: 'S3 ObjectCreated notifications for ALB log objects' });
    new CfnOutput(this, 'DeadLetterQueueUrl', { value: this.logSource.deadLetterQueue.queueUrl });
    new CfnOutput(this, 'BackupBucketName', { value: this.backupBucket.bucketName, description: 'Failed records (errors/<type>/yyyy/MM/dd/)' });
    new CfnOutput(this, 'LogBucketName', { value: this.logSource.bucket.bucketName, description: 'Point ALB access logging here' });
    new CfnOutput(this, 'AlarmTopicArn', { value: this.alarms.topic.topicArn });
    new CfnOutput(this, 'TemplatesInstallerRoleArn', { value: installerRole.roleArn, description: 'FGAC master user (new domain) / needs all_access on an existing domain' });
    if (this.delivery) new CfnOutput(this, 'FirehoseRoleArn', { value: this.delivery.role.roleArn });
    else new CfnOutput(this, 'LoaderRoleArn', { value: this.loader.function.role.roleArn, description: 'Bulk-indexes directly: allow and map it on an existing domain' });

    acknowledgeFindings(this);
  }
}
