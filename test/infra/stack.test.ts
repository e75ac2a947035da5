// The default deployment (new log bucket, new OpenSearch domain), synthesized once with bundling and cdk-nag,
// with the access-log stream only (-c logTypes=access); the other log types' streams: log-types.test.ts.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Match } from 'aws-cdk-lib/assertions';
import { PROCESSOR_BUFFER_SIZE_MB } from '../../transform/firehose-transform/limits.ts';
import { handler as transformHandler } from '../../transform/firehose-transform/handler.ts';
import { PROCESSING_FAILED_METRIC } from '../../infra/constructs/pipeline-alarms.ts';
import { findResource, logicalIds, synthesize, type Synthesized } from './synth.ts';
import { scanTemplate } from './policy-scan.ts';

const ALARM_EMAIL = 'ops@example.com';
let synth: Synthesized;

beforeAll(() => {
  synth = synthesize({ alarmEmail: ALARM_EMAIL, region: 'eu-west-1', logTypes: 'access' }, { bundle: true });
}, 180_000);
afterAll(() => synth?.cleanup());

const ref = (id: string) => ({ Ref: id });
const arnOf = (id: string) => ({ 'Fn::GetAtt': [id, 'Arn'] });

/** Statements of the IAM policies attached to a role. */
function roleStatements(roleId: string): any[] {
  return Object.values(synth.json.Resources)
    .filter((r) => r.Type === 'AWS::IAM::Policy' && r.Properties.Roles.some((role: any) => role.Ref === roleId))
    .flatMap((r) => r.Properties.PolicyDocument.Statement);
}

function functionByDescription(prefix: string) {
  return findResource(synth.json, 'AWS::Lambda::Function', (p) => typeof p.Description === 'string' && p.Description.startsWith(prefix));
}

describe('cdk-nag', () => {
  it('AwsSolutionsChecks ran and left no unacknowledged finding (error or warning)', () => {
    const reports = synth.validationReport.pluginReports;
    // The plugin ran: it reports the acknowledged findings as an audit trail.
    expect(reports.map((r) => r.pluginName)).toEqual(['AwsSolutions']);
    expect(reports[0]!.conclusion).toBe('success');
    expect(reports[0]!.violations ?? []).toEqual([]);
    const suppressed = reports[0]!.suppressedViolations ?? [];
    expect(suppressed.length).toBeGreaterThan(15);
    for (const finding of suppressed) expect(finding.reason.length, finding.ruleName).toBeGreaterThan(60);
  });

  it('every acknowledgement names a specific AwsSolutions finding, sits on a construct below the stack and gives a reason', () => {
    const acknowledgements: Array<{ path: string; id: string; reason: string }> = [];
    const visit = (node: typeof synth.stack.node): void => {
      for (const entry of node.metadata) {
        if (entry.type !== 'aws:cdk:acknowledged-rules') continue;
        for (const [id, reason] of Object.entries(entry.data as Record<string, string>)) acknowledgements.push({ path: node.path, id, reason });
      }
      for (const child of node.children) visit(child.node);
    };
    visit(synth.stack.node);
    expect(acknowledgements.length).toBeGreaterThan(15);
    for (const ack of acknowledgements) {
      expect(ack.id).toMatch(/^AwsSolutions::AwsSolutions-[A-Z]+\d+(\[.+\])?$/);
      expect(ack.path).not.toBe(synth.stack.node.path);
      expect(ack.reason.length, ack.id).toBeGreaterThan(60);
    }
  });
});

describe('policies', () => {
  it('no IAM or resource policy allows Principal "*" (except TLS-only denies), Action "*" or es:*', () => {
    const { documents, violations } = scanTemplate(synth.json);
    expect(documents).toBeGreaterThan(20);
    expect(violations).toEqual([]);
  });
});

describe('S3 notifications -> SQS -> loader', () => {
  it('notifies the queue of ObjectCreated:* under AWSLogs/ with suffix .log.gz', () => {
    const queue = findResource(synth.json, 'AWS::SQS::Queue', (p) => p.RedrivePolicy !== undefined);
    const notifications = findResource(synth.json, 'Custom::S3BucketNotifications').resource.Properties;
    const [configuration, ...others] = notifications.NotificationConfiguration.QueueConfigurations;
    expect(others).toEqual([]);
    expect(configuration.Events).toEqual(['s3:ObjectCreated:*']);
    expect(configuration.QueueArn).toEqual(arnOf(queue.id));
    expect([...configuration.Filter.Key.FilterRules].sort((a: any, b: any) => a.Name.localeCompare(b.Name))).toEqual([
      { Name: 'prefix', Value: 'AWSLogs/' },
      { Name: 'suffix', Value: '.log.gz' },
    ]);
  });

  it('queue and DLQ use SSE, deny non-TLS access, and the queue redrives to the DLQ after >= 5 receives', () => {
    const queue = findResource(synth.json, 'AWS::SQS::Queue', (p) => p.RedrivePolicy !== undefined);
    const dlq = findResource(synth.json, 'AWS::SQS::Queue', (p) => p.RedrivePolicy === undefined);
    for (const q of [queue, dlq]) {
      expect(q.resource.Properties.SqsManagedSseEnabled).toBe(true);
      synth.template.hasResourceProperties('AWS::SQS::QueuePolicy', {
        Queues: [ref(q.id)],
        PolicyDocument: {
          Statement: Match.arrayWith([
            Match.objectLike({ Effect: 'Deny', Principal: { AWS: '*' }, Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
          ]),
        },
      });
    }
    expect(queue.resource.Properties.RedrivePolicy.deadLetterTargetArn).toEqual(arnOf(dlq.id));
    expect(queue.resource.Properties.RedrivePolicy.maxReceiveCount).toBeGreaterThanOrEqual(5);
    expect(dlq.resource.Properties.MessageRetentionPeriod).toBe(14 * 86_400);
  });

  it('visibility timeout is at least 6x the loader timeout', () => {
    const queue = findResource(synth.json, 'AWS::SQS::Queue', (p) => p.RedrivePolicy !== undefined);
    const loader = functionByDescription('Albatross: ALB log object');
    expect(loader.resource.Properties.Timeout).toBe(300);
    expect(queue.resource.Properties.VisibilityTimeout).toBeGreaterThanOrEqual(6 * loader.resource.Properties.Timeout);
  });

  it('the loader consumes the queue with reportBatchItemFailures and bounded concurrency', () => {
    const queue = findResource(synth.json, 'AWS::SQS::Queue', (p) => p.RedrivePolicy !== undefined);
    const loader = functionByDescription('Albatross: ALB log object');
    synth.template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      EventSourceArn: arnOf(queue.id),
      FunctionName: ref(loader.id),
      FunctionResponseTypes: ['ReportBatchItemFailures'],
      BatchSize: 1,
      ScalingConfig: { MaximumConcurrency: 5 },
    });
  });

  it('a new log bucket lets ALB log delivery write under AWSLogs/<account>/ (service principal and the regional ELB account)', () => {
    const statements = Object.values(synth.json.Resources)
      .filter((r) => r.Type === 'AWS::S3::BucketPolicy')
      .flatMap((r) => r.Properties.PolicyDocument.Statement);
    const delivery = statements.filter((s: any) => s.Sid?.startsWith('AlbLogDelivery'));
    expect(delivery.map((s: any) => s.Principal)).toEqual([
      { Service: 'logdelivery.elasticloadbalancing.amazonaws.com' },
      // eu-west-1's Elastic Load Balancing account.
      { AWS: { 'Fn::Join': ['', ['arn:', ref('AWS::Partition'), ':iam::156460612806:root']] } },
    ]);
    for (const s of delivery) {
      expect(s.Action).toBe('s3:PutObject');
      expect(JSON.stringify(s.Resource)).toContain('/AWSLogs/');
    }
  });
});

describe('Lambda functions', () => {
  const ours = () => ['Albatross: ALB log object', 'Albatross: Firehose transform', 'Albatross: install OpenSearch'].map(functionByDescription);

  it('run on arm64 with the latest Node.js runtime and their own log group with a retention', () => {
    for (const fn of ours()) {
      expect(fn.resource.Properties.Architectures).toEqual(['arm64']);
      expect(fn.resource.Properties.Runtime).toBe('nodejs24.x');
      const logGroupId = fn.resource.Properties.LoggingConfig.LogGroup.Ref;
      expect(synth.json.Resources[logGroupId]!.Properties.RetentionInDays).toBe(30);
    }
  });

  it('were bundled by the local esbuild into an ESM file with a source map', () => {
    for (const fn of ours()) {
      const key: string = fn.resource.Properties.Code.S3Key;
      expect(key).toMatch(/^[0-9a-f]{64}\.zip$/);
      const dir = path.join(synth.outdir, `asset.${key.replace(/\.zip$/, '')}`);
      expect(readdirSync(dir).sort()).toEqual(['index.mjs', 'index.mjs.map']);
      // Real bundles: the handler plus its dependencies, not an empty stub.
      expect(statSync(path.join(dir, 'index.mjs')).size).toBeGreaterThan(10_000);
    }
  });

  it('roles carry no managed policy and only the statements they need', () => {
    for (const fn of ours()) {
      const roleId = fn.resource.Properties.Role['Fn::GetAtt'][0];
      expect(synth.json.Resources[roleId]!.Properties.ManagedPolicyArns).toBeUndefined();
    }
    const loader = functionByDescription('Albatross: ALB log object');
    const statements = roleStatements(loader.resource.Properties.Role['Fn::GetAtt'][0]);
    const actions = statements.flatMap((s) => [s.Action].flat()).sort();
    expect(actions).toEqual([
      'dynamodb:GetItem', 'dynamodb:UpdateItem', 'firehose:PutRecordBatch', 'logs:CreateLogStream', 'logs:PutLogEvents',
      's3:GetObject', 's3:PutObject', 'sqs:ChangeMessageVisibility', 'sqs:DeleteMessage', 'sqs:GetQueueAttributes',
      'sqs:GetQueueUrl', 'sqs:ReceiveMessage',
    ].sort());
    const read = statements.find((s) => s.Action === 's3:GetObject');
    expect(JSON.stringify(read.Resource)).toContain('/AWSLogs/*');
    const transform = functionByDescription('Albatross: Firehose transform');
    expect(roleStatements(transform.resource.Properties.Role['Fn::GetAtt'][0]).flatMap((s) => [s.Action].flat()).sort())
      .toEqual(['logs:CreateLogStream', 'logs:PutLogEvents']);
  });

  it('the transform runs with a larger young generation (measured: fewer CPU-ms per record)', () => {
    const transform = functionByDescription('Albatross: Firehose transform');
    expect(transform.resource.Properties.Environment.Variables).toEqual({ NODE_OPTIONS: '--max-semi-space-size=64' });
  });

  it('the loader gets the stream, checkpoint table and failure bucket through its environment', () => {
    const loader = functionByDescription('Albatross: ALB log object');
    const stream = findResource(synth.json, 'AWS::KinesisFirehose::DeliveryStream');
    const table = findResource(synth.json, 'AWS::DynamoDB::Table');
    const backup = stream.resource.Properties.AmazonopensearchserviceDestinationConfiguration.S3Configuration.BucketARN['Fn::GetAtt'][0];
    expect(loader.resource.Properties.Environment.Variables).toMatchObject({
      ALBATROSS_DELIVERY_STREAM: ref(stream.id),
      ALBATROSS_CHECKPOINT_TABLE: ref(table.id),
      ALBATROSS_FAILURE_BUCKET: ref(backup),
      ALBATROSS_FAILURE_PREFIX: 'errors/loader-failed/',
    });
  });
});

describe('checkpoint table', () => {
  it('is on-demand, with TTL, point-in-time recovery and the key the DynamoDB checkpoint store uses', () => {
    synth.template.hasResourceProperties('AWS::DynamoDB::Table', {
      BillingMode: 'PAY_PER_REQUEST',
      KeySchema: [{ AttributeName: 'id', KeyType: 'HASH' }],
      TimeToLiveSpecification: { AttributeName: 'expiresAt', Enabled: true },
      PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
    });
  });
});

describe('Firehose delivery stream', () => {
  const destination = () =>
    findResource(synth.json, 'AWS::KinesisFirehose::DeliveryStream').resource.Properties.AmazonopensearchserviceDestinationConfiguration;

  it('is DirectPut, encrypted, into daily <prefix>-YYYY-MM-DD indices with buffering and retries', () => {
    const domain = logicalIds(synth.json, 'AWS::OpenSearchService::Domain')[0]!;
    synth.template.hasResourceProperties('AWS::KinesisFirehose::DeliveryStream', {
      DeliveryStreamType: 'DirectPut',
      DeliveryStreamEncryptionConfigurationInput: { KeyType: 'AWS_OWNED_CMK' },
      AmazonopensearchserviceDestinationConfiguration: {
        DomainARN: arnOf(domain),
        IndexName: 'alb-logs',
        IndexRotationPeriod: 'OneDay',
        BufferingHints: { IntervalInSeconds: 60, SizeInMBs: 5 },
        RetryOptions: { DurationInSeconds: 300 },
        S3BackupMode: 'FailedDocumentsOnly',
      },
    });
    expect(destination().TypeName).toBeUndefined();
  });

  it('backs failed documents up with error prefixes by error-output type, and logs errors to CloudWatch', () => {
    const d = destination();
    expect(d.S3Configuration.ErrorOutputPrefix).toContain('!{firehose:error-output-type}');
    expect(d.S3Configuration.CompressionFormat).toBe('GZIP');
    for (const logging of [d.CloudWatchLoggingOptions, d.S3Configuration.CloudWatchLoggingOptions]) {
      expect(logging.Enabled).toBe(true);
      expect(logging.LogGroupName).toBeDefined();
      expect(logging.LogStreamName).toBeDefined();
    }
  });

  it('runs the transform Lambda as processor with the buffer size the transform measured', () => {
    const transform = functionByDescription('Albatross: Firehose transform');
    const [processor] = destination().ProcessingConfiguration.Processors;
    expect(destination().ProcessingConfiguration.Enabled).toBe(true);
    expect(processor.Type).toBe('Lambda');
    const parameters = Object.fromEntries(processor.Parameters.map((p: any) => [p.ParameterName, p.ParameterValue]));
    expect(parameters).toEqual({
      LambdaArn: arnOf(transform.id),
      BufferSizeInMBs: String(PROCESSOR_BUFFER_SIZE_MB),
      BufferIntervalInSeconds: '60',
      NumberOfRetries: '3',
    });
    expect(Number(parameters.BufferSizeInMBs)).toBeGreaterThanOrEqual(0.2);
    expect(Number(parameters.BufferSizeInMBs)).toBeLessThanOrEqual(3);
  });

  it('depends on its role policy and on the templates custom resource', () => {
    const stream = findResource(synth.json, 'AWS::KinesisFirehose::DeliveryStream');
    const roleId = stream.resource.Properties.AmazonopensearchserviceDestinationConfiguration.RoleARN['Fn::GetAtt'][0];
    const policyIds = logicalIds(synth.json, 'AWS::IAM::Policy').filter((id) =>
      synth.json.Resources[id]!.Properties.Roles.some((r: any) => r.Ref === roleId));
    expect(policyIds).toHaveLength(1);
    const templates = findResource(synth.json, 'Custom::AlbatrossTemplates');
    expect(stream.resource.DependsOn).toEqual(expect.arrayContaining([policyIds[0], roleId, templates.id]));
  });

  it('its role can invoke only the transform, write only its log streams and the backup bucket, and index into the domain', () => {
    const stream = findResource(synth.json, 'AWS::KinesisFirehose::DeliveryStream');
    const roleId = stream.resource.Properties.AmazonopensearchserviceDestinationConfiguration.RoleARN['Fn::GetAtt'][0];
    const role = synth.json.Resources[roleId]!;
    expect(role.Properties.AssumeRolePolicyDocument.Statement).toEqual([
      expect.objectContaining({ Principal: { Service: 'firehose.amazonaws.com' }, Condition: { StringEquals: { 'sts:ExternalId': ref('AWS::AccountId') } } }),
    ]);
    const bySid = Object.fromEntries(roleStatements(roleId).map((s) => [s.Sid, s]));
    expect(Object.keys(bySid).sort()).toEqual(['BackupBucket', 'DomainConfig', 'DomainRead', 'DomainWrite', 'ErrorLogs', 'Transform']);
    expect(bySid.Transform.Resource).toEqual(arnOf(functionByDescription('Albatross: Firehose transform').id));
    expect(bySid.DomainWrite.Action).toEqual(['es:ESHttpPost', 'es:ESHttpPut']);
    expect(bySid.DomainRead.Action).toBe('es:ESHttpGet');
    expect(bySid.ErrorLogs.Action).toBe('logs:PutLogEvents');
  });
});

describe('OpenSearch domain', () => {
  it('runs OpenSearch 2.19 with FGAC (IAM master role), encryption at rest and in transit, HTTPS TLS 1.2+', () => {
    const installerRole = findResource(synth.json, 'AWS::IAM::Role', (p) => p.Description?.startsWith('Albatross: installs index templates'));
    synth.template.hasResourceProperties('AWS::OpenSearchService::Domain', {
      EngineVersion: 'OpenSearch_2.19',
      AdvancedSecurityOptions: { Enabled: true, InternalUserDatabaseEnabled: false, MasterUserOptions: { MasterUserARN: arnOf(installerRole.id) } },
      EncryptionAtRestOptions: { Enabled: true },
      NodeToNodeEncryptionOptions: { Enabled: true },
      DomainEndpointOptions: { EnforceHTTPS: true, TLSSecurityPolicy: Match.stringLikeRegexp('^Policy-Min-TLS-1-2') },
    });
  });

  it('is small by default: one t3.small.search data node, 10 GiB gp3, single AZ', () => {
    synth.template.hasResourceProperties('AWS::OpenSearchService::Domain', {
      ClusterConfig: { InstanceCount: 1, InstanceType: 't3.small.search', DedicatedMasterEnabled: false, ZoneAwarenessEnabled: false, MultiAZWithStandbyEnabled: false },
      EBSOptions: { EBSEnabled: true, VolumeSize: 10, VolumeType: 'gp3' },
    });
  });

  it('its access policy names exactly the Firehose, installer (master) and Dashboards roles, for es:ESHttp* only', () => {
    const policy = findResource(synth.json, 'Custom::OpenSearchAccessPolicy');
    const create = policy.resource.Properties.Create['Fn::Join'][1] as any[];
    const text = create.map((part) => (typeof part === 'string' ? part : `<${part['Fn::GetAtt']?.[0] ?? part.Ref}>`)).join('');
    const accessPolicy = JSON.parse(JSON.parse(text).parameters.AccessPolicies);
    const principals = accessPolicy.Statement.flatMap((s: any) => [s.Principal.AWS].flat()).sort();
    const roleId = (prefix: string) => findResource(synth.json, 'AWS::IAM::Role', (p) => p.Description?.startsWith(prefix)).id;
    expect(principals).toEqual(
      [roleId('Albatross: Firehose delivery'), roleId('Albatross: installs index templates'), roleId('Albatross: OpenSearch Dashboards users')]
        .map((id) => `<${id}>`).sort());
    for (const statement of accessPolicy.Statement) {
      expect(statement).toMatchObject({ Effect: 'Allow', Action: 'es:ESHttp*' });
      expect(statement.Resource).toMatch(/\/\*$/);
    }
  });

  it('Dashboards sign in through a Cognito user pool (MFA, no self sign-up) and an identity pool without guests', () => {
    const userPool = findResource(synth.json, 'AWS::Cognito::UserPool');
    const identityPool = findResource(synth.json, 'AWS::Cognito::IdentityPool');
    expect(userPool.resource.Properties).toMatchObject({
      MfaConfiguration: 'ON',
      AdminCreateUserConfig: { AllowAdminCreateUserOnly: true },
      Policies: { PasswordPolicy: { MinimumLength: 14 } },
    });
    expect(identityPool.resource.Properties.AllowUnauthenticatedIdentities).toBe(false);
    synth.template.hasResourceProperties('AWS::OpenSearchService::Domain', {
      CognitoOptions: { Enabled: true, UserPoolId: ref(userPool.id), IdentityPoolId: ref(identityPool.id) },
    });
    const signIn = findResource(synth.json, 'AWS::Cognito::UserPoolDomain');
    expect(signIn.resource.Properties.UserPoolId).toEqual(ref(userPool.id));
    expect(findResource(synth.json, 'AWS::OpenSearchService::Domain').resource.DependsOn).toContain(signIn.id);
    synth.template.hasResourceProperties('AWS::Cognito::UserPoolUser', {
      Username: ALARM_EMAIL,
      DesiredDeliveryMediums: ['EMAIL'],
      UserPoolId: ref(userPool.id),
    });
    const dashboardsRole = findResource(synth.json, 'AWS::IAM::Role', (p) => p.Description?.startsWith('Albatross: OpenSearch Dashboards users'));
    expect(dashboardsRole.resource.Properties.AssumeRolePolicyDocument.Statement[0]).toMatchObject({
      Action: 'sts:AssumeRoleWithWebIdentity',
      Principal: { Federated: 'cognito-identity.amazonaws.com' },
      Condition: { StringEquals: { 'cognito-identity.amazonaws.com:aud': ref(identityPool.id) } },
    });
    expect(roleStatements(dashboardsRole.id)).toEqual([]);
    synth.template.hasResourceProperties('AWS::Cognito::IdentityPoolRoleAttachment', {
      IdentityPoolId: ref(identityPool.id),
      Roles: { authenticated: arnOf(dashboardsRole.id) },
    });
  });

  it('publishes slow search, slow index and application logs', () => {
    const options = findResource(synth.json, 'AWS::OpenSearchService::Domain').resource.Properties.LogPublishingOptions;
    expect(Object.keys(options).sort()).toEqual(['ES_APPLICATION_LOGS', 'INDEX_SLOW_LOGS', 'SEARCH_SLOW_LOGS']);
  });
});

describe('templates custom resource', () => {
  it('passes the endpoint, prefix, retention, replicas and the roles to map, and re-runs when its code changes', () => {
    const templates = findResource(synth.json, 'Custom::AlbatrossTemplates');
    const domain = logicalIds(synth.json, 'AWS::OpenSearchService::Domain')[0]!;
    const roleId = (prefix: string) => findResource(synth.json, 'AWS::IAM::Role', (p) => p.Description?.startsWith(prefix)).id;
    expect(templates.resource.Properties).toMatchObject({
      Endpoint: { 'Fn::GetAtt': [domain, 'DomainEndpoint'] },
      IndexPrefix: 'alb-logs',
      RetentionDays: '30',
      Replicas: '0',
      FirehoseRoleArn: arnOf(roleId('Albatross: Firehose delivery')),
      DashboardsRoleArn: arnOf(roleId('Albatross: OpenSearch Dashboards users')),
      // Read-only Dashboards users by default: no admin role.
      DashboardsAdmin: 'false',
    });
    expect(templates.resource.Properties.CodeKey).toMatch(/^[0-9a-f]{64}\.zip$/);
  });

  it('runs after the domain access policy exists, as the FGAC master role', () => {
    const templates = findResource(synth.json, 'Custom::AlbatrossTemplates');
    const accessPolicy = findResource(synth.json, 'Custom::OpenSearchAccessPolicy');
    expect(templates.resource.DependsOn).toContain(accessPolicy.id);
    const handler = functionByDescription('Albatross: install OpenSearch');
    const installerRole = findResource(synth.json, 'AWS::IAM::Role', (p) => p.Description?.startsWith('Albatross: installs index templates'));
    expect(handler.resource.Properties.Role).toEqual(arnOf(installerRole.id));
    expect(handler.resource.Properties.Timeout).toBeLessThanOrEqual(900);
  });
});

describe('buckets', () => {
  it('every bucket is encrypted, blocks public access, disables ACLs, enforces TLS and expires objects', () => {
    const buckets = logicalIds(synth.json, 'AWS::S3::Bucket');
    expect(buckets).toHaveLength(3); // log bucket, backup bucket, server access logs
    for (const id of buckets) {
      const p = synth.json.Resources[id]!.Properties;
      expect(p.BucketEncryption.ServerSideEncryptionConfiguration[0].ServerSideEncryptionByDefault.SSEAlgorithm).toBe('AES256');
      expect(p.PublicAccessBlockConfiguration).toEqual({ BlockPublicAcls: true, BlockPublicPolicy: true, IgnorePublicAcls: true, RestrictPublicBuckets: true });
      expect(p.OwnershipControls.Rules).toEqual([{ ObjectOwnership: 'BucketOwnerEnforced' }]);
      expect(p.LifecycleConfiguration.Rules[0]).toMatchObject({ Status: 'Enabled', ExpirationInDays: expect.any(Number) });
      synth.template.hasResourceProperties('AWS::S3::BucketPolicy', {
        Bucket: ref(id),
        PolicyDocument: { Statement: Match.arrayWith([Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } })]) },
      });
    }
  });

  it('the backup bucket keeps failed records 30 days and is retained with the stack by default', () => {
    const stream = findResource(synth.json, 'AWS::KinesisFirehose::DeliveryStream');
    const backupId = stream.resource.Properties.AmazonopensearchserviceDestinationConfiguration.S3Configuration.BucketARN['Fn::GetAtt'][0];
    const backup = synth.json.Resources[backupId] as any;
    expect(backup.Properties.LifecycleConfiguration.Rules[0].ExpirationInDays).toBe(30);
    expect(backup.DeletionPolicy).toBe('Retain');
    expect(backup.Properties.LoggingConfiguration.DestinationBucketName).toBeDefined();
  });
});

describe('alarms', () => {
  const alarms = () => Object.values(synth.json.Resources).filter((r) => r.Type === 'AWS::CloudWatch::Alarm').map((r) => r.Properties);
  const metric = (name: string) => alarms().find((a) => a.MetricName === name);

  it('notify an encrypted SNS topic with the e-mail subscription', () => {
    const topic = findResource(synth.json, 'AWS::SNS::Topic');
    expect(topic.resource.Properties.KmsMasterKeyId).toBeDefined();
    synth.template.hasResourceProperties('AWS::SNS::Subscription', { TopicArn: ref(topic.id), Protocol: 'email', Endpoint: ALARM_EMAIL });
    expect(alarms()).toHaveLength(10);
    for (const alarm of alarms()) {
      expect(alarm.AlarmActions).toEqual([ref(topic.id)]);
      expect(alarm.AlarmDescription.length).toBeGreaterThan(20);
    }
  });

  it('cover the DLQ, Firehose delivery and processing, both Lambdas, cluster red and free storage', () => {
    const dlq = findResource(synth.json, 'AWS::SQS::Queue', (p) => p.RedrivePolicy === undefined);
    expect(metric('ApproximateNumberOfMessagesVisible')).toMatchObject({
      Namespace: 'AWS/SQS', Threshold: 0, ComparisonOperator: 'GreaterThanThreshold',
      Dimensions: [{ Name: 'QueueName', Value: { 'Fn::GetAtt': [dlq.id, 'QueueName'] } }],
    });
    expect(metric('DeliveryToAmazonOpenSearchService.Success')).toMatchObject({ Namespace: 'AWS/Firehose', Statistic: 'Minimum', Threshold: 1, ComparisonOperator: 'LessThanThreshold' });
    expect(metric('ExecuteProcessing.Success')).toMatchObject({ Namespace: 'AWS/Firehose', Threshold: 1, ComparisonOperator: 'LessThanThreshold' });
    expect(metric('RecordsProcessingFailed')).toMatchObject({
      Namespace: 'Albatross', Statistic: 'Sum', Threshold: 0,
      Dimensions: [{ Name: 'service', Value: 'albatross-transform' }],
    });
    expect(alarms().filter((a) => a.MetricName === 'Errors')).toHaveLength(2);
    expect(alarms().filter((a) => a.MetricName === 'Throttles')).toHaveLength(2);
    expect(metric('ClusterStatus.red')).toMatchObject({ Namespace: 'AWS/ES', Threshold: 1, ComparisonOperator: 'GreaterThanOrEqualToThreshold' });
    // 25 % of the 10 GiB volume, in MiB.
    expect(metric('FreeStorageSpace')).toMatchObject({ Namespace: 'AWS/ES', Statistic: 'Minimum', Threshold: 2560, ComparisonOperator: 'LessThanOrEqualToThreshold' });
  });
});

describe('processing-failed alarm metric', () => {
  it('is the EMF metric the real transform handler emits for a line it cannot parse', async () => {
    const alarm = Object.values(synth.json.Resources).find((r) => r.Type === 'AWS::CloudWatch::Alarm' && r.Properties.MetricName === PROCESSING_FAILED_METRIC)!;
    const written: string[] = [];
    const write = process.stdout.write;
    // Capture the handler's stdout: Powertools Metrics writes EMF lines there for CloudWatch to extract.
    process.stdout.write = ((chunk: string | Uint8Array) => { written.push(String(chunk)); return true; }) as typeof process.stdout.write;
    try {
      await transformHandler({
        invocationId: 'alarm-test',
        deliveryStreamArn: 'arn:aws:firehose:eu-west-1:111122223333:deliverystream/test',
        region: 'eu-west-1',
        records: [{ recordId: 'r1', approximateArrivalTimestamp: Date.now(), data: Buffer.from('not an ALB line').toString('base64') }],
      });
    } finally {
      process.stdout.write = write;
    }
    const emf = written.flatMap((chunk) => chunk.split('\n')).filter((line) => line.includes('"CloudWatchMetrics"')).map((line) => JSON.parse(line));
    const entry = emf.find((e) => e._aws.CloudWatchMetrics.some((m: any) => m.Metrics.some((x: any) => x.Name === PROCESSING_FAILED_METRIC)));
    expect(entry, written.join('')).toBeDefined();
    const directive = entry._aws.CloudWatchMetrics[0];
    expect(directive.Namespace).toBe(alarm.Properties.Namespace);
    expect(directive.Dimensions).toEqual([alarm.Properties.Dimensions.map((d: any) => d.Name)]);
    for (const dimension of alarm.Properties.Dimensions) expect(entry[dimension.Name]).toBe(dimension.Value);
    expect(entry[PROCESSING_FAILED_METRIC]).toBe(1);
  });
});

describe('outputs', () => {
  it('name the domain endpoint, Dashboards URL, stream, queue and backup bucket', () => {
    const outputs = synth.json.Outputs ?? {};
    for (const name of ['DomainEndpoint', 'DashboardsUrl', 'DeliveryStreamName', 'QueueUrl', 'BackupBucketName']) {
      expect(outputs[name], name).toBeDefined();
    }
    expect(JSON.stringify(outputs.DashboardsUrl.Value)).toContain('/_dashboards/');
    expect(outputs.DashboardsUrl.Description).toMatch(/read <indexPrefix>-\* only/);
  });
});

describe('synthesis', () => {
  it('wrote the template and assets only (no context lookups were needed)', () => {
    expect(existsSync(path.join(synth.outdir, 'Albatross.template.json'))).toBe(true);
    const manifest = JSON.parse(readFileSync(path.join(synth.outdir, 'manifest.json'), 'utf8'));
    expect(manifest.missing).toBeUndefined();
  });
});
