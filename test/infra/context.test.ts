import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import { RetentionDays } from 'aws-cdk-lib/aws-logs';
import { CONTEXT_KEYS, settingsFromContext } from '../../infra/context.ts';
import { DEFAULT_DOMAIN_SIZING, LINES_PER_SECOND_PER_LOADER, loaderConcurrencyFor, resolveSettings } from '../../infra/albatross-stack.ts';

const reader = (values: Record<string, unknown>) => (key: string) => values[key];

describe('settingsFromContext', () => {
  it('without context: stack Albatross, region from CDK_DEFAULT_REGION, every prop left to the stack defaults', () => {
    const settings = settingsFromContext(reader({}), { CDK_DEFAULT_REGION: 'eu-central-1' });
    expect(settings.stackName).toBe('Albatross');
    expect(settings.region).toBe('eu-central-1');
    expect(Object.entries(settings.props).filter(([, v]) => v !== undefined && !(typeof v === 'object' && Object.keys(v).length === 0))).toEqual([]);
    expect(settingsFromContext(reader({}), {}).region).toBeUndefined();
  });

  it('reads strings from -c and typed values from cdk.json alike', () => {
    const fromCli = settingsFromContext(reader({ retentionDays: '14', bufferIntervalSeconds: '120', dataNodes: '2', logRetentionDays: '90', removalPolicy: 'destroy' }), {});
    const fromJson = settingsFromContext(reader({ retentionDays: 14, bufferIntervalSeconds: 120, dataNodes: 2, logRetentionDays: 90, removalPolicy: 'destroy' }), {});
    for (const { props } of [fromCli, fromJson]) {
      expect(props.retentionDays).toBe(14);
      expect(props.bufferInterval?.toSeconds()).toBe(120);
      expect(props.domainSizing).toEqual({ dataNodes: 2 });
      expect(props.logRetention).toBe(RetentionDays.THREE_MONTHS);
      expect(props.removalPolicy).toBe(RemovalPolicy.DESTROY);
    }
  });

  it('maps every documented key to a prop', () => {
    const values: Record<string, string> = {
      stackName: 'S', region: 'us-east-1', delivery: 'direct', logBucketName: 'b', logPrefix: 'p', logExpirationDays: '7', domainEndpoint: 'search-x-y.us-east-1.es.amazonaws.com',
      domainArn: 'arn:aws:es:us-east-1:1:domain/x', instanceType: 'm7g.large.search', dataNodes: '4', volumeSizeGiB: '50', masterNodes: '3',
      masterInstanceType: 'm7g.large.search', signInDomainPrefix: 'logs', indexPrefix: 'web', retentionDays: '7', backupExpirationDays: '9',
      alarmEmail: 'a@example.com', adminEmail: 'b@example.com', breakGlassPrincipals: 'arn:aws:iam::111122223333:role/ops, arn:aws:iam::111122223333:user/alice', fgacMaster: 'installer', loaderMemorySize: '2048', loaderTimeoutSeconds: '600', loaderBatchSize: '2',
      loaderMaxConcurrency: '50', loaderSendConcurrency: '8', maxReceiveCount: '6', transformMemorySize: '1024', transformTimeoutSeconds: '120',
      bufferIntervalSeconds: '30', bufferSizeMB: '8', retryDurationSeconds: '900', logRetentionDays: '14', removalPolicy: 'retain',
      freeStorageThresholdMiB: '4096', availabilityZones: 'us-east-1a,us-east-1b', multiAzWithStandby: 'false', auditLogs: 'false',
      logSamples: 'true', kmsKeyArn: 'arn:aws:kms:us-east-1:111122223333:key/0f1e2d3c-4b5a-6978-8899-aabbccddeeff',
      vpcId: 'vpc-1', privateSubnetIds: 'subnet-a, subnet-b', replayIntervalMinutes: '30',
      shards: '3', peakLinesPerSecond: '5000', heartbeatHours: '12', heartbeatLogTypes: 'access, health', backfillConcurrency: '8', backfillBuckets: 'old-alb-logs, older-alb-logs',
      enrichment: 'geo,ua', geoipCityDb: 's3://geo/City.mmdb', geoipAsnDb: 's3://geo/ASN.mmdb',
      logTypes: 'access, health', connectionIndexPrefix: 'conn', healthIndexPrefix: 'hc',
      logBucketAccount: '444455556666', logBucketKmsKeyArn: 'arn:aws:kms:us-east-1:444455556666:key/0f1e2d3c-4b5a-6978-8899-aabbccddeeff',
    };
    // kms=create and kmsKeyArn, vpc=create and vpcId, logBucketName and logBucketArn are alternatives: kms, vpc and
    // logBucketArn are read on their own below.
    expect([...Object.keys(values), 'kms', 'vpc', 'logBucketArn'].sort()).toEqual(Object.keys(CONTEXT_KEYS).sort());
    expect(settingsFromContext(reader({ logBucketArn: 'arn:aws:s3:::central-alb-logs' }), {}).props.existingLogBucketName).toBe('central-alb-logs');
    expect(settingsFromContext(reader({ kms: 'create' }), {}).props.customerManagedKey).toBe('create');
    expect(settingsFromContext(reader({ vpc: 'create' }), {}).props.vpc).toBe('create');
    const { stackName, region, props } = settingsFromContext(reader(values), {});
    expect({ stackName, region }).toEqual({ stackName: 'S', region: 'us-east-1' });
    expect(props).toMatchObject({
      delivery: 'direct', existingLogBucketName: 'b', logPrefix: 'p', logExpirationDays: 7, existingDomainEndpoint: 'search-x-y.us-east-1.es.amazonaws.com',
      existingDomainArn: 'arn:aws:es:us-east-1:1:domain/x', signInDomainPrefix: 'logs', indexPrefix: 'web', retentionDays: 7,
      backupExpirationDays: 9, alarmEmail: 'a@example.com', adminEmail: 'b@example.com', breakGlassPrincipals: ['arn:aws:iam::111122223333:role/ops', 'arn:aws:iam::111122223333:user/alice'], fgacMaster: 'installer', loaderMemorySize: 2048, loaderBatchSize: 2,
      loaderMaxConcurrency: 50, loaderSendConcurrency: 8, maxReceiveCount: 6, transformMemorySize: 1024, bufferSizeMB: 8,
      logRetention: RetentionDays.TWO_WEEKS, removalPolicy: RemovalPolicy.RETAIN, freeStorageThresholdMiB: 4096, auditLogs: false, logSamples: true,
      enrichment: 'geo,ua', geoipCityDb: 's3://geo/City.mmdb', geoipAsnDb: 's3://geo/ASN.mmdb',
      logTypes: ['access', 'health'], connectionIndexPrefix: 'conn', healthIndexPrefix: 'hc',
      logBucketAccount: '444455556666', logBucketKmsKeyArn: 'arn:aws:kms:us-east-1:444455556666:key/0f1e2d3c-4b5a-6978-8899-aabbccddeeff',
      shards: 3, peakLinesPerSecond: 5000, heartbeatHours: 12, heartbeatLogTypes: ['access', 'health'], backfillConcurrency: 8, backfillBuckets: ['old-alb-logs', 'older-alb-logs'],
      customerManagedKey: 'arn:aws:kms:us-east-1:111122223333:key/0f1e2d3c-4b5a-6978-8899-aabbccddeeff',
      vpc: { vpcId: 'vpc-1', privateSubnetIds: ['subnet-a', 'subnet-b'], availabilityZones: ['us-east-1a', 'us-east-1b'] },
      domainSizing: {
        instanceType: 'm7g.large.search', dataNodes: 4, volumeSizeGiB: 50, masterNodes: 3, masterInstanceType: 'm7g.large.search',
        availabilityZones: 2, multiAzWithStandby: false,
      },
    });
    expect([props.loaderTimeout, props.transformTimeout, props.bufferInterval, props.retryDuration, props.replayInterval].map((d) => d?.toSeconds())).toEqual([600, 120, 30, 900, 1800]);
  });

  it('docs/deploy.md lists every context key in its table', () => {
    const rows = readFileSync(path.resolve(import.meta.dirname, '../../docs/deploy.md'), 'utf8').split('\n').filter((line) => line.startsWith('| `'));
    for (const key of Object.keys(CONTEXT_KEYS)) {
      expect(rows.some((row) => row.split('|')[1]!.includes(`\`${key}\``)), key).toBe(true);
    }
  });

  it('rejects malformed values naming the key', () => {
    expect(() => settingsFromContext(reader({ logBucketArn: 'central-alb-logs' }), {})).toThrow(/context logBucketArn must be a bucket ARN/);
    expect(() => settingsFromContext(reader({ logBucketArn: 'arn:aws:s3:::central-alb-logs/AWSLogs' }), {})).toThrow(/context logBucketArn must be a bucket ARN/);
    expect(() => settingsFromContext(reader({ logBucketArn: 'arn:aws:s3:::a-bucket', logBucketName: 'a-bucket' }), {})).toThrow(/logBucketName and logBucketArn are alternatives/);
    expect(() => settingsFromContext(reader({ delivery: 'kinesis' }), {})).toThrow(/context delivery must be "firehose" or "direct"/);
    expect(() => settingsFromContext(reader({ retentionDays: 'thirty' }), {})).toThrow(/context retentionDays must be a non-negative integer/);
    expect(() => settingsFromContext(reader({ removalPolicy: 'snapshot' }), {})).toThrow(/removalPolicy must be "retain-except-on-create", "retain" or "destroy"/);
    expect(() => settingsFromContext(reader({ heartbeatHours: 'never' }), {})).toThrow(/context heartbeatHours must be a non-negative integer/);
    expect(() => settingsFromContext(reader({ logTypes: 'access,nlb' }), {})).toThrow(/context logTypes must be a comma-separated list of access, connection, health, got "access,nlb"/);
    expect(() => settingsFromContext(reader({ logRetentionDays: '31' }), {})).toThrow(/logRetentionDays must be a CloudWatch Logs retention/);
    expect(() => settingsFromContext(reader({ alarmEmail: ['a'] }), {})).toThrow(/context alarmEmail must be a string/);
    expect(() => settingsFromContext(reader({ dashboardsAdmin: 'true' }), {})).toThrow(/dashboardsAdmin is gone.*Cognito group "admins"/);
    expect(() => settingsFromContext(reader({ breakGlassPrincipals: 'alice' }), {})).toThrow(/breakGlassPrincipals must be IAM role or user ARNs, got "alice"/);
    expect(() => settingsFromContext(reader({ fgacMaster: 'lambda' }), {})).toThrow(/fgacMaster must be breakGlass or installer, got "lambda"/);
  });

  it('removalPolicy: retain-except-on-create (the default when absent), retain and destroy', () => {
    expect(settingsFromContext(reader({ removalPolicy: 'retain-except-on-create' }), {}).props.removalPolicy).toBe(RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE);
    expect(settingsFromContext(reader({ removalPolicy: 'retain' }), {}).props.removalPolicy).toBe(RemovalPolicy.RETAIN);
    expect(settingsFromContext(reader({ removalPolicy: 'destroy' }), {}).props.removalPolicy).toBe(RemovalPolicy.DESTROY);
  });

  it('heartbeatHours: off and 0 both disable the heartbeat alarm', () => {
    expect(settingsFromContext(reader({ heartbeatHours: 'off' }), {}).props.heartbeatHours).toBe(0);
    expect(settingsFromContext(reader({ heartbeatHours: 0 }), {}).props.heartbeatHours).toBe(0);
    expect(settingsFromContext(reader({ heartbeatHours: '3' }), {}).props.heartbeatHours).toBe(3);
  });

});

describe('resolveSettings', () => {
  it('has secure, small defaults', () => {
    const s = resolveSettings({});
    expect(s).toMatchObject({
      logPrefix: '', indexPrefix: 'alb-logs', retentionDays: 30, backupExpirationDays: 90, loaderBatchSize: 1,
      peakLinesPerSecond: 1250, loaderMaxConcurrency: 5, maxReceiveCount: 15, bufferSizeMB: 5,
      removalPolicy: RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE, logRetention: RetentionDays.ONE_MONTH,
      domainSizing: DEFAULT_DOMAIN_SIZING, heartbeatHours: 6,
    });
    expect(s.shards).toBeUndefined();
    expect(s.loaderTimeout.toSeconds()).toBe(300);
    expect(s.transformTimeout.toSeconds()).toBe(60);
    // Firehose's maximum: a domain outage of up to two hours costs no backup round trip.
    expect(s.retryDuration.toSeconds()).toBe(7200);
  });

  it('derives the loader concurrency from the expected peak volume; an explicit loaderMaxConcurrency wins', () => {
    expect(loaderConcurrencyFor(1)).toBe(2);
    expect(loaderConcurrencyFor(LINES_PER_SECOND_PER_LOADER * 8)).toBe(8);
    expect(loaderConcurrencyFor(LINES_PER_SECOND_PER_LOADER * 8 + 1)).toBe(9);
    expect(loaderConcurrencyFor(10_000_000)).toBe(1000);
    expect(resolveSettings({ peakLinesPerSecond: 5000 }).loaderMaxConcurrency).toBe(20);
    expect(resolveSettings({ peakLinesPerSecond: 5000, loaderMaxConcurrency: 7 }).loaderMaxConcurrency).toBe(7);
  });

  it('accepts bufferSizeMB up to 9 on t3 and up to 100 on larger instance types or an existing domain', () => {
    expect(resolveSettings({ bufferSizeMB: 9 }).bufferSizeMB).toBe(9);
    expect(resolveSettings({ bufferSizeMB: 100, domainSizing: { instanceType: 'r7g.large.search' } }).bufferSizeMB).toBe(100);
    expect(resolveSettings({ bufferSizeMB: 50, existingDomainEndpoint: 'search-x.eu-west-1.es.amazonaws.com' }).bufferSizeMB).toBe(50);
  });

  it('strips slashes from the log prefix', () => {
    expect(resolveSettings({ logPrefix: '/prod/alb/' }).logPrefix).toBe('prod/alb');
  });

  it.each([
    [{ transformTimeout: Duration.minutes(6) }, /transformTimeout \(seconds\) must be between 1 and 300/],
    [{ loaderTimeout: Duration.minutes(16) }, /loaderTimeout \(seconds\) must be between 60 and 900/],
    [{ loaderTimeout: Duration.seconds(20) }, /loaderTimeout \(seconds\) must be between 60 and 900/],
    [{ bufferSizeMB: 10 }, /bufferSizeMB must be at most 9 with instanceType t3.small.search: t2\/t3 nodes accept HTTP requests of at most 10 MiB/],
    [{ bufferSizeMB: 20, domainSizing: { instanceType: 't2.medium.search' } }, /bufferSizeMB must be at most 9 with instanceType t2.medium.search/],
    [{ shards: 0 }, /shards must be between 1 and 1024/],
    [{ peakLinesPerSecond: 0 }, /peakLinesPerSecond must be between 1/],
    [{ heartbeatHours: 25 }, /heartbeatHours must be between 0 and 24/],
    [{ maxReceiveCount: 3 }, /maxReceiveCount must be between 5/],
    [{ loaderMaxConcurrency: 1 }, /loaderMaxConcurrency must be between 2 and 1000/],
    [{ bufferSizeMB: 101 }, /bufferSizeMB must be between 1 and 100/],
    [{ bufferInterval: Duration.seconds(901) }, /bufferInterval \(seconds\) must be between 0 and 900/],
    [{ retryDuration: Duration.hours(3) }, /retryDuration \(seconds\) must be between 0 and 7200/],
    [{ indexPrefix: 'ALB' }, /indexPrefix must be/],
    [{ indexPrefix: 'alb*' }, /indexPrefix must be/],
    [{ logPrefix: 'x/AWSLogs' }, /without "AWSLogs"/],
    [{ domainSizing: { masterNodes: 2 } }, /masterNodes must be 0, 3 or 5/],
    [{ domainSizing: { volumeSizeGiB: 5 } }, /volumeSizeGiB must be between 10/],
    [{ retentionDays: 1.5 }, /retentionDays must be an integer/],
    [{ breakGlassPrincipals: ['arn:aws:iam::111122223333:role/ops'], existingDomainEndpoint: 'search-x.eu-west-1.es.amazonaws.com' }, /breakGlassPrincipals apply to a domain the stack creates/],
    [{ fgacMaster: 'installer' as const, existingDomainEndpoint: 'search-x.eu-west-1.es.amazonaws.com' }, /fgacMaster applies to a domain the stack creates/],
  ])('rejects %o', (props, message) => {
    expect(() => resolveSettings(props)).toThrow(message);
  });
});
