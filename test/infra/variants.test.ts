// Deployments into existing infrastructure and a larger domain. Bundling is skipped here (stack.test.ts
// covers it); cdk-nag still runs on every synthesis.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findResource, logicalIds, synthesize, type Synthesized } from './synth.ts';
import { scanTemplate } from './policy-scan.ts';

const ENDPOINT = 'search-weblogs-abc123xyz.eu-west-1.es.amazonaws.com';
const DOMAIN_ARN = 'arn:aws:es:eu-west-1:111122223333:domain/weblogs';

let existing: Synthesized;
let large: Synthesized;

beforeAll(() => {
  existing = synthesize(
    {
      stackName: 'WebLogs',
      logBucketName: 'my-alb-logs',
      logPrefix: 'prod-alb/',
      domainEndpoint: `https://${ENDPOINT}`,
      domainArn: DOMAIN_ARN,
      indexPrefix: 'weblogs',
      retentionDays: '14',
      loaderTimeoutSeconds: '120',
      loaderMaxConcurrency: '20',
      bufferIntervalSeconds: '120',
      bufferSizeMB: '10',
      retryDurationSeconds: '600',
      logTypes: 'access',
    },
    { bundle: false },
  );
  large = synthesize(
    { dataNodes: '2', instanceType: 'r7g.large.search', volumeSizeGiB: '100', masterNodes: '3', removalPolicy: 'destroy', dashboardsAdmin: 'true', logTypes: 'access' },
    { bundle: false },
  );
}, 120_000);
afterAll(() => {
  existing?.cleanup();
  large?.cleanup();
});

function nagClean(synth: Synthesized): void {
  const [report, ...others] = synth.validationReport.pluginReports;
  expect(others).toEqual([]);
  expect(report!.pluginName).toBe('AwsSolutions');
  expect(report!.violations ?? []).toEqual([]);
}

describe('existing log bucket and existing domain', () => {
  it('passes cdk-nag and the policy scan', () => {
    nagClean(existing);
    expect(scanTemplate(existing.json).violations).toEqual([]);
  });

  it('creates no log bucket, domain or Cognito pools', () => {
    expect(logicalIds(existing.json, 'AWS::S3::Bucket')).toHaveLength(2); // backup + server access logs
    for (const type of ['AWS::OpenSearchService::Domain', 'AWS::Cognito::UserPool', 'AWS::Cognito::IdentityPool', 'Custom::OpenSearchAccessPolicy']) {
      expect(logicalIds(existing.json, type), type).toEqual([]);
    }
  });

  it("adds the notification to the user's bucket (merged with its existing configuration) under <prefix>/AWSLogs/", () => {
    const notifications = findResource(existing.json, 'Custom::S3BucketNotifications').resource.Properties;
    expect(notifications.BucketName).toBe('my-alb-logs');
    // Managed false: the custom resource keeps notifications configured outside this stack.
    expect(notifications.Managed).toBe(false);
    const rules = notifications.NotificationConfiguration.QueueConfigurations[0].Filter.Key.FilterRules;
    expect(rules).toContainEqual({ Name: 'prefix', Value: 'prod-alb/AWSLogs/' });
    expect(rules).toContainEqual({ Name: 'suffix', Value: '.log.gz' });
  });

  it('the loader may read only the ALB prefix of that bucket', () => {
    const policies = Object.values(existing.json.Resources).filter((r) => r.Type === 'AWS::IAM::Policy');
    const read = policies.flatMap((p) => p.Properties.PolicyDocument.Statement).find((s: any) => s.Sid === 'ReadAlbLogs');
    expect(JSON.stringify(read.Resource)).toContain(':s3:::my-alb-logs/prod-alb/AWSLogs/*');
  });

  it('delivers to the given domain with the given buffering, retries and index prefix', () => {
    const destination = findResource(existing.json, 'AWS::KinesisFirehose::DeliveryStream').resource.Properties
      .AmazonopensearchserviceDestinationConfiguration;
    expect(destination).toMatchObject({
      DomainARN: DOMAIN_ARN,
      IndexName: 'weblogs',
      IndexRotationPeriod: 'OneDay',
      BufferingHints: { IntervalInSeconds: 120, SizeInMBs: 10 },
      RetryOptions: { DurationInSeconds: 600 },
    });
  });

  it('names the Firehose and installer roles so the domain owner can allow and map them before deploying', () => {
    const names = Object.values(existing.json.Resources).filter((r) => r.Type === 'AWS::IAM::Role').map((r) => r.Properties.RoleName).filter(Boolean).sort();
    expect(names).toEqual(['WebLogs-firehose', 'WebLogs-templates']);
  });

  it('installs templates on the given endpoint with the installer default replicas and no Dashboards role', () => {
    const templates = findResource(existing.json, 'Custom::AlbatrossTemplates').resource.Properties;
    expect(templates).toMatchObject({ Endpoint: ENDPOINT, IndexPrefix: 'weblogs', RetentionDays: '14', Replicas: '', DashboardsRoleArn: '', DashboardsAdmin: 'false' });
  });

  it('sizes the queue from the loader timeout and bounds loader concurrency', () => {
    const queue = findResource(existing.json, 'AWS::SQS::Queue', (p) => p.RedrivePolicy !== undefined).resource.Properties;
    expect(queue.VisibilityTimeout).toBe(720);
    existing.template.hasResourceProperties('AWS::Lambda::EventSourceMapping', { ScalingConfig: { MaximumConcurrency: 20 } });
  });

  it('alarms on cluster health of the given domain, with the default free-storage threshold', () => {
    const alarms = Object.values(existing.json.Resources).filter((r) => r.Type === 'AWS::CloudWatch::Alarm').map((r) => r.Properties);
    const red = alarms.find((a) => a.MetricName === 'ClusterStatus.red');
    expect(red.Dimensions).toContainEqual({ Name: 'DomainName', Value: 'weblogs' });
    expect(alarms.find((a) => a.MetricName === 'FreeStorageSpace').Threshold).toBe(1024);
  });
});

describe('larger domain from context', () => {
  it('spreads two data nodes over two AZs with three dedicated masters, and passes cdk-nag without OS4/OS7 acknowledgements', () => {
    nagClean(large);
    const suppressed = (large.validationReport.pluginReports[0]!.suppressedViolations ?? []).map((v) => v.ruleName);
    expect(suppressed).not.toContain('AwsSolutions-OS4');
    expect(suppressed).not.toContain('AwsSolutions-OS7');
    large.template.hasResourceProperties('AWS::OpenSearchService::Domain', {
      ClusterConfig: {
        InstanceCount: 2,
        InstanceType: 'r7g.large.search',
        ZoneAwarenessEnabled: true,
        ZoneAwarenessConfig: { AvailabilityZoneCount: 2 },
        DedicatedMasterEnabled: true,
        DedicatedMasterCount: 3,
      },
      EBSOptions: { VolumeSize: 100 },
    });
    expect(findResource(large.json, 'Custom::AlbatrossTemplates').resource.Properties.Replicas).toBe('1');
  });

  it('dashboardsAdmin=true asks the custom resource to map Dashboards users to all_access and says so in the output', () => {
    expect(findResource(large.json, 'Custom::AlbatrossTemplates').resource.Properties).toMatchObject({ DashboardsAdmin: 'true', DashboardsRoleArn: expect.anything() });
    expect(large.json.Outputs!.DashboardsUrl.Description).toMatch(/all_access/);
  });

  it('removalPolicy=destroy applies to the domain and buckets; free storage alarm at 25 % of the volume', () => {
    const domain = findResource(large.json, 'AWS::OpenSearchService::Domain').resource as any;
    expect(domain.DeletionPolicy).toBe('Delete');
    const alarms = Object.values(large.json.Resources).filter((r) => r.Type === 'AWS::CloudWatch::Alarm').map((r) => r.Properties);
    expect(alarms.find((a) => a.MetricName === 'FreeStorageSpace').Threshold).toBe(25_600);
  });
});
