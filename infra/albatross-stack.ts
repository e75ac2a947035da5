import { CfnOutput, Duration, RemovalPolicy, Stack, type StackProps } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import { RetentionDays } from 'aws-cdk-lib/aws-logs';
import * as opensearch from 'aws-cdk-lib/aws-opensearchservice';
import type { Construct } from 'constructs';
import { DeliveryStream } from './constructs/delivery-stream.ts';
import { LogSource } from './constructs/log-source.ts';
import { Loader } from './constructs/loader.ts';
import { acknowledgeFindings } from './nag.ts';
import { PipelineAlarms } from './constructs/pipeline-alarms.ts';
import { type DomainSizing, NewSearchDomain } from './constructs/search-domain.ts';
import { createSecureBucket } from './constructs/secure-bucket.ts';
import { TemplatesInstaller } from './constructs/templates-installer.ts';
import { DELIVERY_STREAM_ENV } from '../transform/loader/handler.ts';
import { LOG_TYPE_NAMES, LOG_TYPES, isLogType, type LogType } from '../transform/log-type-names.ts';
import { transformServiceName } from '../transform/observability.ts';
import { prefixConflicts } from '../templates/install.ts';

/**
 * Everything a user can set. Every property is optional; the defaults are secure and sized for a small
 * deployment. `settingsFromContext` (infra/context.ts) fills these from CDK context (`-c name=value`, see docs/deploy.md).
 */
export interface AlbatrossStackProps extends StackProps {
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
  /** ALB log types to deliver, each through its own delivery stream into its own index family. @default all three */
  readonly logTypes?: readonly LogType[];
  /** Connection-log daily indices are `<connectionIndexPrefix>-YYYY-MM-DD`. @default 'alb-connection' */
  readonly connectionIndexPrefix?: string;
  /** Health-check-log daily indices are `<healthIndexPrefix>-YYYY-MM-DD`. @default 'alb-health' */
  readonly healthIndexPrefix?: string;
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
  readonly logPrefix: string;
  readonly logExpirationDays: number;
  readonly indexPrefix: string;
  readonly logTypes: readonly LogType[];
  /** Index prefix of each log type (the access one is indexPrefix). */
  readonly indexPrefixes: Readonly<Record<LogType, string>>;
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
  const indexPrefixes: Record<LogType, string> = {
    access: indexPrefix,
    connection: props.connectionIndexPrefix ?? LOG_TYPE_NAMES.connection.defaultIndexPrefix,
    health: props.healthIndexPrefix ?? LOG_TYPE_NAMES.health.defaultIndexPrefix,
  };
  const prefixNames: Record<LogType, string> = { access: 'indexPrefix', connection: 'connectionIndexPrefix', health: 'healthIndexPrefix' };
  for (const type of LOG_TYPES) {
    // Lower-case, no pattern characters; Firehose appends -YYYY-MM-DD within its 80-character IndexName limit.
    if (!/^[a-z0-9][a-z0-9_-]{0,68}$/.test(indexPrefixes[type])) {
      throw new Error(`${prefixNames[type]} must be 1-69 characters of a-z, 0-9, '-' or '_', starting with a letter or digit, got "${indexPrefixes[type]}"`);
    }
  }
  const logTypes = [...new Set(props.logTypes ?? LOG_TYPES)];
  const unknownTypes = logTypes.filter((type) => !isLogType(type));
  if (logTypes.length === 0 || unknownTypes.length > 0) {
    throw new Error(`logTypes must name one or more of ${LOG_TYPES.join(', ')}, got "${(props.logTypes ?? []).join(',')}"`);
  }
  const conflicts = prefixConflicts(Object.fromEntries(logTypes.map((type) => [type, indexPrefixes[type]])));
  if (conflicts.length > 0) throw new Error(`index prefixes overlap: ${conflicts.join('; ')}`);
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
  return {
    logPrefix,
    logExpirationDays: checkInteger('logExpirationDays', props.logExpirationDays ?? 90, 1, 36500),
    indexPrefix,
    logTypes: LOG_TYPES.filter((type) => logTypes.includes(type)),
    indexPrefixes,
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
  /** The first log type's delivery stream (the access-log stream unless access logs are left out). */
  readonly delivery: DeliveryStream;
  /** The delivery stream of each log type delivered. */
  readonly deliveries: Partial<Record<LogType, DeliveryStream>> = {};
  readonly loader: Loader;
  readonly templates: TemplatesInstaller;
  /** Runs the template installer; FGAC master user of a new domain. */
  readonly templatesInstallerRole: iam.Role;
  readonly alarms: PipelineAlarms;
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
    installerRole.addToPolicy(
      new iam.PolicyStatement({
        sid: 'ConfigureDomain',
        actions: ['es:ESHttpGet', 'es:ESHttpPut', 'es:ESHttpPost', 'es:ESHttpHead'],
        resources: [`${domain.domainArn}/*`],
      }),
    );

    // One delivery stream per log type: Firehose writes one index family per stream. The access-log
    // stream keeps the construct id (and role name) it always had; the others are named after their type.
    const typeName = (type: LogType): string => type[0]!.toUpperCase() + type.slice(1);
    for (const type of settings.logTypes) {
      this.deliveries[type] = new DeliveryStream(this, type === 'access' ? 'Delivery' : `${typeName(type)}Delivery`, {
        logType: type,
        domainArn: domain.domainArn,
        indexPrefix: settings.indexPrefixes[type],
        bufferInterval: settings.bufferInterval,
        bufferSizeMB: settings.bufferSizeMB,
        retryDuration: settings.retryDuration,
        backupExpirationDays: settings.backupExpirationDays,
        transformMemorySize: settings.transformMemorySize,
        transformTimeout: settings.transformTimeout,
        logRetention,
        removalPolicy,
        serverAccessLogsBucket: accessLogs,
        roleName: fixedRoleName(type === 'access' ? 'firehose' : `firehose-${type}`),
      });
      this.searchDomain?.allowHttpAccess(this.deliveries[type].role);
    }
    const [firstType, ...otherTypes] = settings.logTypes as [LogType, ...LogType[]];
    this.delivery = this.deliveries[firstType]!;

    this.templates = new TemplatesInstaller(this, 'Templates', {
      logType: firstType,
      role: installerRole,
      domainEndpoint: domain.domainEndpoint,
      indexPrefix: settings.indexPrefixes[firstType],
      retentionDays: settings.retentionDays,
      // One data node cannot hold a replica: 0 keeps a new single-node domain green.
      replicas: existingDomain ? undefined : Math.min(1, settings.domainSizing.dataNodes - 1),
      firehoseRoleArn: this.delivery.role.roleArn,
      dashboardsRoleArn: this.searchDomain?.dashboardsRole.roleArn,
      dashboardsAdmin: props.dashboardsAdmin ?? false,
      logRetention,
      removalPolicy,
    });
    // The access policy (a custom resource inside the domain construct) must be in place before the installer signs in.
    if (this.searchDomain) this.templates.node.addDependency(this.searchDomain.domain);
    for (const type of otherTypes) {
      this.templates.addFamily(`${typeName(type)}Templates`, {
        logType: type, indexPrefix: settings.indexPrefixes[type], firehoseRoleArn: this.deliveries[type]!.role.roleArn,
      });
    }
    // Templates and role mappings before data.
    for (const delivery of Object.values(this.deliveries)) {
      delivery.stream.node.addDependency(this.templates.resource);
      for (const family of this.templates.families) delivery.stream.node.addDependency(family);
    }

    this.loader = new Loader(this, 'Loader', {
      queue: this.logSource.queue,
      logBucket: this.logSource.bucket,
      logKeyPrefix: this.logSource.logKeyPrefix,
      streamName: this.delivery.streamName,
      streamArn: this.delivery.streamArn,
      streamEnvironment: DELIVERY_STREAM_ENV[firstType],
      additionalStreams: otherTypes.map((type) => ({
        environment: DELIVERY_STREAM_ENV[type], streamName: this.deliveries[type]!.streamName, streamArn: this.deliveries[type]!.streamArn,
      })),
      failureBucket: this.delivery.backupBucket,
      memorySize: settings.loaderMemorySize,
      timeout: settings.loaderTimeout,
      batchSize: settings.loaderBatchSize,
      maxConcurrency: settings.loaderMaxConcurrency,
      sendConcurrency: props.loaderSendConcurrency,
      logRetention,
      removalPolicy,
    });

    this.alarms = new PipelineAlarms(this, 'Alarms', {
      alarmEmail: props.alarmEmail,
      deadLetterQueue: this.logSource.deadLetterQueue,
      streamName: this.delivery.streamName,
      loader: this.loader.function.function,
      transform: this.delivery.transform.function,
      transformServiceName: transformServiceName(firstType),
      domain,
      freeStorageThresholdMiB:
        props.freeStorageThresholdMiB ??
        (existingDomain ? 1024 : Math.floor(settings.domainSizing.volumeSizeGiB * 1024 * 0.25)),
      removalPolicy,
    });

    for (const type of otherTypes) {
      this.alarms.addStreamAlarms(typeName(type), {
        streamName: this.deliveries[type]!.streamName,
        transform: this.deliveries[type]!.transform.function,
        transformServiceName: transformServiceName(type),
      });
      new CfnOutput(this, `${typeName(type)}DeliveryStreamName`, { value: this.deliveries[type]!.streamName });
      new CfnOutput(this, `${typeName(type)}BackupBucketName`, { value: this.deliveries[type]!.backupBucket.bucketName });
    }

    new CfnOutput(this, 'DomainEndpoint', { value: `https://${domain.domainEndpoint}`, description: 'OpenSearch endpoint (SigV4-signed requests only)' });
    new CfnOutput(this, 'DashboardsUrl', { value: `https://${domain.domainEndpoint}/_dashboards/`, description: props.dashboardsAdmin ? 'OpenSearch Dashboards (Cognito sign-in, users are admins: all_access)' : 'OpenSearch Dashboards (Cognito sign-in, users read <indexPrefix>-* only)' });
    new CfnOutput(this, 'DeliveryStreamName', { value: this.delivery.streamName });
    new CfnOutput(this, 'QueueUrl', { value: this.logSource.queue.queueUrl, description: 'S3 ObjectCreated notifications for ALB log objects' });
    new CfnOutput(this, 'DeadLetterQueueUrl', { value: this.logSource.deadLetterQueue.queueUrl });
    new CfnOutput(this, 'BackupBucketName', { value: this.delivery.backupBucket.bucketName, description: 'Failed records (errors/<type>/yyyy/MM/dd/)' });
    new CfnOutput(this, 'LogBucketName', { value: this.logSource.bucket.bucketName, description: 'Point ALB access logging here' });
    new CfnOutput(this, 'AlarmTopicArn', { value: this.alarms.topic.topicArn });
    new CfnOutput(this, 'TemplatesInstallerRoleArn', { value: installerRole.roleArn, description: 'FGAC master user (new domain) / needs all_access on an existing domain' });
    new CfnOutput(this, 'FirehoseRoleArn', { value: this.delivery.role.roleArn });

    acknowledgeFindings(this);
  }
}
