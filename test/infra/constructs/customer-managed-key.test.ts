// Customer-managed key mode, on the synthesized template: every resource that stores data is under the stack's
// key except the two buckets AWS limits to SSE-S3, and every Lambda and Firehose role may use the key.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { synthesize, type Synthesized } from '../synth.ts';
import { scanTemplate } from '../policy-scan.ts';

const EXISTING_KEY = 'arn:aws:kms:eu-west-1:111122223333:key/0f1e2d3c-4b5a-6978-8899-aabbccddeeff';

let created: Synthesized;
let existing: Synthesized;

beforeAll(() => {
  created = synthesize({ kms: 'create', region: 'eu-west-1', logTypes: 'access' }, { bundle: false });
  existing = synthesize({ kmsKeyArn: EXISTING_KEY, region: 'eu-west-1', logTypes: 'access' }, { bundle: false });
}, 120_000);
afterAll(() => {
  created?.cleanup();
  existing?.cleanup();
});

type Resources = Synthesized['json']['Resources'];
const ofType = (resources: Resources, type: string) => Object.entries(resources).filter(([, r]) => r.Type === type);

/** What each data-holding resource is encrypted with, as a JSON string of the key reference (or the SSE kind). */
function encryptionOf(resources: Resources): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [id, r] of Object.entries(resources)) {
    const p = r.Properties ?? {};
    const key = (() => {
      switch (r.Type) {
        case 'AWS::S3::Bucket': {
          const sse = p.BucketEncryption.ServerSideEncryptionConfiguration[0].ServerSideEncryptionByDefault;
          return sse.SSEAlgorithm === 'aws:kms' ? sse.KMSMasterKeyID : sse.SSEAlgorithm;
        }
        case 'AWS::SQS::Queue': return p.KmsMasterKeyId ?? (p.SqsManagedSseEnabled ? 'SQS-managed' : 'none');
        case 'AWS::SNS::Topic': return p.KmsMasterKeyId ?? 'none';
        case 'AWS::Logs::LogGroup': return p.KmsKeyId ?? 'none';
        case 'AWS::DynamoDB::Table': return p.SSESpecification?.KMSMasterKeyId ?? 'AWS-managed';
        case 'AWS::KinesisFirehose::DeliveryStream': return p.DeliveryStreamEncryptionConfigurationInput?.KeyARN ?? p.DeliveryStreamEncryptionConfigurationInput?.KeyType;
        case 'AWS::OpenSearchService::Domain': return p.EncryptionAtRestOptions?.KmsKeyId ?? 'AWS-managed';
        case 'AWS::Lambda::Function': return p.KmsKeyArn ?? 'AWS-managed';
        default: return undefined;
      }
    })();
    if (key !== undefined) out[id] = JSON.stringify(key);
  }
  return out;
}

describe('kms=create', () => {
  it('passes cdk-nag and the policy scan', () => {
    const [report] = created.validationReport.pluginReports;
    expect(report!.violations ?? []).toEqual([]);
    expect(scanTemplate(created.json).violations).toEqual([]);
  });

  it('creates one rotated key and encrypts every bucket but the ALB log and access-log buckets, every queue, topic, log group, table, stream, domain and function with it', () => {
    const keys = ofType(created.json.Resources, 'AWS::KMS::Key').filter(([, r]) => /buckets, queues/.test(r.Properties.Description));
    expect(keys).toHaveLength(1);
    const [keyId, key] = keys[0]!;
    expect(key.Properties.EnableKeyRotation).toBe(true);
    const stackKey = JSON.stringify({ 'Fn::GetAtt': [keyId, 'Arn'] });
    const encryption = encryptionOf(created.json.Resources);
    const s3Only = ['AccessLogsBucket', 'LogSourceBucket'];
    for (const [id, value] of Object.entries(encryption)) {
      if (s3Only.some((prefix) => id.startsWith(prefix) && created.json.Resources[id]!.Type === 'AWS::S3::Bucket')) {
        expect(value, id).toBe('"AES256"');
      } else {
        expect(value, id).toBe(stackKey);
      }
    }
    // Every kind is there, so the loop above checked something of each.
    const kinds = new Set(Object.keys(encryption).map((id) => created.json.Resources[id]!.Type));
    expect([...kinds].sort()).toEqual([
      'AWS::DynamoDB::Table', 'AWS::KinesisFirehose::DeliveryStream', 'AWS::Lambda::Function', 'AWS::Logs::LogGroup',
      'AWS::OpenSearchService::Domain', 'AWS::S3::Bucket', 'AWS::SNS::Topic', 'AWS::SQS::Queue',
    ]);
    const stream = ofType(created.json.Resources, 'AWS::KinesisFirehose::DeliveryStream')[0]![1];
    expect(stream.Properties.DeliveryStreamEncryptionConfigurationInput.KeyType).toBe('CUSTOMER_MANAGED_CMK');
  });

  it('its policy lets CloudWatch Logs, S3 notifications and CloudWatch alarms use it, each scoped to this account', () => {
    const [, key] = ofType(created.json.Resources, 'AWS::KMS::Key').find(([, r]) => /buckets, queues/.test(r.Properties.Description))!;
    const bySid = Object.fromEntries(key.Properties.KeyPolicy.Statement.filter((s: any) => s.Sid).map((s: any) => [s.Sid, s]));
    expect(JSON.stringify(bySid.CloudWatchLogsLogGroups.Principal)).toContain('logs.eu-west-1.amazonaws.com');
    expect(JSON.stringify(bySid.CloudWatchLogsLogGroups.Condition)).toContain('kms:EncryptionContext:aws:logs:arn');
    for (const sid of ['S3EventNotifications', 'CloudWatchAlarmActions']) {
      expect(bySid[sid].Condition.StringEquals['aws:SourceAccount']).toEqual({ Ref: 'AWS::AccountId' });
      expect(bySid[sid].Condition.ArnLike['aws:SourceArn']).toBeDefined();
      expect(bySid[sid].Action).toEqual(['kms:GenerateDataKey', 'kms:Decrypt']);
    }
  });

  it('every role Lambda or Firehose assumes may use the key, with no wildcard action', () => {
    const serviceRoles = ofType(created.json.Resources, 'AWS::IAM::Role')
      .filter(([, r]) => /lambda\.amazonaws\.com|firehose\.amazonaws\.com/.test(JSON.stringify(r.Properties.AssumeRolePolicyDocument)))
      .map(([id]) => id);
    expect(serviceRoles.length).toBeGreaterThanOrEqual(4);
    const policies = ofType(created.json.Resources, 'AWS::IAM::Policy');
    for (const role of serviceRoles) {
      const statements = policies.filter(([, p]) => JSON.stringify(p.Properties.Roles).includes(`"${role}"`)).flatMap(([, p]) => p.Properties.PolicyDocument.Statement);
      const use = statements.find((s: any) => s.Sid === 'UseStackKey');
      expect(use, role).toMatchObject({ Effect: 'Allow', Action: ['kms:Decrypt', 'kms:Encrypt', 'kms:GenerateDataKey'] });
    }
  });
});

describe('kmsKeyArn=<existing key>', () => {
  it('creates no stack key and uses the given one everywhere the stack key would go', () => {
    expect(ofType(existing.json.Resources, 'AWS::KMS::Key').filter(([, r]) => /buckets, queues/.test(r.Properties.Description))).toEqual([]);
    const values = new Set(Object.entries(encryptionOf(existing.json.Resources)).filter(([id]) => !/^(AccessLogsBucket|LogSourceBucket)/.test(id)).map(([, v]) => v));
    expect([...values]).toEqual([JSON.stringify(EXISTING_KEY)]);
  });

  it('a malformed key ARN or both settings at once fail at synth', () => {
    expect(() => synthesize({ kmsKeyArn: 'alias/mine' }, { bundle: false })).toThrow(/kmsKeyArn must be the ARN of a KMS key/);
    expect(() => synthesize({ kms: 'create', kmsKeyArn: EXISTING_KEY }, { bundle: false })).toThrow(/alternatives/);
    expect(() => synthesize({ kms: 'yes' }, { bundle: false })).toThrow(/context kms must be "create"/);
  });
});
