import { ArnFormat, Aws, type CfnCondition, Duration, Fn, RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as firehose from 'aws-cdk-lib/aws-kinesisfirehose';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { FIREHOSE_VPC_ACTIONS } from './private-network.ts';
import { enrichmentDataFiles, enrichmentEnvironment, grantEnrichmentDatabases } from './enrichment.ts';
import { PROCESSOR_BUFFER_SIZE_MB } from '../../transform/firehose-transform/limits.ts';
import { BundledFunction } from './bundled-function.ts';
import type { LogType } from '../../transform/log-types.ts';
import { createSecureBucket } from './secure-bucket.ts';

/** Firehose's error-output prefix; `!{firehose:error-output-type}` separates processing-failed from delivery failures. */
export const ERROR_OUTPUT_PREFIX = 'errors/!{firehose:error-output-type}/!{timestamp:yyyy/MM/dd}/';
/** Prefix for documents OpenSearch rejected that carry no error-output expression (kept for completeness). */
export const BACKUP_PREFIX = 'failed/';

export interface DeliveryStreamProps {
  /** The log type the stream carries (its transform parses that type). @default access */
  readonly logType?: LogType;
  readonly domainArn: string;
  /**
   * A domain that may be in another account: Firehose then takes its endpoint (`https://…`), as the Firehose
   * developer guide says for cross-account delivery, and its ARN only where `inThisAccount` holds at deploy time.
   */
  readonly otherAccountDomain?: { readonly endpoint: string; readonly inThisAccount: CfnCondition };
  readonly indexPrefix: string;
  readonly bufferInterval: Duration;
  readonly bufferSizeMB: number;
  readonly retryDuration: Duration;
  readonly backupExpirationDays: number;
  readonly transformMemorySize: number;
  readonly transformTimeout: Duration;
  readonly logRetention: logs.RetentionDays;
  readonly removalPolicy: RemovalPolicy;
  readonly serverAccessLogsBucket: s3.IBucket;
  /** Fixed role name (existing domains: the owner must allow and map it before deploying). */
  readonly roleName?: string;
  /** Deliver into a VPC domain through ENIs in these subnets with this security group. @default - public domain */
  readonly vpc?: { readonly subnetIds: string[]; readonly securityGroupIds: string[] };
  /** Let the transform log up to three raw failed lines per batch (client addresses, URLs). @default false */
  readonly logSamples?: boolean;
  /** Enrichment parts for the transform (ALBATROSS_ENRICH): `geo,as,ua`, a subset, or `none`. */
  readonly enrichment: string;
  /** Own MaxMind-format city / ASN databases as s3:// URIs, read by the transform at cold start. */
  readonly geoipCityDb?: string;
  readonly geoipAsnDb?: string;
}

export { enrichmentDataFiles } from './enrichment.ts';

/**
 * Firehose DirectPut stream into daily OpenSearch indices `<prefix>-YYYY-MM-DD`, with the transform Lambda as
 * processor and failed documents backed up to an encrypted bucket. L1: aws-cdk-lib has no OpenSearch destination L2.
 */
export class DeliveryStream extends Construct {
  readonly stream: firehose.CfnDeliveryStream;
  readonly role: iam.Role;
  readonly backupBucket: s3.Bucket;
  readonly transform: BundledFunction;
  readonly errorLogGroup: logs.LogGroup;
  /** Resolves to the delivery stream name. */
  readonly streamName: string;
  readonly streamArn: string;
  readonly domainArn: string;
  /** Domain paths the role may GET (mappings and stats), as listed in the Firehose developer guide. */
  readonly readPaths: string[];

  constructor(scope: Construct, id: string, props: DeliveryStreamProps) {
    super(scope, id);
    const stack = Stack.of(this);

    this.backupBucket = createSecureBucket(this, 'BackupBucket', {
      expirationDays: props.backupExpirationDays,
      removalPolicy: props.removalPolicy,
      serverAccessLogsBucket: props.serverAccessLogsBucket,
      serverAccessLogsPrefix: 'backup-bucket/',
    });

    this.transform = new BundledFunction(this, 'Transform', {
      entry: 'transform/firehose-transform/handler.ts',
      description: 'Albatross: Firehose transform, ALB log line -> OpenSearch document',
      memorySize: props.transformMemorySize,
      timeout: props.transformTimeout,
      logRetention: props.logRetention,
      removalPolicy: props.removalPolicy,
      // A 64 MiB young generation (Node's default is 16): the transform allocates many short-lived
      // strings per record, and `npm run bench transform` measured 13-36 % more records per
      // CPU-second with it (docs/benchmarks.md). Billed per millisecond, so that is cost.
      environment: {
        NODE_OPTIONS: '--max-semi-space-size=64',
        // access, the default, stays unset: the access stream's function is what it was before other types
        ...(props.logType === undefined || props.logType === 'access' ? {} : { ALBATROSS_LOG_TYPE: props.logType }),
        ...(props.logSamples === true ? { ALBATROSS_LOG_SAMPLES: 'true' } : {}),
        ...enrichmentEnvironment(props),
      },
      // the enrichment data (DB-IP Lite city, ip-location-db ASN) in enrich-data/ beside the code
      files: enrichmentDataFiles(props),
    });
    grantEnrichmentDatabases(this, this.transform.role, props);

    this.errorLogGroup = new logs.LogGroup(this, 'ErrorLogs', {
      retention: props.logRetention,
      removalPolicy: props.removalPolicy,
    });
    const destinationLogStream = new logs.LogStream(this, 'DestinationErrors', {
      logGroup: this.errorLogGroup,
      removalPolicy: props.removalPolicy,
    });
    const backupLogStream = new logs.LogStream(this, 'BackupErrors', {
      logGroup: this.errorLogGroup,
      removalPolicy: props.removalPolicy,
    });

    this.role = new iam.Role(this, 'Role', {
      roleName: props.roleName,
      description: 'Albatross: Firehose delivery into OpenSearch, S3 backup, transform invocation',
      // The Firehose developer guide's trust policy: Firehose passes the account id as external id.
      assumedBy: new iam.ServicePrincipal('firehose.amazonaws.com', {
        conditions: { StringEquals: { 'sts:ExternalId': stack.account } },
      }),
    });
    const logStreamArn = (streamName: string): string =>
      stack.formatArn({
        service: 'logs',
        resource: 'log-group',
        resourceName: `${this.errorLogGroup.logGroupName}:log-stream:${streamName}`,
        arnFormat: ArnFormat.COLON_RESOURCE_NAME,
      });
    this.domainArn = props.domainArn;
    const domainPath = (path: string): string => `${props.domainArn}/${path}`;
    this.readPaths = [
      domainPath('_all/_settings'),
      domainPath('_cluster/stats'),
      domainPath(`${props.indexPrefix}*/_mapping`),
      domainPath(`${props.indexPrefix}*/_mapping/*`),
      domainPath('_nodes'),
      domainPath('_nodes/stats'),
      domainPath('_nodes/*/stats'),
      domainPath('_stats'),
      domainPath(`${props.indexPrefix}*/_stats`),
    ];
    // Permissions as listed in the Firehose developer guide for an OpenSearch destination with S3 backup.
    this.role.addToPolicy(
      new iam.PolicyStatement({
        sid: 'BackupBucket',
        actions: [
          's3:AbortMultipartUpload',
          's3:GetBucketLocation',
          's3:GetObject',
          's3:ListBucket',
          's3:ListBucketMultipartUploads',
          's3:PutObject',
        ],
        resources: [this.backupBucket.bucketArn, this.backupBucket.arnForObjects('*')],
      }),
    );
    this.role.addToPolicy(
      new iam.PolicyStatement({
        sid: 'DomainConfig',
        actions: ['es:DescribeDomain', 'es:DescribeDomains', 'es:DescribeDomainConfig'],
        resources: [props.domainArn, domainPath('*')],
      }),
    );
    this.role.addToPolicy(
      new iam.PolicyStatement({
        sid: 'DomainWrite',
        actions: ['es:ESHttpPost', 'es:ESHttpPut'],
        resources: [props.domainArn, domainPath('*')],
      }),
    );
    this.role.addToPolicy(
      new iam.PolicyStatement({
        sid: 'DomainRead',
        actions: ['es:ESHttpGet'],
        resources: this.readPaths,
      }),
    );
    this.role.addToPolicy(
      new iam.PolicyStatement({
        sid: 'Transform',
        actions: ['lambda:InvokeFunction', 'lambda:GetFunctionConfiguration'],
        // Unqualified ARN only: Firehose invokes $LATEST.
        resources: [this.transform.function.functionArn],
      }),
    );
    this.role.addToPolicy(
      new iam.PolicyStatement({
        sid: 'ErrorLogs',
        actions: ['logs:PutLogEvents'],
        resources: [logStreamArn(destinationLogStream.logStreamName), logStreamArn(backupLogStream.logStreamName)],
      }),
    );

    if (props.vpc) {
      this.role.addToPolicy(new iam.PolicyStatement({ sid: 'VpcDelivery', actions: FIREHOSE_VPC_ACTIONS, resources: ['*'] }));
    }
    this.stream = new firehose.CfnDeliveryStream(this, 'Stream', {
      deliveryStreamType: 'DirectPut',
      deliveryStreamEncryptionConfigurationInput: { keyType: 'AWS_OWNED_CMK' },
      amazonopensearchserviceDestinationConfiguration: {
        ...(props.otherAccountDomain
          ? {
              domainArn: Fn.conditionIf(props.otherAccountDomain.inThisAccount.logicalId, props.domainArn, Aws.NO_VALUE).toString(),
              clusterEndpoint: Fn.conditionIf(props.otherAccountDomain.inThisAccount.logicalId, Aws.NO_VALUE, props.otherAccountDomain.endpoint).toString(),
            }
          : { domainArn: props.domainArn }),
        roleArn: this.role.roleArn,
        ...(props.vpc ? { vpcConfiguration: { subnetIds: props.vpc.subnetIds, securityGroupIds: props.vpc.securityGroupIds, roleArn: this.role.roleArn } } : {}),
        indexName: props.indexPrefix,
        // `<prefix>-YYYY-MM-DD` by Firehose arrival time (UTC).
        indexRotationPeriod: 'OneDay',
        bufferingHints: {
          intervalInSeconds: props.bufferInterval.toSeconds(),
          sizeInMBs: props.bufferSizeMB,
        },
        retryOptions: { durationInSeconds: props.retryDuration.toSeconds() },
        // Firehose-generated IDs are stable across Firehose's own retries, so those don't duplicate documents.
        documentIdOptions: { defaultDocumentIdFormat: 'FIREHOSE_DEFAULT' },
        s3BackupMode: 'FailedDocumentsOnly',
        s3Configuration: {
          bucketArn: this.backupBucket.bucketArn,
          roleArn: this.role.roleArn,
          prefix: BACKUP_PREFIX,
          errorOutputPrefix: ERROR_OUTPUT_PREFIX,
          compressionFormat: 'GZIP',
          cloudWatchLoggingOptions: {
            enabled: true,
            logGroupName: this.errorLogGroup.logGroupName,
            logStreamName: backupLogStream.logStreamName,
          },
        },
        processingConfiguration: {
          enabled: true,
          processors: [
            {
              type: 'Lambda',
              parameters: [
                { parameterName: 'LambdaArn', parameterValue: this.transform.function.functionArn },
                // Measured by the transform: keeps the base64 response under Lambda's 6 MB payload limit.
                { parameterName: 'BufferSizeInMBs', parameterValue: String(PROCESSOR_BUFFER_SIZE_MB) },
                { parameterName: 'BufferIntervalInSeconds', parameterValue: String(props.bufferInterval.toSeconds()) },
                { parameterName: 'NumberOfRetries', parameterValue: '3' },
              ],
            },
          ],
        },
        cloudWatchLoggingOptions: {
          enabled: true,
          logGroupName: this.errorLogGroup.logGroupName,
          logStreamName: destinationLogStream.logStreamName,
        },
      },
    });
    // The role's policy must exist before Firehose validates the destination.
    this.stream.node.addDependency(this.role);
    this.streamName = this.stream.ref;
    this.streamArn = this.stream.attrArn;
  }
}
