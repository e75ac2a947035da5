// CDK context (`-c name=value` or cdk.json "context") -> AlbatrossStackProps. Values from the command line
// arrive as strings, values from cdk.json keep their JSON type; both are accepted.
import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import { RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { AlbatrossStackProps } from './albatross-stack.ts';
import type { DomainSizing } from './constructs/search-domain.ts';

/** Context keys the app reads, with what they set; docs/deploy.md lists the same. */
export const CONTEXT_KEYS = {
  stackName: 'CloudFormation stack name (default Albatross)',
  region: 'AWS region to synthesize for (default CDK_DEFAULT_REGION, else region-agnostic)',
  delivery: 'firehose (default) or direct: the loader bulk-indexes itself, no Firehose (docs/cost.md)',
  logBucketName: 'existing ALB log bucket (default: create one)',
  logPrefix: "ALB access-log prefix (default '')",
  logExpirationDays: 'expiry of log objects in a created log bucket (default 90)',
  domainEndpoint: 'existing OpenSearch domain endpoint (default: create a domain)',
  domainArn: 'existing domain ARN (default: derived from domainEndpoint)',
  instanceType: 'data node instance type (default t3.small.search)',
  dataNodes: 'data node count (default 1; an even count >= 2 spreads over 2 AZs)',
  volumeSizeGiB: 'EBS gp3 volume per data node (default 10)',
  masterNodes: 'dedicated master nodes: 0, 3 or 5 (default 0)',
  masterInstanceType: 'dedicated master instance type (default m6g.large.search)',
  signInDomainPrefix: 'Cognito hosted-UI prefix (default <stack>-<account>)',
  indexPrefix: 'index prefix (default alb-logs)',
  retentionDays: 'days indices are kept (default 30)',
  backupExpirationDays: 'days failed records are kept (default 30)',
  alarmEmail: 'e-mail for alarms (default none)',
  adminEmail: 'e-mail invited to Dashboards (default alarmEmail)',
  dashboardsAdmin: 'true = Dashboards users also get all_access (default false: read-only)',
  loaderMemorySize: 'loader memory MB (default 1024)',
  loaderTimeoutSeconds: 'loader timeout (default 300)',
  loaderBatchSize: 'log objects per loader invocation (default 1)',
  loaderMaxConcurrency: 'max concurrent loaders (default 5)',
  loaderSendConcurrency: 'PutRecordBatch calls in flight per loader (default: loader default)',
  maxReceiveCount: 'receives before the DLQ (default 5)',
  transformMemorySize: 'transform memory MB (default 512)',
  transformTimeoutSeconds: 'transform timeout (default 60, max 300)',
  bufferIntervalSeconds: 'Firehose buffer interval (default 60)',
  bufferSizeMB: 'Firehose buffer size (default 5)',
  retryDurationSeconds: 'Firehose retry duration (default 300)',
  logRetentionDays: 'CloudWatch log retention days, a value CloudWatch accepts (default 30)',
  removalPolicy: 'retain (default) or destroy',
  freeStorageThresholdMiB: 'free storage alarm threshold (default 25 % of the volume)',
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

function removal(read: ContextReader): RemovalPolicy | undefined {
  const value = text(read, 'removalPolicy');
  if (value === undefined) return undefined;
  if (value === 'retain') return RemovalPolicy.RETAIN;
  if (value === 'destroy') return RemovalPolicy.DESTROY;
  throw new Error(`context removalPolicy must be "retain" or "destroy", got "${value}"`);
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

  return {
    stackName: text(read, 'stackName') ?? 'Albatross',
    region: text(read, 'region') ?? env.CDK_DEFAULT_REGION,
    props: {
      delivery: delivery(read),
      existingLogBucketName: text(read, 'logBucketName'),
      logPrefix: text(read, 'logPrefix'),
      logExpirationDays: integer(read, 'logExpirationDays'),
      existingDomainEndpoint: text(read, 'domainEndpoint'),
      existingDomainArn: text(read, 'domainArn'),
      domainSizing: sizing,
      signInDomainPrefix: text(read, 'signInDomainPrefix'),
      indexPrefix: text(read, 'indexPrefix'),
      retentionDays: integer(read, 'retentionDays'),
      backupExpirationDays: integer(read, 'backupExpirationDays'),
      alarmEmail: text(read, 'alarmEmail'),
      adminEmail: text(read, 'adminEmail'),
      dashboardsAdmin: flag(read, 'dashboardsAdmin'),
      loaderMemorySize: integer(read, 'loaderMemorySize'),
      loaderTimeout: seconds(read, 'loaderTimeoutSeconds'),
      loaderBatchSize: integer(read, 'loaderBatchSize'),
      loaderMaxConcurrency: integer(read, 'loaderMaxConcurrency'),
      loaderSendConcurrency: integer(read, 'loaderSendConcurrency'),
      maxReceiveCount: integer(read, 'maxReceiveCount'),
      transformMemorySize: integer(read, 'transformMemorySize'),
      transformTimeout: seconds(read, 'transformTimeoutSeconds'),
      bufferInterval: seconds(read, 'bufferIntervalSeconds'),
      bufferSizeMB: integer(read, 'bufferSizeMB'),
      retryDuration: seconds(read, 'retryDurationSeconds'),
      logRetention: retention(read),
      removalPolicy: removal(read),
      freeStorageThresholdMiB: integer(read, 'freeStorageThresholdMiB'),
    },
  };
}
