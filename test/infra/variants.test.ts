// Deployments into existing infrastructure and a larger domain. Bundling is skipped here (stack.test.ts
// covers it); cdk-nag still runs on every synthesis.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Annotations, Match } from 'aws-cdk-lib/assertions';
import { findResource, logicalIds, synthesize, type Synthesized } from './synth.ts';
import { scanTemplate } from './policy-scan.ts';

const ENDPOINT = 'search-weblogs-abc123xyz.eu-west-1.es.amazonaws.com';
const DOMAIN_ARN = 'arn:aws:es:eu-west-1:111122223333:domain/weblogs';

let existing: Synthesized;
let large: Synthesized;
let highlyAvailable: Synthesized;

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
      shards: '4',
      heartbeatHours: 'off',
      logTypes: 'access',
    },
    { bundle: false },
  );
  large = synthesize(
    { dataNodes: '2', instanceType: 'r7g.large.search', volumeSizeGiB: '100', masterNodes: '3', removalPolicy: 'destroy', breakGlassPrincipals: 'arn:aws:iam::111122223333:role/ops', peakLinesPerSecond: '5000', bufferSizeMB: '20', logTypes: 'access', fgacMaster: 'installer' },
    { bundle: false },
  );
  highlyAvailable = synthesize(
    { dataNodes: '3', instanceType: 'r7g.large.search', masterNodes: '3', availabilityZones: '3', multiAzWithStandby: 'true', auditLogs: 'false', logSamples: 'true', logTypes: 'access' },
    { bundle: false },
  );
}, 120_000);
afterAll(() => {
  existing?.cleanup();
  large?.cleanup();
  highlyAvailable?.cleanup();
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
      // An environment-agnostic stack cannot know its account: CloudFormation picks the ARN in the domain's account,
      // the endpoint elsewhere (cross-account.test.ts).
      DomainARN: { 'Fn::If': ['DomainInThisAccount', DOMAIN_ARN, { Ref: 'AWS::NoValue' }] },
      ClusterEndpoint: { 'Fn::If': ['DomainInThisAccount', { Ref: 'AWS::NoValue' }, `https://${ENDPOINT}`] },
      IndexName: 'weblogs',
      IndexRotationPeriod: 'OneDay',
      BufferingHints: { IntervalInSeconds: 120, SizeInMBs: 10 },
      RetryOptions: { DurationInSeconds: 600 },
    });
  });

  it('names the Firehose, installer, replayer and backfill worker roles so the domain owner can allow and map them before deploying', () => {
    const names = Object.values(existing.json.Resources).filter((r) => r.Type === 'AWS::IAM::Role').map((r) => r.Properties.RoleName).filter(Boolean).sort();
    expect(names).toEqual(['WebLogs-backfill', 'WebLogs-firehose', 'WebLogs-replayer', 'WebLogs-templates']);
  });

  it('installs templates on the given endpoint with the installer default replicas and no Dashboards role', () => {
    const templates = findResource(existing.json, 'Custom::AlbatrossTemplates').resource.Properties;
    // The domain's administrator maps the roles (the security setup); the installer never needs all_access.
    expect(templates).toMatchObject({ Endpoint: ENDPOINT, IndexPrefix: 'weblogs', RetentionDays: '14', Replicas: '', Shards: '4', DashboardsRoleArn: '', DashboardsAdmin: 'false', ManageSecurity: 'false' });
  });

  it('sizes the queue from the loader timeout and bounds loader concurrency', () => {
    const queue = findResource(existing.json, 'AWS::SQS::Queue', (p, id) => p.RedrivePolicy !== undefined && !id.startsWith('Backfill')).resource.Properties;
    expect(queue.VisibilityTimeout).toBe(720);
    existing.template.hasResourceProperties('AWS::Lambda::EventSourceMapping', { ScalingConfig: { MaximumConcurrency: 20 } });
  });

  it('alarms on cluster health of the given domain, with the default free-storage threshold', () => {
    const alarms = Object.values(existing.json.Resources).filter((r) => r.Type === 'AWS::CloudWatch::Alarm').map((r) => r.Properties);
    const red = alarms.find((a) => a.MetricName === 'ClusterStatus.red');
    expect(red.Dimensions).toContainEqual({ Name: 'DomainName', Value: 'weblogs' });
    expect(alarms.find((a) => a.MetricName === 'FreeStorageSpace').Threshold).toBe(1024);
    // The default threshold cannot know the existing domain's volume: synthesis says so.
    Annotations.fromStack(existing.stack).hasWarning('/Albatross', Match.stringLikeRegexp('set -c freeStorageThresholdMiB'));
    // heartbeatHours=off: no heartbeat; no master alarms for a domain the stack did not size.
    expect(alarms.filter((a) => a.MetricName === 'IncomingRecords' || String(a.MetricName).startsWith('Master'))).toEqual([]);
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

  it('fgacMaster=installer: the installer Lambda\'s role is the FGAC master and maps every role on each deployment', () => {
    const installer = findResource(large.json, 'AWS::IAM::Role', (p) => p.Description?.startsWith('Albatross: installs index templates'));
    expect(installer.resource.Properties.Description).toMatch(/FGAC master user/);
    large.template.hasResourceProperties('AWS::OpenSearchService::Domain', {
      AdvancedSecurityOptions: { MasterUserOptions: { MasterUserARN: { 'Fn::GetAtt': [installer.id, 'Arn'] } } },
    });
    expect(findResource(large.json, 'Custom::AlbatrossTemplates').resource.Properties.ManageSecurity).toBe('true');
  });

  it('dedicated masters get the master CPU and JVM alarms; peakLinesPerSecond=5000 gives 20 loaders; bufferSizeMB 20 is fine off t3', () => {
    const alarms = Object.values(large.json.Resources).filter((r) => r.Type === 'AWS::CloudWatch::Alarm').map((r) => r.Properties);
    expect(alarms.find((a) => a.MetricName === 'MasterCPUUtilization')).toMatchObject({ Namespace: 'AWS/ES', Threshold: 50, Period: 900, EvaluationPeriods: 3 });
    expect(alarms.find((a) => a.MetricName === 'MasterJVMMemoryPressure')).toMatchObject({ Namespace: 'AWS/ES', Threshold: 95, Period: 900 });
    large.template.hasResourceProperties('AWS::Lambda::EventSourceMapping', { ScalingConfig: { MaximumConcurrency: 20 } });
    large.template.hasResourceProperties('AWS::KinesisFirehose::DeliveryStream', { AmazonopensearchserviceDestinationConfiguration: { BufferingHints: { SizeInMBs: 20 } } });
  });

  it('breakGlassPrincipals are the only principals the break-glass role trusts, with MFA', () => {
    const role = findResource(large.json, 'AWS::IAM::Role', (p) => /break-glass/.test(p.Description ?? '')).resource.Properties;
    expect(role.AssumeRolePolicyDocument.Statement).toEqual([{
      Action: 'sts:AssumeRole', Effect: 'Allow',
      Principal: { AWS: 'arn:aws:iam::111122223333:role/ops' },
      Condition: { Bool: { 'aws:MultiFactorAuthPresent': 'true' } },
    }]);
  });

  it('removalPolicy=destroy applies to the domain and buckets; free storage alarm at 25 % of the volume', () => {
    const domain = findResource(large.json, 'AWS::OpenSearchService::Domain').resource as any;
    expect(domain.DeletionPolicy).toBe('Delete');
    const alarms = Object.values(large.json.Resources).filter((r) => r.Type === 'AWS::CloudWatch::Alarm').map((r) => r.Properties);
    expect(alarms.find((a) => a.MetricName === 'FreeStorageSpace').Threshold).toBe(25_600);
  });
});

describe('highly available domain from context', () => {
  it('spreads three data nodes and three masters over three zones with Multi-AZ with Standby, two replicas per index, cdk-nag clean', () => {
    nagClean(highlyAvailable);
    highlyAvailable.template.hasResourceProperties('AWS::OpenSearchService::Domain', {
      ClusterConfig: {
        InstanceCount: 3,
        ZoneAwarenessEnabled: true,
        ZoneAwarenessConfig: { AvailabilityZoneCount: 3 },
        DedicatedMasterEnabled: true,
        DedicatedMasterCount: 3,
        MultiAZWithStandbyEnabled: true,
      },
    });
    expect(findResource(highlyAvailable.json, 'Custom::AlbatrossTemplates').resource.Properties.Replicas).toBe('2');
  });

  it('logSamples=true lets the transform log raw failed lines; the default stack does not (stack.test.ts)', () => {
    const transform = findResource(highlyAvailable.json, 'AWS::Lambda::Function', (p) => /Firehose transform/.test(p.Description ?? ''));
    expect(transform.resource.Properties.Environment.Variables.ALBATROSS_LOG_SAMPLES).toBe('true');
  });

  it('auditLogs=false publishes no audit logs (and keeps the other logs)', () => {
    const options = findResource(highlyAvailable.json, 'AWS::OpenSearchService::Domain').resource.Properties.LogPublishingOptions;
    expect(Object.keys(options).sort()).toEqual(['ES_APPLICATION_LOGS', 'INDEX_SLOW_LOGS', 'SEARCH_SLOW_LOGS']);
  });

  it('a layout AWS would refuse, or one that loses quorum, fails at synth with the reason', () => {
    expect(() => synthesize({ dataNodes: '4', masterNodes: '3', availabilityZones: '3' }, { bundle: false })).toThrow(/4 data nodes cannot be spread evenly over 3/);
    expect(() => synthesize({ dataNodes: '2' }, { bundle: false })).toThrow(/lose quorum/);
    expect(() => synthesize({ dataNodes: '3', multiAzWithStandby: 'true' }, { bundle: false })).toThrow(/needs masterNodes=3/);
  });

  it('masters over two zones synthesize with a warning that names the risk', () => {
    const warnings = large.stack.node.metadata.filter((m) => m.type === 'aws:cdk:warning').map((m) => String(m.data));
    expect(warnings.some((w) => /two of them/.test(w))).toBe(true);
  });
});

describe('private domain in a new VPC with a customer-managed key (the production layout)', () => {
  let production: Synthesized;
  beforeAll(() => {
    production = synthesize({ vpc: 'create', availabilityZones: '3', masterNodes: '3', kms: 'create', logTypes: 'access' }, { bundle: false });
  }, 120_000);
  afterAll(() => production?.cleanup());

  it('passes cdk-nag (no OS1 acknowledgement: the domain is private) and the policy scan', () => {
    nagClean(production);
    const suppressed = (production.validationReport.pluginReports[0]!.suppressedViolations ?? []).map((v) => v.ruleName);
    expect(suppressed).not.toContain('AwsSolutions-OS1');
    expect(scanTemplate(production.json).violations).toEqual([]);
  });

  it('puts three data nodes and three masters in private subnets of three zones, audit logs published', () => {
    const domain = findResource(production.json, 'AWS::OpenSearchService::Domain').resource.Properties;
    expect(domain.ClusterConfig).toMatchObject({ InstanceCount: 3, ZoneAwarenessConfig: { AvailabilityZoneCount: 3 }, DedicatedMasterCount: 3 });
    const subnetIds = domain.VPCOptions.SubnetIds.map((s: { Ref: string }) => s.Ref);
    expect(subnetIds).toHaveLength(3);
    const zones = subnetIds.map((id: string) => JSON.stringify(production.json.Resources[id]!.Properties.AvailabilityZone));
    expect(new Set(zones).size).toBe(3);
    for (const id of subnetIds) expect(production.json.Resources[id]!.Properties.MapPublicIpOnLaunch).toBe(false);
    expect(logicalIds(production.json, 'AWS::EC2::InternetGateway')).toEqual([]);
    expect(logicalIds(production.json, 'AWS::EC2::NatGateway')).toEqual([]);
    expect(Object.keys(domain.LogPublishingOptions)).toContain('AUDIT_LOGS');
  });

  it('Firehose delivers through the VPC with its own security group; it, the installer, the replayer and the backfill worker alone may reach the domain on 443', () => {
    const stream = findResource(production.json, 'AWS::KinesisFirehose::DeliveryStream').resource.Properties.AmazonopensearchserviceDestinationConfiguration;
    const domain = findResource(production.json, 'AWS::OpenSearchService::Domain').resource.Properties;
    expect(stream.VpcConfiguration.SubnetIds).toEqual(domain.VPCOptions.SubnetIds);
    const domainGroup = domain.VPCOptions.SecurityGroupIds[0]['Fn::GetAtt'][0];
    const ingress = Object.values(production.json.Resources).filter((r) => r.Type === 'AWS::EC2::SecurityGroupIngress' && r.Properties.GroupId['Fn::GetAtt'][0] === domainGroup);
    expect(ingress.map((r) => [r.Properties.FromPort, r.Properties.ToPort])).toEqual([[443, 443], [443, 443], [443, 443], [443, 443]]);
    const sources = ingress.map((r) => r.Properties.SourceSecurityGroupId['Fn::GetAtt'][0]).sort();
    expect(sources).toEqual(['NetworkBackfillSecurityGroup', stream.VpcConfiguration.SecurityGroupIds[0]['Fn::GetAtt'][0], 'NetworkInstallerSecurityGroup', 'NetworkReplayerSecurityGroup'].map((prefix) => expect.stringMatching(new RegExp(`^${prefix}`))));
    const role = findResource(production.json, 'AWS::IAM::Policy', (p) => JSON.stringify(p.Roles).includes('DeliveryRole')).resource.Properties;
    expect(role.PolicyDocument.Statement.find((s: any) => s.Sid === 'VpcDelivery').Action).toContain('ec2:CreateNetworkInterfacePermission');
  });

  it('runs the installer and the replayer in the VPC; data at rest is under the stack key', () => {
    for (const description of [/install OpenSearch index templates/, /replays documents/i]) {
      const fn = findResource(production.json, 'AWS::Lambda::Function', (p) => description.test(p.Description ?? '')).resource.Properties;
      expect(fn.VpcConfig.SubnetIds, String(description)).toHaveLength(3);
    }
    const stream = findResource(production.json, 'AWS::KinesisFirehose::DeliveryStream').resource.Properties;
    expect(stream.DeliveryStreamEncryptionConfigurationInput.KeyType).toBe('CUSTOMER_MANAGED_CMK');
    for (const id of logicalIds(production.json, 'AWS::Logs::LogGroup')) expect(production.json.Resources[id]!.Properties.KmsKeyId, id).toBeDefined();
  });

  it('an existing VPC is used by ids and zone names, and incomplete settings say what is missing', () => {
    const existingVpc = synthesize(
      { vpcId: 'vpc-0abc', privateSubnetIds: 'subnet-a,subnet-b', availabilityZones: 'eu-west-1a,eu-west-1b', masterNodes: '3', region: 'eu-west-1', logTypes: 'access' },
      { bundle: false },
    );
    try {
      const domain = findResource(existingVpc.json, 'AWS::OpenSearchService::Domain').resource.Properties;
      expect(domain.VPCOptions.SubnetIds).toEqual(['subnet-a', 'subnet-b']);
      expect(domain.ClusterConfig).toMatchObject({ InstanceCount: 2, ZoneAwarenessConfig: { AvailabilityZoneCount: 2 } });
      expect(logicalIds(existingVpc.json, 'AWS::EC2::VPC')).toEqual([]);
      const [report] = existingVpc.validationReport.pluginReports;
      expect((report!.violations ?? []).map((v) => v.ruleName)).toEqual([]);
    } finally {
      existingVpc.cleanup();
    }
    expect(() => synthesize({ vpcId: 'vpc-0abc', availabilityZones: '2' }, { bundle: false })).toThrow(/vpcId needs privateSubnetIds=.* availabilityZones=<zone name>/);
    expect(() => synthesize({ vpcId: 'vpc-0abc', privateSubnetIds: 'subnet-a', availabilityZones: 'eu-west-1a,eu-west-1b', masterNodes: '3' }, { bundle: false }))
      .toThrow(/one subnet per zone/);
    expect(() => synthesize({ vpc: 'create', domainEndpoint: 'search-x-y.eu-west-1.es.amazonaws.com' }, { bundle: false })).toThrow(/existing domain keeps its own network/);
  });
});
