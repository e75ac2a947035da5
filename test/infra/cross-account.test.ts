// Log buckets and domains in other accounts (a central log-archive bucket, a central logging domain), and the
// confused-deputy audit: every grant to an AWS service is tied to this stack's account or resources.
// Bundling is skipped (stack.test.ts covers it); cdk-nag runs on every synthesis.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Annotations, Match } from 'aws-cdk-lib/assertions';
import type { CfnElement } from 'aws-cdk-lib';
import { findResource, logicalIds, synthesize, type Synthesized } from './synth.ts';
import { scanTemplate, serviceGrants, SOURCE_KEYS, type ServiceGrant } from './policy-scan.ts';
import { evaluate, resolveIntrinsics, type Request, type Statement } from './policy-eval.ts';

const STACK_ACCOUNT = '111122223333';
const BUCKET_OWNER = '444455556666';
const DOMAIN_OWNER = '777788889999';
const BUCKET_ARN = 'arn:aws:s3:::central-alb-logs';
const BUCKET_KEY = `arn:aws:kms:eu-west-1:${BUCKET_OWNER}:key/1234abcd-12ab-34cd-56ef-1234567890ab`;
const DOMAIN_ENDPOINT = 'search-central-abc123xyz.eu-west-1.es.amazonaws.com';
const DOMAIN_ARN = `arn:aws:es:eu-west-1:${DOMAIN_OWNER}:domain/central`;

const variants: Record<string, Synthesized> = {};
beforeAll(() => {
  const contexts: Record<string, Record<string, unknown>> = {
    // A central bucket in the log-archive account, SSE-KMS objects, the stack's own key for queues and the rest.
    centralBucket: { region: 'eu-west-1', logBucketArn: BUCKET_ARN, logBucketAccount: BUCKET_OWNER, logBucketKmsKeyArn: BUCKET_KEY, logPrefix: 'org', kms: 'create', alarmEmail: 'ops@example.com' },
    // A central domain in the logging account, and direct delivery from a central bucket.
    centralDomain: { region: 'eu-west-1', stackName: 'WebLogs', logBucketName: 'central-alb-logs', logBucketAccount: BUCKET_OWNER, domainEndpoint: DOMAIN_ENDPOINT, domainArn: DOMAIN_ARN, freeStorageThresholdMiB: '20480', logTypes: 'access' },
    defaults: { region: 'eu-west-1', alarmEmail: 'ops@example.com' },
    production: { region: 'us-east-1', vpc: 'create', availabilityZones: '3', masterNodes: '3', kms: 'create', delivery: 'direct' },
  };
  for (const [name, context] of Object.entries(contexts)) variants[name] = synthesize(context, { bundle: false });
}, 180_000);
afterAll(() => {
  for (const synth of Object.values(variants)) synth.cleanup();
});

/** Values of the intrinsics in the central-bucket template, as CloudFormation would resolve them in the stack's account. */
function intrinsicValues(synth: Synthesized): Record<string, string> {
  const values: Record<string, string> = { 'AWS::AccountId': STACK_ACCOUNT, 'AWS::Region': 'eu-west-1', 'AWS::Partition': 'aws', 'AWS::URLSuffix': 'amazonaws.com' };
  for (const [id, resource] of Object.entries(synth.json.Resources)) {
    if (resource.Type === 'AWS::IAM::Role') values[`${id}.Arn`] = `arn:aws:iam::${STACK_ACCOUNT}:role/${id}`;
    if (resource.Type === 'AWS::SQS::Queue') values[`${id}.Arn`] = `arn:aws:sqs:eu-west-1:${STACK_ACCOUNT}:${id}`;
  }
  return values;
}

function output(synth: Synthesized, name: string): any {
  const value = synth.json.Outputs?.[name]?.Value;
  if (value === undefined) throw new Error(`no output ${name}`);
  return JSON.parse(resolveIntrinsics(value, intrinsicValues(synth)) as string);
}

const loaderRoleArn = (synth: Synthesized) =>
  `arn:aws:iam::${STACK_ACCOUNT}:role/${synth.stack.getLogicalId(synth.stack.loader.function.role.node.defaultChild as CfnElement)}`;

describe('ALB log bucket in another account', () => {
  it('passes cdk-nag and the policy scan', () => {
    for (const synth of [variants.centralBucket!, variants.centralDomain!]) {
      expect(synth.validationReport.pluginReports[0]!.violations ?? []).toEqual([]);
      expect(scanTemplate(synth.json).violations).toEqual([]);
    }
  });

  it('changes nothing on the bucket: no notification custom resource, no bucket policy for it', () => {
    const { json } = variants.centralBucket!;
    expect(logicalIds(json, 'Custom::S3BucketNotifications')).toEqual([]);
    const policies = Object.values(json.Resources).filter((r) => r.Type === 'AWS::S3::BucketPolicy');
    expect(policies.length).toBeGreaterThan(0);
    for (const policy of policies) expect(JSON.stringify(policy.Properties)).not.toContain('central-alb-logs');
  });

  it('the queue admits S3 notifications from that bucket of the owner account only (evaluated as AWS would)', () => {
    const synth = variants.centralBucket!;
    const queueId = synth.stack.getLogicalId(synth.stack.logSource.queue.node.defaultChild as CfnElement);
    const queueArn = `arn:aws:sqs:eu-west-1:${STACK_ACCOUNT}:${queueId}`;
    const policy = Object.values(synth.json.Resources).find((r) => r.Type === 'AWS::SQS::QueuePolicy' && r.Properties.Queues.some((q: any) => q.Ref === queueId))!;
    const statements = resolveIntrinsics(policy.Properties.PolicyDocument.Statement, intrinsicValues(synth)) as Statement[];
    const send = (account: string, bucket = BUCKET_ARN): Request => ({
      principal: { service: 's3.amazonaws.com' }, action: 'sqs:SendMessage', resource: queueArn,
      context: { 'aws:SourceArn': bucket, 'aws:SourceAccount': account, 'aws:SecureTransport': true },
    });
    expect(evaluate(statements, send(BUCKET_OWNER))).toBe('Allow');
    // A bucket of that name in any other account, this stack's included: denied.
    expect(evaluate(statements, send(STACK_ACCOUNT))).toBe('ExplicitDeny');
    expect(evaluate(statements, send('999988887777'))).toBe('ExplicitDeny');
    // Another bucket of the owner account: not allowed.
    expect(evaluate(statements, send(BUCKET_OWNER, 'arn:aws:s3:::other-bucket'))).toBe('ImplicitDeny');
  });

  it("the stack key lets S3 encrypt notifications for the owner's bucket only", () => {
    const synth = variants.centralBucket!;
    const key = findResource(synth.json, 'AWS::KMS::Key', (p) => JSON.stringify(p.KeyPolicy).includes('S3EventNotifications'));
    const statements = resolveIntrinsics(key.resource.Properties.KeyPolicy.Statement, intrinsicValues(synth)) as Statement[];
    const generate = (account: string, bucket = BUCKET_ARN): Request => ({
      principal: { service: 's3.amazonaws.com' }, action: 'kms:GenerateDataKey', resource: 'arn:aws:kms:eu-west-1:111122223333:key/k',
      context: { 'aws:SourceArn': bucket, 'aws:SourceAccount': account },
    });
    expect(evaluate(statements, generate(BUCKET_OWNER))).toBe('Allow');
    expect(evaluate(statements, generate(STACK_ACCOUNT))).toBe('ImplicitDeny');
    expect(evaluate(statements, generate(BUCKET_OWNER, 'arn:aws:s3:::other-bucket'))).toBe('ImplicitDeny');
  });

  it('the loader reads the prefix and decrypts with the bucket key through S3 only', () => {
    const synth = variants.centralBucket!;
    const roleId = synth.stack.getLogicalId(synth.stack.loader.function.role.node.defaultChild as CfnElement);
    const statements = Object.values(synth.json.Resources)
      .filter((r) => r.Type === 'AWS::IAM::Policy' && r.Properties.Roles.some((role: any) => role.Ref === roleId))
      .flatMap((r) => r.Properties.PolicyDocument.Statement);
    const read = statements.find((s: any) => s.Sid === 'ReadAlbLogs');
    expect(resolveIntrinsics(read.Resource, intrinsicValues(synth))).toBe(`${BUCKET_ARN}/org/AWSLogs/*`);
    expect(statements.find((s: any) => s.Sid === 'DecryptAlbLogs')).toEqual({
      Sid: 'DecryptAlbLogs', Effect: 'Allow', Action: 'kms:Decrypt', Resource: BUCKET_KEY,
      Condition: { StringEquals: { 'kms:ViaService': 's3.eu-west-1.amazonaws.com' } },
    });
    // Its S3 requests to the bucket name the owner (ExpectedBucketOwner): a bucket re-created by anyone else is refused.
    const loader = synth.json.Resources[synth.stack.getLogicalId(synth.stack.loader.function.function.node.defaultChild as CfnElement)]!;
    expect(loader.Properties.Environment.Variables).toMatchObject({ ALBATROSS_LOG_BUCKET: 'central-alb-logs', ALBATROSS_LOG_BUCKET_OWNER: BUCKET_OWNER });
  });

  it("outputs the owner's bucket policy statement: the loader may read the ALB prefix, nothing else", () => {
    const synth = variants.centralBucket!;
    const statement = output(synth, 'LogBucketPolicyStatement') as Statement;
    expect(statement.Principal).toEqual({ AWS: [loaderRoleArn(synth)] });
    const get = (arn: string, key: string): Request => ({
      principal: { arn }, action: 's3:GetObject', resource: `${BUCKET_ARN}/${key}`, context: {},
    });
    const key = `org/AWSLogs/${BUCKET_OWNER}/elasticloadbalancing/eu-west-1/2026/12/03/x.log.gz`;
    expect(evaluate([statement], get(loaderRoleArn(synth), key))).toBe('Allow');
    expect(evaluate([statement], get(loaderRoleArn(synth), 'finance/report.csv'))).toBe('ImplicitDeny');
    expect(evaluate([statement], get(`arn:aws:iam::${STACK_ACCOUNT}:role/someone-else`, key))).toBe('ImplicitDeny');
  });

  it('outputs the notification to merge into the bucket: ObjectCreated under the prefix, .log.gz, to our queue', () => {
    const synth = variants.centralBucket!;
    const queueId = synth.stack.getLogicalId(synth.stack.logSource.queue.node.defaultChild as CfnElement);
    expect(output(synth, 'LogBucketNotification')).toEqual({
      QueueConfigurations: [{
        Id: 'albatross-alb-logs',
        QueueArn: `arn:aws:sqs:eu-west-1:${STACK_ACCOUNT}:${queueId}`,
        Events: ['s3:ObjectCreated:*'],
        Filter: { Key: { FilterRules: [{ Name: 'prefix', Value: 'org/AWSLogs/' }, { Name: 'suffix', Value: '.log.gz' }] } },
      }],
    });
  });

  it("outputs the bucket key's policy statement: decrypt for the loader, through S3 in this region only", () => {
    const synth = variants.centralBucket!;
    const statement = output(synth, 'LogBucketKeyPolicyStatement') as Statement;
    const decrypt = (arn: string, via: string): Request => ({ principal: { arn }, action: 'kms:Decrypt', resource: BUCKET_KEY, context: { 'kms:ViaService': via } });
    expect(evaluate([statement], decrypt(loaderRoleArn(synth), 's3.eu-west-1.amazonaws.com'))).toBe('Allow');
    expect(evaluate([statement], decrypt(loaderRoleArn(synth), 'sqs.eu-west-1.amazonaws.com'))).toBe('ImplicitDeny');
    // No key: no key statement (SSE-S3 objects).
    expect(variants.centralDomain!.json.Outputs?.LogBucketKeyPolicyStatement).toBeUndefined();
  });

  it('a bucket owner account or key needs an existing bucket, and must be well-formed', () => {
    expect(() => synthesize({ logBucketAccount: BUCKET_OWNER }, { bundle: false })).toThrow(/applies to an existing log bucket/);
    expect(() => synthesize({ logBucketName: 'b-logs', logBucketAccount: '4444' }, { bundle: false })).toThrow(/logBucketAccount must be a 12-digit AWS account id/);
    expect(() => synthesize({ logBucketName: 'b-logs', logBucketKmsKeyArn: 'alias/logs' }, { bundle: false })).toThrow(/logBucketKmsKeyArn must be the ARN of a KMS key/);
  });
});

describe('OpenSearch domain in another account', () => {
  it('Firehose takes the endpoint when deployed outside the domain account, the ARN inside it (decided by CloudFormation)', () => {
    const { json } = variants.centralDomain!;
    expect((json as any).Conditions.DomainInThisAccount).toEqual({ 'Fn::Equals': [{ Ref: 'AWS::AccountId' }, DOMAIN_OWNER] });
    const destination = findResource(json, 'AWS::KinesisFirehose::DeliveryStream').resource.Properties.AmazonopensearchserviceDestinationConfiguration;
    expect(destination.DomainARN).toEqual({ 'Fn::If': ['DomainInThisAccount', DOMAIN_ARN, { Ref: 'AWS::NoValue' }] });
    expect(destination.ClusterEndpoint).toEqual({ 'Fn::If': ['DomainInThisAccount', { Ref: 'AWS::NoValue' }, `https://${DOMAIN_ENDPOINT}`] });
  });

  it('its roles are named for the owner to allow and map, and act on its ARN', () => {
    const { json } = variants.centralDomain!;
    const names = Object.values(json.Resources).filter((r) => r.Type === 'AWS::IAM::Role').map((r) => r.Properties.RoleName).filter(Boolean).sort();
    expect(names).toEqual(['WebLogs-backfill', 'WebLogs-firehose', 'WebLogs-replayer', 'WebLogs-templates']);
    const write = Object.values(json.Resources).filter((r) => r.Type === 'AWS::IAM::Policy')
      .flatMap((r) => r.Properties.PolicyDocument.Statement).find((s: any) => s.Sid === 'DomainWrite');
    expect(write.Resource).toEqual([DOMAIN_ARN, `${DOMAIN_ARN}/*`]);
  });

  it('domain alarms exist only when deployed into the domain account (its metrics are there); the others always', () => {
    const { json } = variants.centralDomain!;
    const alarms = Object.values(json.Resources).filter((r) => r.Type === 'AWS::CloudWatch::Alarm') as Array<{ Properties: any; Condition?: string }>;
    const domainAlarms = alarms.filter((a) => a.Properties.Namespace === 'AWS/ES');
    expect(domainAlarms.map((a) => a.Properties.MetricName)).toContain('ClusterStatus.red');
    for (const alarm of domainAlarms) expect(alarm.Condition).toBe('DomainInThisAccount');
    const others = alarms.filter((a) => a.Properties.Namespace !== 'AWS/ES');
    expect(others.length).toBeGreaterThan(3);
    for (const alarm of others) expect(alarm.Condition).toBeUndefined();
    Annotations.fromStack(variants.centralDomain!.stack).hasInfo('/Albatross', Match.stringLikeRegexp(`The domain is in account ${DOMAIN_OWNER}`));
  });

  it('a domain given by endpoint alone is this account\'s: ARN only, no condition', () => {
    const { json } = variants.defaults!;
    expect((json as any).Conditions?.DomainInThisAccount).toBeUndefined();
    const existing = synthesize({ domainEndpoint: DOMAIN_ENDPOINT, logTypes: 'access', freeStorageThresholdMiB: '2048' }, { bundle: false });
    try {
      const destination = findResource(existing.json, 'AWS::KinesisFirehose::DeliveryStream').resource.Properties.AmazonopensearchserviceDestinationConfiguration;
      expect(destination.ClusterEndpoint).toBeUndefined();
      expect(JSON.stringify(destination.DomainARN)).toContain(':domain/search-central');
    } finally {
      existing.cleanup();
    }
  });

  it('a VPC domain in another account is refused with the alternative', () => {
    expect(() => synthesize({ domainEndpoint: 'vpc-central-abc123xyz.eu-west-1.es.amazonaws.com', domainArn: DOMAIN_ARN }, { bundle: false }))
      .toThrow(/cannot take deliveries from another account.*deploy Albatross in the domain's account/);
    expect(() => synthesize({ domainEndpoint: DOMAIN_ENDPOINT, domainArn: 'arn:aws:es:eu-west-1:7777:domain/central' }, { bundle: false }))
      .toThrow(/existingDomainArn must be an OpenSearch domain ARN/);
  });
});

/**
 * Grants to AWS services that carry no aws:SourceAccount / aws:SourceArn condition, each with the reason. Anything
 * else without one fails the audit below.
 */
const UNSCOPED_SERVICE_GRANTS: Array<{ kind: ServiceGrant['kind']; service: string; reason: string }> = [
  {
    kind: 'resource', service: 'logdelivery.elasticloadbalancing.amazonaws.com',
    reason: 'ALB log delivery into a bucket the stack creates: the statement admits only AWSLogs/<this account>/, and AWS documents this principal without condition keys; a key it does not send would silently stop log delivery',
  },
  {
    kind: 'resource', service: 'logs.eu-west-1.amazonaws.com',
    reason: 'the stack key for log groups: CloudWatch Logs is scoped by kms:EncryptionContext:aws:logs:arn (log groups of this account and region), as its KMS documentation shows; checked below',
  },
  {
    kind: 'resource', service: 'logs.us-east-1.amazonaws.com',
    reason: 'as logs.eu-west-1.amazonaws.com, in the us-east-1 variant',
  },
  {
    kind: 'trust', service: 'lambda.amazonaws.com',
    reason: 'execution roles: Lambda assumes a role only for a function created with it, which needs iam:PassRole in this account; Lambda documents no confused-deputy keys for execution roles',
  },
  {
    kind: 'trust', service: 'opensearchservice.amazonaws.com',
    reason: 'the Cognito configuration role: OpenSearch Service assumes it for the domain configured with it (iam:PassRole in this account); a condition key it does not send would break Dashboards sign-in, unverifiable without an account',
  },
  {
    kind: 'trust', service: 'es.amazonaws.com',
    reason: 'as opensearchservice.amazonaws.com (the same service\'s older principal)',
  },
];

describe('confused-deputy audit: every grant to an AWS service names the account or resource it acts for', () => {
  const unscoped = (grant: ServiceGrant) =>
    !grant.conditionKeys.some((key) => (SOURCE_KEYS as readonly string[]).includes(key) || (grant.kind === 'trust' && key === 'sts:externalid'));
  const excepted = (grant: ServiceGrant) =>
    grant.services.every((service) => UNSCOPED_SERVICE_GRANTS.some((e) => e.kind === grant.kind && e.service === service));

  it('finds an unscoped grant when there is one (the audit can fail)', () => {
    const template = { Resources: { Topic: { Type: 'AWS::SNS::TopicPolicy', Properties: { PolicyDocument: { Statement: [
      { Effect: 'Allow', Principal: { Service: 'events.amazonaws.com' }, Action: 'sns:Publish', Resource: '*' },
      { Effect: 'Allow', Principal: { Service: 'events.amazonaws.com' }, Action: 'sns:Publish', Resource: '*', Condition: { ArnLike: { 'aws:SourceArn': 'arn:aws:events:*:111122223333:rule/*' } } },
    ] } } } } };
    expect(serviceGrants(template).filter(unscoped)).toEqual([{ resource: 'Topic', kind: 'resource', services: ['events.amazonaws.com'], conditionKeys: [] }]);
  });

  it.each(['centralBucket', 'centralDomain', 'defaults', 'production'])('%s: no unscoped grant but the listed exceptions', (name) => {
    const grants = serviceGrants(variants[name]!.json);
    expect(grants.length).toBeGreaterThan(5);
    expect(grants.filter((grant) => unscoped(grant) && !excepted(grant))).toEqual([]);
  });

  it('every exception occurs in some variant and states its reason; the logs key statement has its encryption-context scope', () => {
    const grants = Object.values(variants).flatMap((synth) => serviceGrants(synth.json));
    for (const exception of UNSCOPED_SERVICE_GRANTS) {
      expect(grants.some((g) => g.kind === exception.kind && g.services.includes(exception.service)), exception.service).toBe(true);
      expect(exception.reason.length).toBeGreaterThan(40);
    }
    const logsKey = grants.filter((g) => g.services.some((s) => /^logs\./.test(s)));
    expect(logsKey.length).toBeGreaterThan(0);
    for (const grant of logsKey) expect(grant.conditionKeys).toContain('kms:encryptioncontext:aws:logs:arn');
  });

  it('OpenSearch publishes only into its log groups, for domains of this account and region', () => {
    const { json } = variants.defaults!;
    const policy = findResource(json, 'AWS::Logs::ResourcePolicy').resource.Properties;
    const statements = JSON.parse(resolveIntrinsics(policy.PolicyDocument, {
      'AWS::AccountId': STACK_ACCOUNT, 'AWS::Region': 'eu-west-1', 'AWS::Partition': 'aws',
      ...Object.fromEntries(logicalIds(json, 'AWS::Logs::LogGroup').map((id) => [`${id}.Arn`, `arn:aws:logs:eu-west-1:${STACK_ACCOUNT}:log-group:${id}:*`])),
    }) as string).Statement as Statement[];
    const put = (account: string, domain: string): Request => ({
      principal: { service: 'es.amazonaws.com' }, action: 'logs:PutLogEvents',
      resource: `arn:aws:logs:eu-west-1:${STACK_ACCOUNT}:log-group:${logicalIds(json, 'AWS::Logs::LogGroup').find((id) => id.includes('AuditLogs'))}:*`,
      context: { 'aws:SourceAccount': account, 'aws:SourceArn': domain },
    });
    expect(evaluate(statements, put(STACK_ACCOUNT, `arn:aws:es:eu-west-1:${STACK_ACCOUNT}:domain/albatross`))).toBe('Allow');
    expect(evaluate(statements, put('999988887777', 'arn:aws:es:eu-west-1:999988887777:domain/albatross'))).toBe('ImplicitDeny');
    expect(evaluate(statements, put(STACK_ACCOUNT, `arn:aws:es:us-east-1:${STACK_ACCOUNT}:domain/albatross`))).toBe('ImplicitDeny');
    // CDK's own log policy (no conditions) is gone.
    expect(logicalIds(json, 'Custom::CloudwatchLogResourcePolicy')).toEqual([]);
  });
});
