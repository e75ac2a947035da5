// The evaluator itself, on hand-written policies whose outcome the AWS documentation states.
import { describe, expect, it } from 'vitest';
import { evaluate, resolveIntrinsics, wildcardMatch, type Request, type Statement } from './policy-eval.ts';

const TOPIC = 'arn:aws:sns:eu-west-1:111122223333:alarms';
const publish = (context: Request['context'], service = 'cloudwatch.amazonaws.com'): Request => ({
  principal: { service }, action: 'sns:Publish', resource: TOPIC, context,
});
const tlsOnly: Statement = {
  Effect: 'Deny', Principal: '*', Action: 'sns:Publish', Resource: TOPIC, Condition: { Bool: { 'aws:SecureTransport': 'false' } },
};
const allowCloudWatch: Statement = {
  Effect: 'Allow', Principal: { Service: 'cloudwatch.amazonaws.com' }, Action: 'sns:Publish', Resource: TOPIC,
  Condition: { StringEquals: { 'aws:SourceAccount': '111122223333' }, ArnLike: { 'aws:SourceArn': 'arn:aws:cloudwatch:eu-west-1:111122223333:alarm:*' } },
};
const fromAlarm = { 'aws:SecureTransport': true, 'aws:SourceAccount': '111122223333', 'aws:SourceArn': 'arn:aws:cloudwatch:eu-west-1:111122223333:alarm:a:b' };

describe('evaluate', () => {
  it('a topic policy with only the TLS deny (what enforceSSL writes) allows nothing: CloudWatch is implicitly denied', () => {
    expect(evaluate([tlsOnly], publish(fromAlarm))).toBe('ImplicitDeny');
  });

  it('an Allow with matching principal, action, resource and conditions allows', () => {
    expect(evaluate([tlsOnly, allowCloudWatch], publish(fromAlarm))).toBe('Allow');
  });

  it('an explicit Deny beats the Allow', () => {
    expect(evaluate([allowCloudWatch, tlsOnly], publish({ ...fromAlarm, 'aws:SecureTransport': false }))).toBe('ExplicitDeny');
  });

  it('every condition must hold; a missing key fails a positive operator but passes IfExists and negated ones', () => {
    expect(evaluate([allowCloudWatch], publish({ ...fromAlarm, 'aws:SourceAccount': '999988887777' }))).toBe('ImplicitDeny');
    const { 'aws:SourceArn': _arn, ...noArn } = fromAlarm;
    expect(evaluate([allowCloudWatch], publish(noArn))).toBe('ImplicitDeny');
    const ifExists: Statement = { ...allowCloudWatch, Condition: { StringEqualsIfExists: { 'aws:SourceAccount': '111122223333' } } };
    expect(evaluate([ifExists], publish({}))).toBe('Allow');
    const negated: Statement = { ...allowCloudWatch, Condition: { StringNotEquals: { 'aws:SourceAccount': '999988887777' } } };
    expect(evaluate([negated], publish({}))).toBe('Allow');
    // Condition keys are case-insensitive.
    expect(evaluate([allowCloudWatch], publish({ 'AWS:SourceAccount': '111122223333', 'aws:sourcearn': fromAlarm['aws:SourceArn'] }))).toBe('Allow');
  });

  it('ArnLike matches the six ARN parts separately', () => {
    expect(evaluate([allowCloudWatch], publish({ ...fromAlarm, 'aws:SourceArn': 'arn:aws:cloudwatch:us-east-1:111122223333:alarm:x' }))).toBe('ImplicitDeny');
    expect(evaluate([allowCloudWatch], publish({ ...fromAlarm, 'aws:SourceArn': 'arn:aws:cloudwatch:eu-west-1:111122223333:dashboard/x' }))).toBe('ImplicitDeny');
    expect(evaluate([allowCloudWatch], publish({ ...fromAlarm, 'aws:SourceArn': 'not-an-arn' }))).toBe('ImplicitDeny');
  });

  it('principal, action and resource must match', () => {
    expect(evaluate([allowCloudWatch], publish(fromAlarm, 'events.amazonaws.com'))).toBe('ImplicitDeny');
    expect(evaluate([allowCloudWatch], { ...publish(fromAlarm), action: 'sns:Subscribe' })).toBe('ImplicitDeny');
    expect(evaluate([allowCloudWatch], { ...publish(fromAlarm), resource: `${TOPIC}-other` })).toBe('ImplicitDeny');
    const root: Statement = { Effect: 'Allow', Principal: { AWS: 'arn:aws:iam::111122223333:root' }, Action: 'kms:*', Resource: '*' };
    expect(evaluate([root], { principal: { arn: 'arn:aws:iam::111122223333:role/x' }, action: 'kms:Decrypt', resource: 'k', context: {} })).toBe('Allow');
    expect(evaluate([root], { principal: { service: 'cloudwatch.amazonaws.com' }, action: 'kms:Decrypt', resource: 'k', context: {} })).toBe('ImplicitDeny');
  });

  it('refuses what it cannot judge instead of guessing', () => {
    const unknown: Statement = { ...allowCloudWatch, Condition: { DateLessThan: { 'aws:CurrentTime': '2030-01-01' } } };
    expect(() => evaluate([unknown], publish(fromAlarm))).toThrow(/DateLessThan is not supported/);
    expect(() => resolveIntrinsics({ 'Fn::Sub': 'x' }, {})).toThrow(/Fn::Sub is not supported/);
    expect(() => resolveIntrinsics({ Ref: 'Missing' }, {})).toThrow(/no value for Missing/);
  });

  it('wildcards: * any run, ? one character', () => {
    expect(wildcardMatch('kms:GenerateDataKey*', 'kms:GenerateDataKey')).toBe(true);
    expect(wildcardMatch('kms:GenerateDataKey*', 'kms:GenerateDataKeyWithoutPlaintext')).toBe(true);
    expect(wildcardMatch('a?c', 'abc')).toBe(true);
    expect(wildcardMatch('a?c', 'abbc')).toBe(false);
    expect(resolveIntrinsics({ 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':x']] }, { 'AWS::Partition': 'aws' })).toBe('arn:aws:x');
  });
});
