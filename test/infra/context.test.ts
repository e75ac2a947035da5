import { describe, expect, it } from 'vitest';
import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import { RetentionDays } from 'aws-cdk-lib/aws-logs';
import { CONTEXT_KEYS, settingsFromContext } from '../../infra/context.ts';
import { DEFAULT_DOMAIN_SIZING, resolveSettings } from '../../infra/albatross-stack.ts';

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
      alarmEmail: 'a@example.com', adminEmail: 'b@example.com', dashboardsAdmin: 'true', loaderMemorySize: '2048', loaderTimeoutSeconds: '600', loaderBatchSize: '2',
      loaderMaxConcurrency: '50', loaderSendConcurrency: '8', maxReceiveCount: '6', transformMemorySize: '1024', transformTimeoutSeconds: '120',
      bufferIntervalSeconds: '30', bufferSizeMB: '8', retryDurationSeconds: '900', logRetentionDays: '14', removalPolicy: 'retain',
      freeStorageThresholdMiB: '4096',
    };
    expect(Object.keys(values).sort()).toEqual(Object.keys(CONTEXT_KEYS).sort());
    const { stackName, region, props } = settingsFromContext(reader(values), {});
    expect({ stackName, region }).toEqual({ stackName: 'S', region: 'us-east-1' });
    expect(props).toMatchObject({
      delivery: 'direct', existingLogBucketName: 'b', logPrefix: 'p', logExpirationDays: 7, existingDomainEndpoint: 'search-x-y.us-east-1.es.amazonaws.com',
      existingDomainArn: 'arn:aws:es:us-east-1:1:domain/x', signInDomainPrefix: 'logs', indexPrefix: 'web', retentionDays: 7,
      backupExpirationDays: 9, alarmEmail: 'a@example.com', adminEmail: 'b@example.com', dashboardsAdmin: true, loaderMemorySize: 2048, loaderBatchSize: 2,
      loaderMaxConcurrency: 50, loaderSendConcurrency: 8, maxReceiveCount: 6, transformMemorySize: 1024, bufferSizeMB: 8,
      logRetention: RetentionDays.TWO_WEEKS, removalPolicy: RemovalPolicy.RETAIN, freeStorageThresholdMiB: 4096,
      domainSizing: { instanceType: 'm7g.large.search', dataNodes: 4, volumeSizeGiB: 50, masterNodes: 3, masterInstanceType: 'm7g.large.search' },
    });
    expect([props.loaderTimeout, props.transformTimeout, props.bufferInterval, props.retryDuration].map((d) => d?.toSeconds())).toEqual([600, 120, 30, 900]);
  });

  it('rejects malformed values naming the key', () => {
    expect(() => settingsFromContext(reader({ delivery: 'kinesis' }), {})).toThrow(/context delivery must be "firehose" or "direct"/);
    expect(() => settingsFromContext(reader({ retentionDays: 'thirty' }), {})).toThrow(/context retentionDays must be a non-negative integer/);
    expect(() => settingsFromContext(reader({ removalPolicy: 'snapshot' }), {})).toThrow(/removalPolicy must be "retain" or "destroy"/);
    expect(() => settingsFromContext(reader({ logRetentionDays: '31' }), {})).toThrow(/logRetentionDays must be a CloudWatch Logs retention/);
    expect(() => settingsFromContext(reader({ alarmEmail: ['a'] }), {})).toThrow(/context alarmEmail must be a string/);
    expect(() => settingsFromContext(reader({ dashboardsAdmin: 'yes' }), {})).toThrow(/context dashboardsAdmin must be true or false/);
  });

  it('reads dashboardsAdmin from the command line (string) and cdk.json (boolean); absent = undefined (off)', () => {
    expect(settingsFromContext(reader({ dashboardsAdmin: 'false' }), {}).props.dashboardsAdmin).toBe(false);
    expect(settingsFromContext(reader({ dashboardsAdmin: true }), {}).props.dashboardsAdmin).toBe(true);
    expect(settingsFromContext(reader({}), {}).props.dashboardsAdmin).toBeUndefined();
  });
});

describe('resolveSettings', () => {
  it('has secure, small defaults', () => {
    const s = resolveSettings({});
    expect(s).toMatchObject({
      logPrefix: '', indexPrefix: 'alb-logs', retentionDays: 30, backupExpirationDays: 30, loaderBatchSize: 1, loaderMaxConcurrency: 5,
      maxReceiveCount: 5, bufferSizeMB: 5, removalPolicy: RemovalPolicy.RETAIN, logRetention: RetentionDays.ONE_MONTH,
      domainSizing: DEFAULT_DOMAIN_SIZING,
    });
    expect(s.loaderTimeout.toSeconds()).toBe(300);
    expect(s.transformTimeout.toSeconds()).toBe(60);
    expect(s.retryDuration.toSeconds()).toBe(300);
  });

  it('strips slashes from the log prefix', () => {
    expect(resolveSettings({ logPrefix: '/prod/alb/' }).logPrefix).toBe('prod/alb');
  });

  it.each([
    [{ transformTimeout: Duration.minutes(6) }, /transformTimeout \(seconds\) must be between 1 and 300/],
    [{ loaderTimeout: Duration.minutes(16) }, /loaderTimeout \(seconds\) must be between 1 and 900/],
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
    [{ dashboardsAdmin: true, existingDomainEndpoint: 'search-x.eu-west-1.es.amazonaws.com' }, /dashboardsAdmin applies to .* a domain the stack creates/],
  ])('rejects %o', (props, message) => {
    expect(() => resolveSettings(props)).toThrow(message);
  });
});
