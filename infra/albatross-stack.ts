import { Annotations, Aws, CfnCondition, CfnOutput, Duration, Fn, RemovalPolicy, Stack, type StackProps, Token } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as iam from 'aws-cdk-lib/aws-iam';
import { RetentionDays } from 'aws-cdk-lib/aws-logs';
import * as opensearch from 'aws-cdk-lib/aws-opensearchservice';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import type { Construct } from 'constructs';
import { DeliveryStream } from './constructs/delivery-stream.ts';
import { LogSource } from './constructs/log-source.ts';
import { Loader } from './constructs/loader.ts';
import { acknowledgeFindings } from './nag.ts';
import { alarmPrefix, PipelineAlarms } from './constructs/pipeline-alarms.ts';
import { type DomainLayout, resolveDomainLayout } from './constructs/domain-layout.ts';
import { Replayer } from './constructs/replayer.ts';
import { Backfill } from './constructs/backfill.ts';
import { type DomainSizing, NewSearchDomain } from './constructs/search-domain.ts';
import { CustomerManagedKey } from './constructs/customer-managed-key.ts';
import { type ExistingVpc, PrivateNetwork } from './constructs/private-network.ts';
import { formatEnrichSetting, parseEnrichSetting } from '../transform/enrich/settings.ts';
import { createSecureBucket } from './constructs/secure-bucket.ts';
import { TemplatesInstaller } from './constructs/templates-installer.ts';
import { DELIVERY_STREAM_ENV } from '../transform/loader/handler.ts';
import { LOG_TYPE_NAMES, LOG_TYPES, isLogType, type LogType } from '../transform/log-type-names.ts';
import { transformServiceName } from '../transform/observability.ts';
import { prefixConflicts } from '../templates/install.ts';
import { SECURITY_SETUP_OUTPUT, type SecuritySetup } from '../templates/security-setup.ts';

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
  /**
   * Account owning `existingLogBucketName` when it is not this stack's (a central log-archive bucket): the stack
   * adds no notification or policy to it and outputs what its owner adds (docs/deploy.md). @default - this account
   */
  readonly logBucketAccount?: string;
  /** KMS key of an existing log bucket whose objects are SSE-KMS: the loader gets kms:Decrypt through S3. @default - SSE-S3 */
  readonly logBucketKmsKeyArn?: string;
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
  /** Days failed records stay in the backup bucket. @default 90 */
  readonly backupExpirationDays?: number;
  /** Primary shards per daily index (AWS guidance: 10-50 GB per shard). @default - the installer's default (1) */
  readonly shards?: number;

  /** Alarm notifications go to this address (SNS e-mail subscription, confirm by e-mail). @default - topic without subscription */
  readonly alarmEmail?: string;
  /** Invited to Dashboards (Cognito sends a temporary password). @default alarmEmail */
  readonly adminEmail?: string;
  /**
   * IAM principals (role or user ARNs) that may assume the break-glass admin role of a new domain, with MFA.
   * @default - IAM principals of this account whose own policy allows sts:AssumeRole on it, with MFA
   */
  readonly breakGlassPrincipals?: readonly string[];
  /**
   * Who is the FGAC master user of a new domain. 'breakGlass': people (the break-glass role); the template
   * installer holds only `<prefix>-installer` (templates, retention, mapping changes), and one person runs the
   * security setup (`albatross setup-templates --stack <name>`) after the first deployment and after any that
   * adds roles. 'installer': the installer Lambda's role, which then maps every role on each deployment by itself.
   * @default 'breakGlass'
   */
  readonly fgacMaster?: 'breakGlass' | 'installer';
  /**
   * Let the transform log up to three raw failed lines per batch. Lines carry client addresses, URLs and query
   * strings, so by default the Lambdas' logs hold reasons and locations only. @default false
   */
  readonly logSamples?: boolean;
  /**
   * Encrypt buckets (but the two AWS limits to SSE-S3), queues, topic, delivery stream, domain, table, function
   * environments and log groups with a customer-managed KMS key: 'create' makes one (rotated yearly), or the ARN
   * of an existing key whose policy allows what docs/deploy.md lists. @default - AWS-managed and AWS-owned keys
   */
  readonly customerManagedKey?: 'create' | string;
  /**
   * A private domain: 'create' builds a VPC (isolated private subnets, an S3 gateway endpoint, flow logs), or an
   * existing VPC by ids and zone names (no lookup). The domain, Firehose's delivery and every function that calls
   * the domain then run inside it. @default - a public endpoint (SigV4 + FGAC)
   */
  readonly vpc?: 'create' | ExistingVpc;
  /** Fine-grained access control audit logs of a new domain, published to CloudWatch Logs. @default true */
  readonly auditLogs?: boolean;

  /** Loader memory (MB); also its CPU share. @default 1024 */
  readonly loaderMemorySize?: number;
  /** Loader timeout (max 15 min); the queue's visibility timeout is 6×. @default 5 minutes */
  readonly loaderTimeout?: Duration;
  /** SQS messages (log objects) per loader invocation. @default 1 */
  readonly loaderBatchSize?: number;
  /**
   * Expected peak ALB log lines per second across the fleet. Sets the loader's maximum concurrency (one loader per
   * LINES_PER_SECOND_PER_LOADER, at least 2); the stream's Direct PUT quota must allow it (docs/deploy.md §3.1).
   * @default 1250 (about the 1 MiB/s default quota of most regions)
   */
  readonly peakLinesPerSecond?: number;
  /** Maximum concurrent loader invocations (2-1000). @default - derived from peakLinesPerSecond */
  readonly loaderMaxConcurrency?: number;
  /** PutRecordBatch calls in flight per loader invocation. @default - the loader's built-in default */
  readonly loaderSendConcurrency?: number;
  /** Receives before a log object's message moves to the dead-letter queue (>= 5); a large object may need several. @default 15 */
  readonly maxReceiveCount?: number;
  /** Transform memory (MB). @default 512 */
  readonly transformMemorySize?: number;
  /** Transform timeout (Firehose allows at most 5 minutes). @default 1 minute */
  readonly transformTimeout?: Duration;
  /** Enrichment in the transform: `geo,as,ua` (any subset), `all` or `none`. @default all */
  readonly enrichment?: string;
  /** Own MaxMind-format city database (e.g. GeoIP2-City.mmdb) as `s3://bucket/key`, instead of the bundled DB-IP Lite data. */
  readonly geoipCityDb?: string;
  /** Own MaxMind-format ASN database (e.g. GeoLite2-ASN.mmdb) as `s3://bucket/key`, instead of the bundled ASN table. */
  readonly geoipAsnDb?: string;

  /** Firehose buffering interval towards OpenSearch (0-900 s). @default 60 seconds */
  readonly bufferInterval?: Duration;
  /** Firehose buffer size towards OpenSearch (1-100 MB; at most 9 on t2/t3 instances, which accept 10 MiB per request). @default 5 */
  readonly bufferSizeMB?: number;
  /** How long Firehose retries a failed bulk request before backing the documents up (0-7200 s). @default 7200 seconds */
  readonly retryDuration?: Duration;

  /** Time between runs of the replayer of Firehose's delivery-failure backup (docs/replay.md; 5-1440 whole minutes). @default 15 minutes */
  readonly replayInterval?: Duration;

  /** Retention of every log group the stack creates. @default one month */
  readonly logRetention?: RetentionDays;
  /**
   * What happens to the domain, buckets, table, user pool, key and log groups when the stack is deleted.
   * @default RETAIN_ON_UPDATE_OR_DELETE - kept on delete and replacement, removed when the first deployment rolls back
   */
  readonly removalPolicy?: RemovalPolicy;
  /** FreeStorageSpace alarm threshold (MiB, emptiest node). @default 25 % of a new domain's volume; 1024 for an existing domain */
  readonly freeStorageThresholdMiB?: number;
  /** Heartbeat alarms, per log type: its stream received no record (direct delivery: no document indexed) for this many hours (1-24); 0 = off. @default 6 */
  readonly heartbeatHours?: number;
  /**
   * Log types that get a heartbeat alarm. ALBs write connection and health-check logs only when each is turned on,
   * so by default only access logs are expected all the time. Each must be among `logTypes`.
   * @default ['access'] when access logs are delivered, else every delivered type
   */
  readonly heartbeatLogTypes?: readonly LogType[];
  /**
   * Reserved concurrency of the backfill worker (`albatross backfill --on-aws`, 2-1000): objects indexed at once, each
   * with up to 2 `_bulk` requests in flight. Size it to the domain's indexing capacity (docs/backfill.md). @default 2
   */
  readonly backfillConcurrency?: number;
  /** Buckets besides the log bucket that the backfill worker may read old logs from. @default - the log bucket only */
  readonly backfillBuckets?: readonly string[];
}

/** Lines per second planned for one loader invocation when deriving its concurrency (docs/deploy.md §3.1). */
export const LINES_PER_SECOND_PER_LOADER = 250;
/** The handler stops sending 20 s before its deadline; below a minute little time is left to load anything. */
export const MIN_LOADER_TIMEOUT_SECONDS = 60;
/** Largest HTTP request body (MiB) of t2/t3 instance types; larger types accept 100 MiB. */
const SMALL_INSTANCE_REQUEST_LIMIT_MIB = 10;

/** Loader concurrency for an expected peak volume (SQS event sources allow 2-1000). */
export function loaderConcurrencyFor(peakLinesPerSecond: number): number {
  return Math.min(1000, Math.max(2, Math.ceil(peakLinesPerSecond / LINES_PER_SECOND_PER_LOADER)));
}

/** Resolved settings: every default applied and every range checked. */
export interface AlbatrossSettings {
  readonly delivery: DeliveryMode;
  readonly logPrefix: string;
  readonly logExpirationDays: number;
  readonly indexPrefix: string;
  readonly logTypes: readonly LogType[];
  /** Index prefix of each log type (the access one is indexPrefix). */
  readonly indexPrefixes: Readonly<Record<LogType, string>>;
  readonly retentionDays: number;
  readonly backupExpirationDays: number;
  readonly shards?: number;
  readonly loaderMemorySize: number;
  readonly loaderTimeout: Duration;
  readonly loaderBatchSize: number;
  readonly peakLinesPerSecond: number;
  readonly loaderMaxConcurrency: number;
  readonly maxReceiveCount: number;
  readonly transformMemorySize: number;
  readonly transformTimeout: Duration;
  readonly enrichment: string;
  readonly geoipCityDb?: string;
  readonly geoipAsnDb?: string;
  readonly bufferInterval: Duration;
  readonly bufferSizeMB: number;
  readonly retryDuration: Duration;
  readonly domainSizing: DomainSizing;
  /** Zone layout of a new domain; undefined for an existing one. */
  readonly domainLayout?: DomainLayout;
  readonly logRetention: RetentionDays;
  readonly removalPolicy: RemovalPolicy;
  readonly heartbeatHours: number;
  readonly heartbeatLogTypes: readonly LogType[];
  readonly backfillConcurrency: number;
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
  if (props.vpc !== undefined && props.existingDomainEndpoint !== undefined) {
    throw new Error('vpc settings place a domain the stack creates; an existing domain keeps its own network (docs/deploy.md)');
  }
  if (props.fgacMaster !== undefined && props.existingDomainEndpoint !== undefined) {
    throw new Error('fgacMaster applies to a domain the stack creates; an existing domain keeps its own master user (its administrator runs the security setup, docs/deploy.md §5)');
  }
  if (props.breakGlassPrincipals !== undefined && props.existingDomainEndpoint !== undefined) {
    throw new Error('breakGlassPrincipals apply to a domain the stack creates; an existing domain keeps its own administrators');
  }
  const loaderTimeout = props.loaderTimeout ?? Duration.minutes(5);
  checkRange('loaderTimeout (seconds)', loaderTimeout.toSeconds(), MIN_LOADER_TIMEOUT_SECONDS, 900);
  const transformTimeout = props.transformTimeout ?? Duration.minutes(1);
  checkRange('transformTimeout (seconds)', transformTimeout.toSeconds(), 1, 300);
  const bufferInterval = props.bufferInterval ?? Duration.seconds(60);
  checkRange('bufferInterval (seconds)', bufferInterval.toSeconds(), 0, 900);
  const retryDuration = props.retryDuration ?? Duration.seconds(7200);
  checkRange('retryDuration (seconds)', retryDuration.toSeconds(), 0, 7200);
  const enrichment = formatEnrichSetting(parseEnrichSetting(props.enrichment));
  for (const [name, uri] of [['geoipCityDb', props.geoipCityDb], ['geoipAsnDb', props.geoipAsnDb]] as const) {
    if (uri !== undefined && !/^s3:\/\/[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]\/.+/.test(uri)) throw new Error(`${name} must be an s3://bucket/key URI of an .mmdb file, got "${uri}"`);
  }
  // Zones without a node count: one data node per zone.
  const sizing: DomainSizing = {
    ...DEFAULT_DOMAIN_SIZING,
    ...(props.domainSizing?.availabilityZones !== undefined ? { dataNodes: props.domainSizing.availabilityZones } : {}),
    ...props.domainSizing,
  };
  checkInteger('domainSizing.dataNodes', sizing.dataNodes, 1, 80);
  checkInteger('domainSizing.volumeSizeGiB', sizing.volumeSizeGiB, 10, 16384);
  if (sizing.masterNodes !== 0 && sizing.masterNodes !== 3 && sizing.masterNodes !== 5) {
    throw new Error(`domainSizing.masterNodes must be 0, 3 or 5, got ${sizing.masterNodes}`);
  }
  const domainLayout = props.existingDomainEndpoint === undefined ? resolveDomainLayout(sizing) : undefined;
  const bufferSizeMB = checkInteger('bufferSizeMB', props.bufferSizeMB ?? 5, 1, 100);
  // Firehose sends the buffer as one _bulk request (plus action lines); t2/t3 nodes answer 413 above 10 MiB,
  // and then every document goes to the backup bucket. Only known for a domain the stack creates.
  if (props.existingDomainEndpoint === undefined && /^t[23]\./.test(sizing.instanceType) && bufferSizeMB >= SMALL_INSTANCE_REQUEST_LIMIT_MIB) {
    throw new Error(`bufferSizeMB must be at most ${SMALL_INSTANCE_REQUEST_LIMIT_MIB - 1} with instanceType ${sizing.instanceType}: ` +
      `t2/t3 nodes accept HTTP requests of at most ${SMALL_INSTANCE_REQUEST_LIMIT_MIB} MiB, got ${bufferSizeMB}`);
  }
  const peakLinesPerSecond = checkInteger('peakLinesPerSecond', props.peakLinesPerSecond ?? 1250, 1, 10_000_000);
  const heartbeatHours = checkInteger('heartbeatHours', props.heartbeatHours ?? 6, 0, 24);
  const heartbeatLogTypes = props.heartbeatLogTypes ?? (logTypes.includes('access') ? ['access'] : logTypes);
  const notDelivered = heartbeatLogTypes.filter((type) => !logTypes.includes(type));
  if (notDelivered.length > 0) {
    throw new Error(`heartbeatLogTypes must be among the delivered logTypes (${logTypes.join(',')}), got "${heartbeatLogTypes.join(',')}"`);
  }
  const delivery = props.delivery ?? 'firehose';
  if (delivery !== 'firehose' && delivery !== 'direct') throw new Error(`delivery must be "firehose" or "direct", got "${String(delivery)}"`);
  return {
    delivery,
    logPrefix,
    logExpirationDays: checkInteger('logExpirationDays', props.logExpirationDays ?? 90, 1, 36500),
    indexPrefix,
    logTypes: LOG_TYPES.filter((type) => logTypes.includes(type)),
    indexPrefixes,
    retentionDays: checkInteger('retentionDays', props.retentionDays ?? 30, 1, 36500),
    backupExpirationDays: checkInteger('backupExpirationDays', props.backupExpirationDays ?? 90, 1, 36500),
    ...(props.shards === undefined ? {} : { shards: checkInteger('shards', props.shards, 1, 1024) }),
    loaderMemorySize: checkInteger('loaderMemorySize', props.loaderMemorySize ?? 1024, 128, 10240),
    loaderTimeout,
    loaderBatchSize: checkInteger('loaderBatchSize', props.loaderBatchSize ?? 1, 1, 10),
    peakLinesPerSecond,
    loaderMaxConcurrency: checkInteger('loaderMaxConcurrency', props.loaderMaxConcurrency ?? loaderConcurrencyFor(peakLinesPerSecond), 2, 1000),
    maxReceiveCount: checkInteger('maxReceiveCount', props.maxReceiveCount ?? 15, 5, 1000),
    transformMemorySize: checkInteger('transformMemorySize', props.transformMemorySize ?? 512, 128, 10240),
    transformTimeout,
    enrichment,
    ...(props.geoipCityDb !== undefined && { geoipCityDb: props.geoipCityDb }),
    ...(props.geoipAsnDb !== undefined && { geoipAsnDb: props.geoipAsnDb }),
    bufferInterval,
    bufferSizeMB,
    retryDuration,
    domainSizing: sizing,
    domainLayout,
    logRetention: props.logRetention ?? RetentionDays.ONE_MONTH,
    removalPolicy: props.removalPolicy ?? RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE,
    heartbeatHours,
    heartbeatLogTypes: LOG_TYPES.filter((type) => heartbeatLogTypes.includes(type)),
    backfillConcurrency: checkInteger('backfillConcurrency', props.backfillConcurrency ?? 2, 2, 1000),
  };
}

/**
 * Account of an existing domain's ARN when the domain may be in another account than the stack's (always, for an
 * environment-agnostic stack); undefined when it is provably this account.
 */
export function otherDomainAccount(domainArn: string, stackAccount: string): string | undefined {
  const match = /^arn:aws[a-z-]*:es:[a-z0-9-]+:(\d{12}):domain\/[a-z][a-z0-9-]{2,27}$/.exec(domainArn);
  if (match === null) throw new Error(`existingDomainArn must be an OpenSearch domain ARN (arn:aws:es:<region>:<account>:domain/<name>), got "${domainArn}"`);
  return !Token.isUnresolved(stackAccount) && stackAccount === match[1] ? undefined : match[1];
}

/**
 * ALB access logs -> S3 -> SQS -> loader Lambda -> Firehose (transform Lambda) -> OpenSearch daily indices,
 * failures backed up to S3, alarms to SNS. See docs/deploy.md.
 */
export class AlbatrossStack extends Stack {
  readonly settings: AlbatrossSettings;
  readonly logSource: LogSource;
  /** The first log type's delivery stream (the access-log stream unless access logs are left out); Firehose delivery only. */
  readonly delivery?: DeliveryStream;
  /** The delivery stream of each log type delivered (none in direct delivery). */
  readonly deliveries: Partial<Record<LogType, DeliveryStream>> = {};
  /** Failed records: Firehose's errors/ of the first log type's stream (or the direct loader's, in the same layout) and errors/loader-failed/. */
  readonly backupBucket: s3.IBucket;
  readonly loader: Loader;
  readonly templates: TemplatesInstaller;
  /** The installer is the FGAC master and maps every role (fgacMaster=installer); else people run the security setup. */
  readonly manageSecurity: boolean;
  /** Runs the template installer; the FGAC master user of a new domain only with fgacMaster=installer. */
  readonly templatesInstallerRole: iam.Role;
  readonly alarms: PipelineAlarms;
  /** ARN of the domain the pipeline writes to (new or existing). */
  readonly domainArn: string;
  /** Set when the stack created the domain. */
  readonly searchDomain?: NewSearchDomain;
  /** Set for a private (VPC) domain. */
  readonly network?: PrivateNetwork;
  /** Set in customer-managed key mode. */
  readonly customerManagedKey?: CustomerManagedKey;
  /** The first replayer (the access stream's, or the direct loader's backup's). */
  readonly replayer: Replayer;
  /** One replayer per backup bucket: each stream's, or the direct loader's one. */
  readonly replayers: Replayer[] = [];
  /** The backfill queue, its worker and its progress table (`albatross backfill --on-aws`). */
  readonly backfill: Backfill;

  constructor(scope: Construct, id: string, props: AlbatrossStackProps = {}) {
    super(scope, id, props);
    const settings = resolveSettings(props);
    this.settings = settings;
    const { removalPolicy, logRetention } = settings;
    const existingDomain = props.existingDomainEndpoint !== undefined;
    this.manageSecurity = !existingDomain && props.fgacMaster === 'installer';
    if (props.existingDomainArn !== undefined && !existingDomain) {
      throw new Error('existingDomainArn needs existingDomainEndpoint as well');
    }


    // Not versioned: S3 writes each access log object once, and nothing reads it back but people.
    const accessLogs = createSecureBucket(this, 'AccessLogsBucket', { expirationDays: 90, removalPolicy, versioned: false });
    const logSource = (this.logSource = new LogSource(this, 'LogSource', {
      existingBucketName: props.existingLogBucketName,
      bucketOwnerAccount: props.logBucketAccount,
      bucketKeyArn: props.logBucketKmsKeyArn,
      prefix: settings.logPrefix,
      logExpirationDays: settings.logExpirationDays,
      loaderTimeout: settings.loaderTimeout,
      maxReceiveCount: settings.maxReceiveCount,
      removalPolicy,
      serverAccessLogsBucket: accessLogs,
    }));
    if (props.customerManagedKey !== undefined) {
      this.customerManagedKey = new CustomerManagedKey(this, 'Key', {
        existingKeyArn: props.customerManagedKey === 'create' ? undefined : props.customerManagedKey,
        s3ManagedOnly: [accessLogs, ...(logSource.bucketCreated ? [logSource.bucket] : [])],
        notificationSource: { account: logSource.bucketAccount, bucketArn: logSource.bucket.bucketArn },
      });
    }

    // Named only for an existing domain: its owner must allow and map these roles before the deployment.
    const fixedRoleName = (suffix: string): string | undefined =>
      existingDomain ? `${this.stackName}-${suffix}`.slice(0, 64) : undefined;
    const installerRole = (this.templatesInstallerRole = new iam.Role(this, 'TemplatesInstallerRole', {
      roleName: fixedRoleName('templates'),
      description: this.manageSecurity
        ? 'Albatross: installs index templates and FGAC role mappings (FGAC master user of the domain)'
        : 'Albatross: installs index templates, retention and mapping changes (FGAC role <prefix>-installer)',
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
      if (props.vpc !== undefined) {
        this.network = new PrivateNetwork(this, 'Network', {
          vpc: props.vpc, zones: settings.domainLayout!.availabilityZones, logRetention, removalPolicy,
        });
      }
      for (const warning of settings.domainLayout!.warnings) Annotations.of(this).addWarningV2('albatross:domain-layout', warning);
      this.searchDomain = new NewSearchDomain(this, 'Search', {
        sizing: settings.domainSizing,
        layout: settings.domainLayout!,
        auditLogs: props.auditLogs,
        network: this.network,
        breakGlassPrincipals: props.breakGlassPrincipals,
        installerRole,
        installerIsMaster: this.manageSecurity,
        signInDomainPrefix: props.signInDomainPrefix ?? `${this.stackName.toLowerCase()}-${this.account}`,
        adminEmail: props.adminEmail ?? props.alarmEmail,
        logRetention,
        removalPolicy,
      });
      domain = this.searchDomain.domain;
    }
    this.domainArn = domain.domainArn;
    // A domain ARN may name another account (a central logging account): Firehose then needs the endpoint, and
    // that domain's metrics are in its own account. Decided at deploy time, as the stack's account is known then.
    const domainAccount = props.existingDomainArn === undefined ? undefined : otherDomainAccount(props.existingDomainArn, this.account);
    let otherAccountDomain: { endpoint: string; inThisAccount: CfnCondition } | undefined;
    if (domainAccount !== undefined) {
      const host = props.existingDomainEndpoint!.replace(/^https?:\/\//, '').replace(/\/+$/, '');
      if (host.startsWith('vpc-')) {
        throw new Error(`a VPC domain (${host}) in account ${domainAccount} cannot take deliveries from another account's Firehose or functions: ` +
          'deploy Albatross in the domain\'s account (the log bucket may stay in another: logBucketAccount), or give the domain a public endpoint (docs/deploy.md §5)');
      }
      otherAccountDomain = {
        endpoint: `https://${host}`,
        inThisAccount: new CfnCondition(this, 'DomainInThisAccount', { expression: Fn.conditionEquals(Aws.ACCOUNT_ID, domainAccount) }),
      };
      Annotations.of(this).addInfo(`The domain is in account ${domainAccount}: deployed into another account, Firehose delivers to its endpoint ` +
        'and its domain alarms are left out (its metrics are in its own account). Its owner allows and maps the roles first (docs/deploy.md §5).');
    }
    installerRole.addToPolicy(
      new iam.PolicyStatement({
        sid: 'ConfigureDomain',
        actions: ['es:ESHttpGet', 'es:ESHttpPut', 'es:ESHttpPost', 'es:ESHttpHead'],
        resources: [`${domain.domainArn}/*`],
      }),
    );

    const direct = settings.delivery === 'direct';
    const firehoseGroup = direct ? undefined : this.network?.addClient('FirehoseSecurityGroup', 'Firehose delivery');
    // One delivery stream per log type: Firehose writes one index family per stream. The access-log
    // stream keeps the construct id (and role name) it always had; the others are named after their type.
    const typeName = (type: LogType): string => type[0]!.toUpperCase() + type.slice(1);
    for (const type of direct ? [] : settings.logTypes) {
      this.deliveries[type] = new DeliveryStream(this, type === 'access' ? 'Delivery' : `${typeName(type)}Delivery`, {
        logType: type,
        domainArn: domain.domainArn,
        ...(otherAccountDomain ? { otherAccountDomain } : {}),
        vpc: this.network && firehoseGroup
          ? { subnetIds: this.network.domainSubnets.map((subnet) => subnet.subnetId), securityGroupIds: [firehoseGroup.securityGroupId] }
          : undefined,
        indexPrefix: settings.indexPrefixes[type],
        bufferInterval: settings.bufferInterval,
        bufferSizeMB: settings.bufferSizeMB,
        retryDuration: settings.retryDuration,
        backupExpirationDays: settings.backupExpirationDays,
        transformMemorySize: settings.transformMemorySize,
        transformTimeout: settings.transformTimeout,
        // Enrichment applies to access logs (client address, user agent); the other types carry neither.
        enrichment: type === 'access' ? settings.enrichment : 'none',
        ...(type === 'access' && settings.geoipCityDb !== undefined && { geoipCityDb: settings.geoipCityDb }),
        ...(type === 'access' && settings.geoipAsnDb !== undefined && { geoipAsnDb: settings.geoipAsnDb }),
        logRetention,
        removalPolicy,
        serverAccessLogsBucket: accessLogs,
        roleName: fixedRoleName(type === 'access' ? 'firehose' : `firehose-${type}`),
        logSamples: props.logSamples,
      });
      // Bulk writes (POST/PUT) and the GETs of Firehose's own checks (_all/_settings, _cluster/health, mappings).
      this.searchDomain?.allowHttpMethods(['Get', 'Post', 'Put'], this.deliveries[type].role);
    }
    const [firstType, ...otherTypes] = settings.logTypes as [LogType, ...LogType[]];
    this.delivery = this.deliveries[firstType];
    this.backupBucket = this.delivery?.backupBucket ?? createSecureBucket(this, 'BackupBucket', {
      expirationDays: settings.backupExpirationDays,
      removalPolicy,
      serverAccessLogsBucket: accessLogs,
      serverAccessLogsPrefix: 'backup-bucket/',
    });
    // Created here so the templates installer can map it in FGAC before the replayer first runs.
    const replayerRole = new iam.Role(this, 'ReplayerRole', {
      roleName: fixedRoleName('replayer'),
      description: 'Albatross: replays documents from the Firehose backup into OpenSearch',
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
    });
    // Only what its identity policy allows too: GET of cluster health and write blocks, POST of _bulk.
    this.searchDomain?.allowHttpRequests(['Get'], ['_cluster/*'], replayerRole);
    this.searchDomain?.allowHttpRequests(['Post'], ['_bulk'], replayerRole);

    this.loader = new Loader(this, 'Loader', {
      queue: this.logSource.queue,
      logBucket: this.logSource.bucket,
      ...(props.logBucketAccount ? { logBucketOwner: props.logBucketAccount } : {}),
      logKeyPrefix: this.logSource.logKeyPrefix,
      ...(this.delivery
        ? {
            streamName: this.delivery.streamName,
            streamArn: this.delivery.streamArn,
            streamEnvironment: DELIVERY_STREAM_ENV[firstType],
            additionalStreams: otherTypes.map((type) => ({
              environment: DELIVERY_STREAM_ENV[type], streamName: this.deliveries[type]!.streamName, streamArn: this.deliveries[type]!.streamArn,
            })),
          }
        : {
            direct: { domainArn: domain.domainArn, domainEndpoint: domain.domainEndpoint, indexPrefixes: settings.indexPrefixes, logTypes: settings.logTypes, enrichment: settings },
            // A private domain is reached from inside its VPC; the loader also calls S3, SQS and DynamoDB.
            ...(this.network ? { network: this.network.functionNetwork('LoaderSecurityGroup', 'the loader', { awsApis: true }) } : {}),
          }),
      failureBucket: this.backupBucket,
      // Each type's failed lines in its own stream's backup, where that stream's replay reads.
      typeFailureBuckets: Object.fromEntries(otherTypes.filter((type) => type !== 'access' && this.deliveries[type]).map((type) => [type, this.deliveries[type]!.backupBucket])),
      memorySize: settings.loaderMemorySize,
      timeout: settings.loaderTimeout,
      batchSize: settings.loaderBatchSize,
      maxConcurrency: settings.loaderMaxConcurrency,
      sendConcurrency: props.loaderSendConcurrency,
      roleName: direct ? fixedRoleName('loader') : undefined,
      logRetention,
      removalPolicy,
    });
    this.logSource.addReader(this.loader.function.role);
    // Direct delivery: `_bulk` only (POST), as its identity policy.
    if (direct) this.searchDomain?.allowHttpRequests(['Post'], ['_bulk'], this.loader.function.role);
    const loaderRoleArn = direct ? this.loader.function.role.roleArn : undefined;

    this.backfill = new Backfill(this, 'Backfill', {
      domainArn: domain.domainArn,
      domainEndpoint: domain.domainEndpoint,
      indexPrefixes: settings.indexPrefixes,
      logTypes: settings.logTypes,
      enrichment: settings,
      sourceBuckets: [this.logSource.bucket.bucketName, ...(props.backfillBuckets ?? [])],
      backupBucket: this.backupBucket,
      typeFailureBuckets: this.loader.typeFailureBuckets,
      checkpointTable: this.loader.checkpointTable,
      concurrency: settings.backfillConcurrency,
      memorySize: settings.loaderMemorySize,
      maxReceiveCount: settings.maxReceiveCount,
      roleName: fixedRoleName('backfill'),
      ...(this.network ? { network: this.network.functionNetwork('BackfillSecurityGroup', 'the backfill worker', { awsApis: true }) } : {}),
      logRetention,
      removalPolicy,
    });
    this.searchDomain?.allowHttpRequests(['Post'], ['_bulk'], this.backfill.worker.role);


    // People's admin roles: the Dashboards admins group's and the break-glass role.
    const adminRoleArns = this.searchDomain ? [this.searchDomain.dashboardsAdminRole.roleArn, this.searchDomain.breakGlassRole.roleArn] : undefined;
    this.templates = new TemplatesInstaller(this, 'Templates', {
      logType: firstType,
      role: installerRole,
      network: this.network?.functionNetwork('InstallerSecurityGroup', 'the template installer'),
      domainEndpoint: domain.domainEndpoint,
      indexPrefix: settings.indexPrefixes[firstType],
      retentionDays: settings.retentionDays,
      // From the zone layout (0 on one node keeps it green; 2 under Multi-AZ with Standby); an existing domain keeps its own.
      replicas: settings.domainLayout?.replicas,
      shards: settings.shards,
      firehoseRoleArn: this.delivery?.role.roleArn,
      loaderRoleArn,
      replayerRoleArn: replayerRole.roleArn,
      backfillRoleArn: this.backfill.worker.role.roleArn,
      dashboardsRoleArn: this.searchDomain?.dashboardsRole.roleArn,
      adminRoleArns,
      manageSecurity: this.manageSecurity,
      logRetention,
      removalPolicy,
    });
    // The access policy (a custom resource inside the domain construct) must be in place before the installer signs in.
    if (this.searchDomain) this.templates.node.addDependency(this.searchDomain.domain);
    for (const type of otherTypes) {
      this.templates.addFamily(`${typeName(type)}Templates`, {
        logType: type, indexPrefix: settings.indexPrefixes[type], firehoseRoleArn: this.deliveries[type]?.role.roleArn, loaderRoleArn,
      });
    }
    // Templates, role mappings and additive mapping changes to existing indices before data, and before a new
    // transform (which may emit new fields) receives records: CloudFormation updates the custom resources first.
    const writers = [
      this.backfill.worker.function,
      ...(direct ? [this.loader.function.function] : Object.values(this.deliveries).flatMap((delivery) => [delivery.stream, delivery.transform.function])),
    ];
    for (const dependent of writers) {
      dependent.node.addDependency(this.templates.resource);
      for (const family of this.templates.families) dependent.node.addDependency(family);
    }

    if (existingDomain && props.freeStorageThresholdMiB === undefined) {
      Annotations.of(this).addWarningV2('albatross:freeStorageThreshold',
        'The FreeStorageLow alarm of an existing domain fires at 1024 MiB free; set -c freeStorageThresholdMiB to 25 % of a data node\'s volume (in MiB).');
    }
    this.alarms = new PipelineAlarms(this, 'Alarms', {
      alarmEmail: props.alarmEmail,
      queue: this.logSource.queue,
      deadLetterQueue: this.logSource.deadLetterQueue,
      maxReceiveCount: settings.maxReceiveCount,
      // Every log type's stream the same alarms, ids prefixed with its type (none for access logs).
      streams: settings.logTypes.filter((type) => this.deliveries[type]).map((type) => ({
        prefix: alarmPrefix(type),
        logType: type,
        streamName: this.deliveries[type]!.streamName,
        transform: this.deliveries[type]!.transform.function,
        transformServiceName: transformServiceName(type),
      })),
      bufferInterval: settings.bufferInterval,
      loader: this.loader.function.function,
      ...(direct ? { directLoader: { logTypes: settings.logTypes } } : {}),
      domain,
      masterNodes: existingDomain ? 0 : settings.domainSizing.masterNodes,
      freeStorageThresholdMiB:
        props.freeStorageThresholdMiB ??
        (existingDomain ? 1024 : Math.floor(settings.domainSizing.volumeSizeGiB * 1024 * 0.25)),
      heartbeatHours: settings.heartbeatHours,
      heartbeatLogTypes: settings.heartbeatLogTypes,
      removalPolicy,
    });

    // One replayer per backup bucket: each stream's replays into its own index family; the direct
    // loader's one bucket holds every type. The access replayer (or the direct one) keeps its construct id.
    const replayNetwork = this.network?.functionNetwork('ReplayerSecurityGroup', 'the replayer', { awsApis: true });
    const replayTargets = direct
      ? [{ id: 'Replayer', logType: undefined, logTypes: settings.logTypes, bucket: this.backupBucket }]
      : settings.logTypes.map((type) => ({ id: `${alarmPrefix(type)}Replayer`, logType: type, logTypes: [type], bucket: this.deliveries[type]!.backupBucket }));
    for (const target of replayTargets) {
      const replayer = new Replayer(this, target.id, {
        domain,
        backupBucket: target.bucket,
        ...(target.logType ? { logType: target.logType } : {}),
        logTypes: target.logTypes,
        indexPrefixes: settings.indexPrefixes,
        alarmTopic: this.alarms.topic,
        interval: props.replayInterval,
        role: replayerRole,
        network: replayNetwork,
        logRetention,
        removalPolicy,
      });
      // Its FGAC mapping before its first run.
      replayer.node.addDependency(this.templates.resource);
      for (const family of this.templates.families) replayer.node.addDependency(family);
      this.replayers.push(replayer);
    }
    this.replayer = this.replayers[0]!;
    for (const type of direct ? [] : otherTypes) {
      new CfnOutput(this, `${typeName(type)}DeliveryStreamName`, { value: this.deliveries[type]!.streamName });
      new CfnOutput(this, `${typeName(type)}BackupBucketName`, { value: this.deliveries[type]!.backupBucket.bucketName });
    }

    new CfnOutput(this, 'DomainEndpoint', { value: `https://${domain.domainEndpoint}`, description: 'OpenSearch endpoint (SigV4-signed requests only)' });
    new CfnOutput(this, 'DashboardsUrl', { value: `https://${domain.domainEndpoint}/_dashboards/`, description: 'OpenSearch Dashboards (Cognito sign-in: users read <indexPrefix>-*, the admins group administers)' });
    if (this.searchDomain) {
      new CfnOutput(this, 'BreakGlassRoleArn', { value: this.searchDomain.breakGlassRole.roleArn, description: 'Assume with MFA for full OpenSearch administration (FGAC all_access, security_manager)' });
    }
    if (this.delivery) new CfnOutput(this, 'DeliveryStreamName', { value: this.delivery.streamName });
    new CfnOutput(this, 'QueueUrl', { value: this.logSource.queue.queueUrl, description: 'S3 ObjectCreated notifications for ALB log objects' });
    new CfnOutput(this, 'DeadLetterQueueUrl', { value: this.logSource.deadLetterQueue.queueUrl });
    new CfnOutput(this, 'BackupBucketName', { value: this.backupBucket.bucketName, description: 'Failed records (errors/<type>/yyyy/MM/dd/)' });
    new CfnOutput(this, 'LogBucketName', { value: this.logSource.bucket.bucketName, description: 'Point ALB access logging here' });
    new CfnOutput(this, 'AlarmTopicArn', { value: this.alarms.topic.topicArn });
    new CfnOutput(this, 'TemplatesInstallerRoleArn', {
      value: installerRole.roleArn,
      description: this.manageSecurity ? 'FGAC master user of the domain (fgacMaster=installer)' : 'Mapped to <prefix>-installer by the security setup (albatross setup-templates --stack)',
    });
    // Everything `albatross setup-templates --stack <name>` maps, run by a person with the admin rights.
    const securitySetup: SecuritySetup = {
      version: 1,
      endpoint: `https://${domain.domainEndpoint}`,
      retentionDays: settings.retentionDays,
      ...(settings.shards === undefined ? {} : { shards: settings.shards }),
      ...(settings.domainLayout?.replicas === undefined ? {} : { replicas: settings.domainLayout.replicas }),
      families: settings.logTypes.map((type) => ({
        logType: type, indexPrefix: settings.indexPrefixes[type], ...(this.deliveries[type] ? { firehoseRoleArn: this.deliveries[type]!.role.roleArn } : {}),
      })),
      ...(loaderRoleArn ? { loaderRoleArn } : {}),
      replayerRoleArn: replayerRole.roleArn,
      backfillRoleArn: this.backfill.worker.role.roleArn,
      ...(this.searchDomain ? { dashboardsRoleArn: this.searchDomain.dashboardsRole.roleArn, adminRoleArns } : {}),
      installerRoleArn: installerRole.roleArn,
    };
    new CfnOutput(this, SECURITY_SETUP_OUTPUT, {
      value: this.toJsonString(securitySetup),
      description: this.manageSecurity
        ? 'The FGAC role mappings the installer keeps (albatross setup-templates --stack can apply them too)'
        : 'FGAC role mappings to apply as the break-glass role: npx albatross setup-templates --stack <this stack> (docs/deploy.md)',
    });
    if (this.delivery) new CfnOutput(this, 'FirehoseRoleArn', { value: this.delivery.role.roleArn });
    else new CfnOutput(this, 'LoaderRoleArn', { value: this.loader.function.role.roleArn, description: 'Bulk-indexes directly: allow and map it on an existing domain' });
    this.backfill.addAlarms(this.alarms.topic);
    new CfnOutput(this, 'BackfillQueueUrl', { value: this.backfill.queue.queueUrl, description: 'albatross backfill --on-aws queues log objects here' });
    new CfnOutput(this, 'BackfillTableName', { value: this.backfill.table.tableName, description: 'Backfill runs and their progress (albatross backfill --status)' });
    new CfnOutput(this, 'BackfillRoleArn', { value: this.backfill.worker.role.roleArn, description: 'The backfill worker bulk-indexes directly: allow and map it on an existing domain' });
    new CfnOutput(this, 'ReplayerRoleArn', { value: replayerRole.roleArn, description: 'Replays the Firehose backup; mapped in FGAC like the Firehose role' });

    // Domain alarms read AWS/ES metrics of the domain's account: only created when that is this one.
    if (otherAccountDomain) {
      for (const alarm of this.alarms.alarms) {
        const cfn = alarm.node.defaultChild as cloudwatch.CfnAlarm;
        if (cfn.namespace === 'AWS/ES') cfn.cfnOptions.condition = otherAccountDomain.inThisAccount;
      }
    }
    this.logSource.addOwnerOutputs();
    this.customerManagedKey?.grantToServiceRoles(this);
    acknowledgeFindings(this);
  }
}
