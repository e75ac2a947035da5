// The policy scanner used by the stack tests must itself catch what it is meant to catch.
import { describe, expect, it } from 'vitest';
import { scanTemplate } from './policy-scan.ts';

const policy = (...Statement: unknown[]) => ({ Version: '2012-10-17', Statement });
const template = (Properties: unknown, Type = 'AWS::IAM::Policy') => ({ Resources: { R: { Type, Properties } } });

describe('scanTemplate', () => {
  it('accepts named principals and the TLS-only deny for "*"', () => {
    const result = scanTemplate(template({
      PolicyDocument: policy(
        { Effect: 'Allow', Principal: { AWS: 'arn:aws:iam::1:role/x' }, Action: 'es:ESHttpGet', Resource: '*' },
        { Effect: 'Deny', Principal: { AWS: '*' }, Action: 'sqs:*', Condition: { Bool: { 'aws:SecureTransport': 'false' } } },
      ),
    }));
    expect(result).toEqual({ documents: 1, violations: [] });
  });

  it.each([
    [{ Effect: 'Allow', Principal: '*', Action: 's3:GetObject' }, 'Principal "*"'],
    [{ Effect: 'Allow', Principal: { AWS: ['arn:aws:iam::1:root', '*'] }, Action: 's3:GetObject' }, 'Principal "*"'],
    [{ Effect: 'Deny', Principal: { AWS: '*' }, Action: 's3:*', Condition: { Bool: { 'aws:SecureTransport': 'false' }, IpAddress: { 'aws:SourceIp': '1.2.3.4' } } }, 'Principal "*"'],
    [{ Effect: 'Allow', Action: '*', Resource: 'arn:aws:s3:::b' }, 'Action "*"'],
    [{ Effect: 'Allow', Action: ['es:ESHttpGet', 'es:*'], Resource: '*' }, 'Action "es:*"'],
    [{ Effect: 'Allow', NotAction: 'iam:*', Resource: '*' }, 'Allow with NotAction'],
  ])('flags %o', (statement, problem) => {
    const { violations } = scanTemplate(template({ PolicyDocument: policy(statement) }));
    expect(violations.map((v) => v.problem)).toContain(problem);
  });

  it('finds policies embedded as JSON strings inside Fn::Join (the OpenSearch access-policy custom resource)', () => {
    const inner = JSON.stringify(policy({ Effect: 'Allow', Principal: { AWS: '*' }, Action: 'es:*', Resource: 'DOMAIN_ARN/*' }));
    const create = JSON.stringify({ action: 'updateDomainConfig', parameters: { AccessPolicies: inner } });
    const [before, after] = create.split('DOMAIN_ARN');
    const result = scanTemplate(template({ Create: { 'Fn::Join': ['', [before, { 'Fn::GetAtt': ['D', 'Arn'] }, after]] } }, 'Custom::OpenSearchAccessPolicy'));
    expect(result.documents).toBe(1);
    expect(result.violations.map((v) => v.problem).sort()).toEqual(['Action "es:*"', 'Principal "*"']);
  });

  it('flags Lambda permissions for anyone', () => {
    const { violations } = scanTemplate(template({ Action: 'lambda:InvokeFunction', Principal: '*', FunctionName: 'f' }, 'AWS::Lambda::Permission'));
    expect(violations.map((v) => v.problem)).toEqual(['Lambda permission for Principal "*"']);
  });
});
