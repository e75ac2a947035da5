// CDK context (`-c name=value` or cdk.json "context") -> AlbatrossStackProps. Values from the command line
// arrive as strings, values from cdk.json keep their JSON type; both are accepted.
import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import { RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { AlbatrossStackProps } from './albatross-stack.ts';
import type { ExistingVpc } from './constructs/private-network.ts';
import type { DomainSizing } from './constructs/search-domain.ts';
import { isLogType, LOG_TYPES, type LogType } from '../transform/log-type-names.ts';

/** Context keys the app reads, with what they set; docs/deploy.md lists the same. */
export const CONTEXT_KEYS = {
  stackName: 'CloudFormation stack name (default Albatross)',
  region: 'AWS region to synthesize for (default CDK_DEFAULT_REGION, else region-agnostic)',
  delivery: 'firehose (default) or direct: the loader bulk-indexes itself, no Firehose (docs/cost.md)',
  logBucketName: 'existing ALB log bucket (default: create one)',
  logBucketArn: 'existing ALB log bucket by ARN (arn:aws:s3:::name), instead of logBucketName',
  logBucketAccount: 'account owning the existing log bucket when it is not this one: its owner adds the notification and grants (docs/deploy.md)',
  logBucketKmsKeyArn: 'KMS key of an existing log bucket whose objects are SSE-KMS (the loader gets kms:Decrypt through S3)',
  logPrefix: "ALB access-log prefix (default '')",
  logExpirationDays: 'expiry of log objects in a created log bucket (default 90)',
  domainEndpoint: 'existing OpenSearch domain endpoint (default: create a domain)',
  domainArn: 'existing domain ARN (default: derived from domainEndpoint)',
  instanceType: 'data node instance type (default t3.small.search)',
  dataNodes: 'data node count (default 1; an even count >= 2 spreads over 2 AZs)',
  volumeSizeGiB: 'EBS gp3 volume per data node (default 10)',
  masterNodes: 'dedicated master nodes: 0, 3 or 5 (default 0)',
  masterInstanceType: 'dedicated master instance type (default m6g.large.search)',
  availabilityZones: 'availability zones of a new domain: 1, 2 or 3, or with vpcId the zone names (default: 1 for one node, else 3 or 2 as the data node count divides)',
  multiAzWithStandby: 'true = Multi-AZ with Standby (needs availabilityZones=3, masterNodes=3, non-burstable instances; default false)',
  vpc: "'create' = a private domain in a new VPC (isolated subnets, S3 endpoint, flow logs; default: public endpoint)",
  vpcId: 'an existing VPC for a private domain (with privateSubnetIds and availabilityZones as zone names; no lookup)',
  privateSubnetIds: 'with vpcId: one private subnet id per availability zone, comma-separated, in the order of availabilityZones',
  auditLogs: 'false = no FGAC audit logs (default true: published to CloudWatch Logs)',
  kms: "'create' = encrypt data at rest with a customer-managed KMS key the stack creates (default: AWS-managed keys)",
  kmsKeyArn: 'an existing KMS key to encrypt data at rest with instead (its policy: docs/deploy.md)',
  logSamples: 'true = the transform logs up to 3 raw failed lines per batch (default false: no log content in CloudWatch Logs)',
  signInDomainPrefix: 'Cognito hosted-UI prefix (default <stack>-<account>)',
  indexPrefix: 'index prefix (default alb-logs)',
  logTypes: 'ALB log types to deliver, comma-separated: access, connection, health (default all three, one delivery stream each)',
  connectionIndexPrefix: 'connection-log index prefix (default alb-connection)',
  healthIndexPrefix: 'health-check-log index prefix (default alb-health)',
  retentionDays: 'days indices are kept (default 30)',
  backupExpirationDays: 'days failed records are kept (default 90)',
  shards: 'primary shards per daily index (default 1)',
  alarmEmail: 'e-mail for alarms (default none)',
  adminEmail: 'e-mail invited to Dashboards (default alarmEmail)',
  fgacMaster: "FGAC master user of a new domain: breakGlass (default: people administer it; run the security setup once, docs/deploy.md) or installer (the installer Lambda maps every role itself)",
  breakGlassPrincipals: 'IAM role or user ARNs, comma-separated, that may assume the break-glass admin role with MFA (default: this account\'s principals allowed to)',
  loaderMemorySize: 'loader memory MB (default 1024)',
  loaderTimeoutSeconds: 'loader timeout, 60-900 (default 300)',
  loaderBatchSize: 'log objects per loader invocation (default 1)',
  peakLinesPerSecond: 'expected peak ALB lines per second; sets the loader concurrency (default 1250)',
  loaderMaxConcurrency: 'max concurrent loaders (default: peakLinesPerSecond / 250, at least 2)',
  loaderSendConcurrency: 'PutRecordBatch calls in flight per loader (default: loader default)',
  maxReceiveCount: 'receives before the DLQ (default 15)',
  transformMemorySize: 'transform memory MB (default 512)',
  transformTimeoutSeconds: 'transform timeout (default 60, max 300)',
  enrichment: 'enrichment in the transform: geo,as,ua (any subset), all or none (default all)',
  geoipCityDb: 'own MaxMind-format city .mmdb as s3://bucket/key (default: the bundled DB-IP Lite data)',
  geoipAsnDb: 'own MaxMind-format ASN .mmdb as s3://bucket/key (default: the bundled ip-location-db table)',
  bufferIntervalSeconds: 'Firehose buffer interval (default 60)',
  bufferSizeMB: 'Firehose buffer size (default 5; at most 9 on t2/t3 instances)',
  retryDurationSeconds: 'Firehose retry duration (default 7200, the maximum)',
  replayIntervalMinutes: 'minutes between runs of the backup replayer (default 15, 5-1440)',
  logRetentionDays: 'CloudWatch log retention days, a value CloudWatch accepts (default 30)',
  removalPolicy: 'retain-except-on-create (default), retain or destroy',
  freeStorageThresholdMiB: 'free storage alarm threshold (default 25 % of the volume)',
  heartbeatLogTypes: 'log types with a heartbeat alarm, comma-separated, among logTypes (default access; ALBs write connection and health-check logs only where turned on)',
  heartbeatHours: 'alarm per log type when no record arrived (direct: no document indexed) for this many hours, 1-24; 0 or off disables (default 6)',
  backfillConcurrency: 'reserved concurrency of the backfill worker, 2-1000: objects indexed at once by albatross backfill --on-aws (default 2)',
  backfillBuckets: 'buckets besides the log bucket the backfill worker may read, comma-separated (default none)',
} as const;

export type ContextKey = keyof typeof CONTEXT_KEYS;
export type ContextReader = (key: string) => unknown;

export interface AppSettings {
  readonly stackName: string;
  readonly region?: string;
  readonly props: AlbatrossStackProps;
}

function text(read: ContextReader, key: ContextKey): string | undefined {
  const value = read(key);
  if (value === undefined || value === null || value === '') return undefined;
  if (typeof value !== 'string' && typeof value !== 'number') throw new Error(`context ${key} must be a string, got ${JSON.stringify(value)}`);
  return String(value);
}

function integer(read: ContextReader, key: ContextKey): number | undefined {
  const value = text(read, key);
  if (value === undefined) return undefined;
  if (!/^\d+$/.test(value)) throw new Error(`context ${key} must be a non-negative integer, got "${value}"`);
  return Number(value);
}

function seconds(read: ContextReader, key: ContextKey): Duration | undefined {
  const value = integer(read, key);
  return value === undefined ? undefined : Duration.seconds(value);
}

function minutes(read: ContextReader, key: ContextKey): Duration | undefined {
  const value = integer(read, key);
  return value === undefined ? undefined : Duration.minutes(value);
}

function retention(read: ContextReader): RetentionDays | undefined {
  const days = integer(read, 'logRetentionDays');
  if (days === undefined) return undefined;
  if (!Object.values(RetentionDays).includes(days)) {
    throw new Error(`context logRetentionDays must be a CloudWatch Logs retention (1, 3, 5, 7, 14, 30, 60, 90, …), got ${days}`);
  }
  return days as RetentionDays;
}

function flag(read: ContextReader, key: ContextKey): boolean | undefined {
  const value = read(key);
  if (value === undefined || value === null || value === '') return undefined;
  if (value === true || value === 'true') return true;
  if (value === false || value === 'false') return false;
  throw new Error(`context ${key} must be true or false, got ${JSON.stringify(value)}`);
}

function logTypeList(read: ContextReader, key: 'logTypes' | 'heartbeatLogTypes' = 'logTypes'): LogType[] | undefined {
  const value = text(read, key);
  if (value === undefined) return undefined;
  const types = value.split(',').map((type) => type.trim()).filter((type) => type !== '');
  const unknown = types.filter((type) => !isLogType(type));
  if (types.length === 0 || unknown.length > 0) throw new Error(`context ${key} must be a comma-separated list of ${LOG_TYPES.join(', ')}, got "${value}"`);
  return types as LogType[];
}

function removal(read: ContextReader): RemovalPolicy | undefined {
  const value = text(read, 'removalPolicy');
  if (value === undefined) return undefined;
  if (value === 'retain-except-on-create') return RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE;
  if (value === 'retain') return RemovalPolicy.RETAIN;
  if (value === 'destroy') return RemovalPolicy.DESTROY;
  throw new Error(`context removalPolicy must be "retain-except-on-create", "retain" or "destroy", got "${value}"`);
}

function hours(read: ContextReader): number | undefined {
  return text(read, 'heartbeatHours') === 'off' ? 0 : integer(read, 'heartbeatHours');
}

function fgacMaster(read: ContextReader): AlbatrossStackProps['fgacMaster'] {
  const value = text(read, 'fgacMaster');
  if (value === undefined || value === 'breakGlass' || value === 'installer') return value;
  throw new Error(`context fgacMaster must be breakGlass or installer, got "${value}"`);
}

function breakGlass(read: ContextReader): string[] | undefined {
  if (read('dashboardsAdmin') !== undefined) {
    throw new Error('context dashboardsAdmin is gone: it made every Dashboards user an administrator. Add administrators to the Cognito group "admins" instead (docs/deploy.md)');
  }
  const principals = list(read, 'breakGlassPrincipals');
  for (const arn of principals ?? []) {
    if (!/^arn:aws[a-z-]*:iam::\d{12}:(role|user)\/.+$/.test(arn)) throw new Error(`context breakGlassPrincipals must be IAM role or user ARNs, got "${arn}"`);
  }
  return principals;
}

/** A comma-separated value as a list of trimmed, non-empty items. */
function list(read: ContextReader, key: ContextKey): string[] | undefined {
  const value = text(read, key);
  return value === undefined ? undefined : value.split(',').map((item) => item.trim()).filter((item) => item !== '');
}

function vpcSetting(read: ContextReader): 'create' | ExistingVpc | undefined {
  const mode = text(read, 'vpc');
  const vpcId = text(read, 'vpcId');
  const subnets = list(read, 'privateSubnetIds');
  if (mode !== undefined && mode !== 'create') throw new Error(`context vpc must be "create" (or use vpcId=<id> with privateSubnetIds and availabilityZones), got "${mode}"`);
  if (mode !== undefined && vpcId !== undefined) throw new Error('context vpc=create and vpcId are alternatives: set one');
  if (mode === 'create') return 'create';
  if (vpcId === undefined) {
    if (subnets !== undefined) throw new Error('context privateSubnetIds needs vpcId');
    return undefined;
  }
  const zones = list(read, 'availabilityZones') ?? [];
  if (subnets === undefined || zones.length === 0 || zones.every((zone) => /^\d+$/.test(zone))) {
    throw new Error('context vpcId needs privateSubnetIds=<subnet>,<subnet>… and availabilityZones=<zone name>,<zone name>… (one subnet per zone; nothing is looked up)');
  }
  return { vpcId, privateSubnetIds: subnets, availabilityZones: zones };
}

function customerManagedKey(read: ContextReader): string | undefined {
  const mode = text(read, 'kms');
  const arn = text(read, 'kmsKeyArn');
  if (mode !== undefined && mode !== 'create') throw new Error(`context kms must be "create" (or use kmsKeyArn=<key ARN>), got "${mode}"`);
  if (mode !== undefined && arn !== undefined) throw new Error('context kms=create and kmsKeyArn are alternatives: set one');
  return mode ?? arn;
}

function logBucket(read: ContextReader): string | undefined {
  const name = text(read, 'logBucketName');
  const arn = text(read, 'logBucketArn');
  if (name !== undefined && arn !== undefined) throw new Error('context logBucketName and logBucketArn are alternatives: set one');
  if (arn === undefined) return name;
  const match = /^arn:aws[a-z-]*:s3:::([a-z0-9][a-z0-9.-]{1,61}[a-z0-9])$/.exec(arn);
  if (match === null) throw new Error(`context logBucketArn must be a bucket ARN (arn:aws:s3:::<bucket name>), got "${arn}"`);
  return match[1];
}

function delivery(read: ContextReader): AlbatrossStackProps['delivery'] {
  const value = text(read, 'delivery');
  if (value === undefined) return undefined;
  if (value === 'firehose' || value === 'direct') return value;
  throw new Error(`context delivery must be "firehose" or "direct", got "${value}"`);
}

/** Reads the app's settings from CDK context; unknown keys are ignored, bad values throw with the key's name. */
export function settingsFromContext(read: ContextReader, env: NodeJS.ProcessEnv = process.env): AppSettings {
  const sizing: Partial<{ -readonly [K in keyof DomainSizing]: DomainSizing[K] }> = {};
  const instanceType = text(read, 'instanceType');
  if (instanceType !== undefined) sizing.instanceType = instanceType;
  const dataNodes = integer(read, 'dataNodes');
  if (dataNodes !== undefined) sizing.dataNodes = dataNodes;
  const volumeSizeGiB = integer(read, 'volumeSizeGiB');
  if (volumeSizeGiB !== undefined) sizing.volumeSizeGiB = volumeSizeGiB;
  const masterNodes = integer(read, 'masterNodes');
  if (masterNodes !== undefined) sizing.masterNodes = masterNodes;
  const masterInstanceType = text(read, 'masterInstanceType');
  if (masterInstanceType !== undefined) sizing.masterInstanceType = masterInstanceType;
  const zones = list(read, 'availabilityZones');
  if (zones !== undefined) {
    if (zones.length === 1 && /^\d+$/.test(zones[0]!)) sizing.availabilityZones = Number(zones[0]);
    else sizing.availabilityZones = zones.length;
  }
  const multiAzWithStandby = flag(read, 'multiAzWithStandby');
  if (multiAzWithStandby !== undefined) sizing.multiAzWithStandby = multiAzWithStandby;

  return {
    stackName: text(read, 'stackName') ?? 'Albatross',
    region: text(read, 'region') ?? env.CDK_DEFAULT_REGION,
    props: {
      delivery: delivery(read),
      existingLogBucketName: logBucket(read),
      logBucketAccount: text(read, 'logBucketAccount'),
      logBucketKmsKeyArn: text(read, 'logBucketKmsKeyArn'),
      logPrefix: text(read, 'logPrefix'),
      logExpirationDays: integer(read, 'logExpirationDays'),
      existingDomainEndpoint: text(read, 'domainEndpoint'),
      existingDomainArn: text(read, 'domainArn'),
      domainSizing: sizing,
      signInDomainPrefix: text(read, 'signInDomainPrefix'),
      indexPrefix: text(read, 'indexPrefix'),
      logTypes: logTypeList(read),
      connectionIndexPrefix: text(read, 'connectionIndexPrefix'),
      healthIndexPrefix: text(read, 'healthIndexPrefix'),
      retentionDays: integer(read, 'retentionDays'),
      backupExpirationDays: integer(read, 'backupExpirationDays'),
      shards: integer(read, 'shards'),
      alarmEmail: text(read, 'alarmEmail'),
      adminEmail: text(read, 'adminEmail'),
      breakGlassPrincipals: breakGlass(read),
      fgacMaster: fgacMaster(read),
      auditLogs: flag(read, 'auditLogs'),
      logSamples: flag(read, 'logSamples'),
      vpc: vpcSetting(read),
      customerManagedKey: customerManagedKey(read),
      loaderMemorySize: integer(read, 'loaderMemorySize'),
      loaderTimeout: seconds(read, 'loaderTimeoutSeconds'),
      loaderBatchSize: integer(read, 'loaderBatchSize'),
      peakLinesPerSecond: integer(read, 'peakLinesPerSecond'),
      loaderMaxConcurrency: integer(read, 'loaderMaxConcurrency'),
      loaderSendConcurrency: integer(read, 'loaderSendConcurrency'),
      maxReceiveCount: integer(read, 'maxReceiveCount'),
      transformMemorySize: integer(read, 'transformMemorySize'),
      transformTimeout: seconds(read, 'transformTimeoutSeconds'),
      enrichment: text(read, 'enrichment'),
      geoipCityDb: text(read, 'geoipCityDb'),
      geoipAsnDb: text(read, 'geoipAsnDb'),
      bufferInterval: seconds(read, 'bufferIntervalSeconds'),
      bufferSizeMB: integer(read, 'bufferSizeMB'),
      retryDuration: seconds(read, 'retryDurationSeconds'),
      replayInterval: minutes(read, 'replayIntervalMinutes'),
      logRetention: retention(read),
      removalPolicy: removal(read),
      freeStorageThresholdMiB: integer(read, 'freeStorageThresholdMiB'),
      heartbeatHours: hours(read),
      heartbeatLogTypes: logTypeList(read, 'heartbeatLogTypes'),
      backfillConcurrency: integer(read, 'backfillConcurrency'),
      backfillBuckets: list(read, 'backfillBuckets'),
    },
  };
}
