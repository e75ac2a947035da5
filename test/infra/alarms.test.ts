// Alarms of the default deployment: which ones exist, and whether CloudWatch may actually deliver their
// notifications. The topic and key policies are evaluated as AWS would for one alarm action (policy-eval.ts),
// not searched for strings. Bundling is skipped (stack.test.ts covers it); cdk-nag runs.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Annotations, Match } from 'aws-cdk-lib/assertions';
import { findResource, synthesize, type Synthesized } from './synth.ts';
import { evaluate, resolveIntrinsics, type Request, type Statement } from './policy-eval.ts';
import type { Context, SQSEvent } from 'aws-lambda';
import { createLogger, createMetrics, SERVICE_NAMES } from '../../transform/observability.ts';
import { MemoryCheckpointStore } from '../../transform/loader/checkpoint.ts';
import { MemoryFailureSink } from '../../transform/loader/failures.ts';
import { createHandler } from '../../transform/loader/handler.ts';
import { LOADER_ALARM_METRICS } from '../../infra/constructs/pipeline-alarms.ts';
import type { S3EventNotification } from '../../scripts/local/s3-server.ts';
import { STREAM, accessLogKey, gzipText, logLines, startStandIns } from '../transform/loader/harness.ts';

const ACCOUNT = '111122223333';
const REGION = 'eu-west-1';
let synth: Synthesized;
let silent: Synthesized;

beforeAll(() => {
  synth = synthesize({ alarmEmail: 'ops@example.com', region: REGION, logTypes: 'access' }, { bundle: false });
  silent = synthesize({ region: REGION, heartbeatHours: 'off', logTypes: 'access' }, { bundle: false });
}, 120_000);
afterAll(() => {
  synth?.cleanup();
  silent?.cleanup();
});

type Alarm = { id: string; properties: any };
const alarmsOf = (s: Synthesized): Alarm[] =>
  Object.entries(s.json.Resources).filter(([, r]) => r.Type === 'AWS::CloudWatch::Alarm').map(([id, r]) => ({ id, properties: r.Properties }));
const byMetric = (name: string): any => {
  // the pipeline's alarms (the backfill's own DLQ alarm: test/infra/constructs/backfill.test.ts)
  const found = alarmsOf(synth).filter((a) => a.properties.MetricName === name && !a.id.startsWith('Backfill'));
  expect(found, name).toHaveLength(1);
  return found[0]!.properties;
};

describe('alarm delivery (C-1): the topic and key policies, evaluated for one alarm action', () => {
  let topicArn: string;
  let keyArn: string;
  let topicStatements: Statement[];
  let keyStatements: Statement[];

  beforeAll(() => {
    const topic = findResource(synth.json, 'AWS::SNS::Topic');
    const key = findResource(synth.json, 'AWS::KMS::Key');
    topicArn = `arn:aws:sns:${REGION}:${ACCOUNT}:Albatross-AlarmsTopic-ABC123`;
    keyArn = `arn:aws:kms:${REGION}:${ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab`;
    const values = { 'AWS::AccountId': ACCOUNT, 'AWS::Region': REGION, 'AWS::Partition': 'aws', [topic.id]: topicArn, [`${key.id}.Arn`]: keyArn };
    const policies = Object.values(synth.json.Resources).filter((r) => r.Type === 'AWS::SNS::TopicPolicy' && r.Properties.Topics.some((t: any) => t.Ref === topic.id));
    expect(policies).toHaveLength(1);
    topicStatements = resolveIntrinsics(policies[0]!.Properties.PolicyDocument.Statement, values) as Statement[];
    expect(topic.resource.Properties.KmsMasterKeyId).toEqual({ 'Fn::GetAtt': [key.id, 'Arn'] });
    keyStatements = resolveIntrinsics(key.resource.Properties.KeyPolicy.Statement, values) as Statement[];
  });

  const alarmArn = (name: string, account = ACCOUNT, region = REGION) => `arn:aws:cloudwatch:${region}:${account}:alarm:${name}`;
  const fromAlarm = (overrides: Record<string, string | boolean> = {}) => ({
    'aws:SourceAccount': ACCOUNT,
    'aws:SourceArn': alarmArn('Albatross-AlarmsDeadLetterQueueNotEmptyA1B2C3-XYZ'),
    'aws:SecureTransport': true,
    ...overrides,
  });
  const publish = (context: Request['context'], service = 'cloudwatch.amazonaws.com'): Request =>
    ({ principal: { service }, action: 'sns:Publish', resource: topicArn, context });
  const useKey = (action: string, context: Request['context']): Request =>
    ({ principal: { service: 'cloudwatch.amazonaws.com' }, action, resource: keyArn, context });

  it('CloudWatch may publish for an alarm of this account and region over TLS, and use the key to encrypt the message', () => {
    expect(evaluate(topicStatements, publish(fromAlarm()))).toBe('Allow');
    for (const action of ['kms:GenerateDataKey', 'kms:Decrypt']) expect(evaluate(keyStatements, useKey(action, fromAlarm())), action).toBe('Allow');
  });

  it('every alarm of the stack notifies that topic, and its ARN is one the policies admit', () => {
    const topic = findResource(synth.json, 'AWS::SNS::Topic');
    for (const { id, properties } of alarmsOf(synth)) {
      expect(properties.AlarmActions, id).toEqual([{ Ref: topic.id }]);
      // CloudFormation names alarms <stack>-<logical id>-<suffix>.
      const context = fromAlarm({ 'aws:SourceArn': alarmArn(`Albatross-${id}-1A2B3C4D5E6F`) });
      expect(evaluate(topicStatements, publish(context)), id).toBe('Allow');
      expect(evaluate(keyStatements, useKey('kms:GenerateDataKey', context)), id).toBe('Allow');
    }
  });

  it('denies publishing over plain HTTP (explicit Deny beats the Allow)', () => {
    expect(evaluate(topicStatements, publish(fromAlarm({ 'aws:SecureTransport': false })))).toBe('ExplicitDeny');
  });

  it('denies an alarm of another account, or of another region, on the topic and on the key (confused deputy)', () => {
    const other = fromAlarm({ 'aws:SourceAccount': '999988887777', 'aws:SourceArn': alarmArn('x', '999988887777') });
    expect(evaluate(topicStatements, publish(other))).not.toBe('Allow');
    expect(evaluate(keyStatements, useKey('kms:GenerateDataKey', other))).not.toBe('Allow');
    // Another account's alarm claiming this account: the ARN still gives it away.
    const claimed = fromAlarm({ 'aws:SourceArn': alarmArn('x', '999988887777') });
    expect(evaluate(topicStatements, publish(claimed))).not.toBe('Allow');
    const elsewhere = fromAlarm({ 'aws:SourceArn': alarmArn('x', ACCOUNT, 'us-east-1') });
    expect(evaluate(topicStatements, publish(elsewhere))).not.toBe('Allow');
    expect(evaluate(keyStatements, useKey('kms:Decrypt', elsewhere))).not.toBe('Allow');
  });

  it('denies other services and requests without the source keys', () => {
    expect(evaluate(topicStatements, publish(fromAlarm(), 'events.amazonaws.com'))).not.toBe('Allow');
    expect(evaluate(keyStatements, { ...useKey('kms:Decrypt', fromAlarm()), principal: { service: 'events.amazonaws.com' } })).not.toBe('Allow');
    expect(evaluate(topicStatements, publish({ 'aws:SecureTransport': true }))).not.toBe('Allow');
    expect(evaluate(keyStatements, useKey('kms:Decrypt', { 'aws:SecureTransport': true }))).not.toBe('Allow');
    // CloudWatch may not do anything else with the key.
    expect(evaluate(keyStatements, useKey('kms:ScheduleKeyDeletion', fromAlarm()))).not.toBe('Allow');
  });
});

describe('alarm set (H-1, H-5, L-14)', () => {
  it('main queue: the oldest message waiting an hour or more, for 15 minutes', () => {
    const queue = findResource(synth.json, 'AWS::SQS::Queue', (p, id) => p.RedrivePolicy !== undefined && !id.startsWith('Backfill'));
    expect(byMetric('ApproximateAgeOfOldestMessage')).toMatchObject({
      Namespace: 'AWS/SQS', Statistic: 'Maximum', Threshold: 3600, ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      EvaluationPeriods: 3, DatapointsToAlarm: 3, Dimensions: [{ Name: 'QueueName', Value: { 'Fn::GetAtt': [queue.id, 'QueueName'] } }],
    });
  });

  it('DLQ alarm text names the configured receive count', () => {
    expect(byMetric('ApproximateNumberOfMessagesVisible').AlarmDescription).toMatch(/failed 15 times/);
    const backfill = alarmsOf(synth).find((a) => a.id.startsWith('BackfillBackfillDeadLetterQueueNotEmpty'));
    expect(backfill?.properties.AlarmDescription).toMatch(/backfill object failed 15 times/);
  });

  it('heartbeat: no incoming record for 6 hours, missing data breaching; off disables it', () => {
    const stream = findResource(synth.json, 'AWS::KinesisFirehose::DeliveryStream');
    expect(byMetric('IncomingRecords')).toMatchObject({
      Namespace: 'AWS/Firehose', Statistic: 'Sum', Period: 6 * 3600, EvaluationPeriods: 1, Threshold: 1,
      ComparisonOperator: 'LessThanThreshold', TreatMissingData: 'breaching',
      Dimensions: [{ Name: 'DeliveryStreamName', Value: { Ref: stream.id } }],
    });
    expect(alarmsOf(silent).filter((a) => a.properties.MetricName === 'IncomingRecords')).toEqual([]);
    for (const { properties } of alarmsOf(synth).filter((a) => a.properties.MetricName !== 'IncomingRecords')) {
      expect(properties.TreatMissingData, properties.MetricName).toBe('notBreaching');
    }
  });

  it('Firehose: delivery success under 99 % for 3 periods (not a single Minimum), data freshness, S3 backup delivery, throttling', () => {
    expect(byMetric('DeliveryToAmazonOpenSearchService.Success')).toMatchObject({
      Statistic: 'Average', Threshold: 0.99, ComparisonOperator: 'LessThanThreshold', EvaluationPeriods: 3, DatapointsToAlarm: 3,
    });
    // Buffer interval (60 s) + 15 minutes.
    expect(byMetric('DeliveryToAmazonOpenSearchService.DataFreshness')).toMatchObject({ Statistic: 'Maximum', Threshold: 960, ComparisonOperator: 'GreaterThanThreshold' });
    expect(byMetric('DeliveryToS3.Success')).toMatchObject({ Namespace: 'AWS/Firehose', Statistic: 'Average', Threshold: 1, ComparisonOperator: 'LessThanThreshold', EvaluationPeriods: 3 });
    expect(byMetric('ThrottledRecords')).toMatchObject({ Namespace: 'AWS/Firehose', Statistic: 'Sum', Threshold: 0, EvaluationPeriods: 3 });
    expect(byMetric('ExecuteProcessing.Success')).toMatchObject({ Threshold: 1, ComparisonOperator: 'LessThanThreshold' });
  });

  it("the loader's EMF metrics: objects failed, failed lines, sustained throttles (namespace Albatross, service dimension)", () => {
    for (const name of ['ObjectsFailed', 'FailedLines', 'Throttles']) {
      const alarm = alarmsOf(synth).find((a) => a.properties.MetricName === name && a.properties.Namespace === 'Albatross');
      expect(alarm, name).toBeDefined();
      expect(alarm!.properties).toMatchObject({ Statistic: 'Sum', Threshold: 0, ComparisonOperator: 'GreaterThanThreshold', Dimensions: [{ Name: 'service', Value: 'albatross-loader' }] });
    }
    expect(alarmsOf(synth).find((a) => a.properties.MetricName === 'Throttles' && a.properties.Namespace === 'Albatross')!.properties.EvaluationPeriods).toBe(3);
    expect(byMetric('RecordsProcessingFailed')).toMatchObject({ Namespace: 'Albatross', Dimensions: [{ Name: 'service', Value: 'albatross-transform' }] });
    expect(alarmsOf(synth).filter((a) => a.properties.Namespace === 'AWS/Lambda').map((a) => a.properties.MetricName).sort()).toEqual(['Errors', 'Errors', 'Errors', 'Throttles', 'Throttles']); // loader, transform, replayer
  });

  it("AWS's recommended OpenSearch Service alarms, with AWS's thresholds", () => {
    const domain = findResource(synth.json, 'AWS::OpenSearchService::Domain');
    const expected: Record<string, object> = {
      'ClusterStatus.red': { Statistic: 'Maximum', Period: 60, Threshold: 1, EvaluationPeriods: 1 },
      'ClusterStatus.yellow': { Statistic: 'Maximum', Period: 60, Threshold: 1, EvaluationPeriods: 5 },
      ClusterIndexWritesBlocked: { Statistic: 'Maximum', Period: 300, Threshold: 1, EvaluationPeriods: 1 },
      JVMMemoryPressure: { Statistic: 'Maximum', Period: 60, Threshold: 95, EvaluationPeriods: 3 },
      CPUUtilization: { Statistic: 'Maximum', Period: 900, Threshold: 80, EvaluationPeriods: 3 },
      AutomatedSnapshotFailure: { Statistic: 'Maximum', Period: 60, Threshold: 1 },
      KMSKeyError: { Statistic: 'Maximum', Threshold: 1 },
      KMSKeyInaccessible: { Statistic: 'Maximum', Threshold: 1 },
    };
    for (const [metric, shape] of Object.entries(expected)) {
      const alarm = byMetric(metric);
      expect(alarm, metric).toMatchObject({ Namespace: 'AWS/ES', ComparisonOperator: 'GreaterThanOrEqualToThreshold', ...shape });
      expect(alarm.Dimensions).toContainEqual({ Name: 'DomainName', Value: { Ref: domain.id } });
      expect(alarm.Dimensions).toContainEqual({ Name: 'ClientId', Value: { Ref: 'AWS::AccountId' } });
    }
    // 25 % of the 10 GiB volume, in MiB, on the emptiest node.
    expect(byMetric('FreeStorageSpace')).toMatchObject({ Namespace: 'AWS/ES', Statistic: 'Minimum', Threshold: 2560, ComparisonOperator: 'LessThanOrEqualToThreshold' });
    // No dedicated masters by default: no master alarms.
    expect(alarmsOf(synth).filter((a) => String(a.properties.MetricName).startsWith('Master'))).toEqual([]);
  });

  it('every alarm has a runbook line in docs/deploy.md (what it means, what to do)', () => {
    const docs = readFileSync(path.resolve(import.meta.dirname, '../../docs/deploy.md'), 'utf8');
    const names = synth.stack.alarms.alarms.map((alarm) => alarm.node.id);
    expect(names.length).toBeGreaterThanOrEqual(25);
    for (const name of [...names, 'MasterCPUUtilizationHigh', 'MasterJVMMemoryPressureHigh']) {
      const row = docs.split('\n').find((line) => line.startsWith('|') && line.includes(`\`${name}\``));
      expect(row, name).toBeDefined();
      // Alarm, fires when, what to do: three filled cells.
      expect(row!.split('|').filter((cell) => cell.trim().length > 0).length, name).toBeGreaterThanOrEqual(3);
    }
  });
});

describe("the loader alarms watch the metrics the real loader handler emits", () => {
  it('ObjectsFailed, FailedLines and Throttles: same namespace, metric names and dimensions as the alarms', async () => {
    const notifications: S3EventNotification[] = [];
    // Local S3 and Firehose stand-ins on loopback; Firehose throttles half the calls (seeded), so the loader retries.
    const env = await startStandIns({ faults: { throttleRate: 0.5, seed: 7 }, onObjectCreated: (n) => notifications.push(n) });
    const printed: string[] = [];
    const write = process.stdout.write;
    const writeError = process.stderr.write;
    try {
      // An object with a line over Firehose's 1,000 KiB record limit (recorded, not sent), and a truncated one.
      await env.put(accessLogKey('long-line'), gzipText([...logLines(1200), `${logLines(1)[0]} ${'x'.repeat(1_100_000)}`].join('\n') + '\n'));
      const truncated = gzipText(logLines(3000).join('\n') + '\n');
      await env.put(accessLogKey('truncated'), truncated.subarray(0, truncated.length >> 1));
      const handler = createHandler({
        s3: env.s3, firehose: env.firehose, deliveryStream: STREAM,
        checkpoints: new MemoryCheckpointStore(), failures: new MemoryFailureSink(),
        logger: createLogger(SERVICE_NAMES.loader), metrics: createMetrics(SERVICE_NAMES.loader),
        retry: { baseDelayMs: 1, maxDelayMs: 10, maxRetryTimeMs: 30_000 },
      });
      const event: SQSEvent = {
        Records: notifications.map((n, i) => ({
          messageId: `m${i}`, receiptHandle: `h${i}`, body: JSON.stringify(n), messageAttributes: {}, md5OfBody: '',
          attributes: { ApproximateReceiveCount: '1', SentTimestamp: '0', SenderId: 's3', ApproximateFirstReceiveTimestamp: '0' },
          eventSource: 'aws:sqs', eventSourceARN: 'arn:aws:sqs:us-east-2:123456789012:alb-logs', awsRegion: 'us-east-2',
        })),
      };
      // Powertools writes EMF metric lines to stdout, where CloudWatch Logs extracts them.
      process.stdout.write = ((chunk: string | Uint8Array) => { printed.push(String(chunk)); return true; }) as typeof process.stdout.write;
      // The error log of the truncated object is expected; keep it out of the test output.
      process.stderr.write = (() => true) as typeof process.stderr.write;
      await handler(event, { getRemainingTimeInMillis: () => 300_000 } as unknown as Context);
    } finally {
      process.stdout.write = write;
      process.stderr.write = writeError;
      await env.stop();
    }
    const emf = printed.join('').split('\n').filter((line) => line.includes('"CloudWatchMetrics"')).map((line) => JSON.parse(line));
    for (const name of Object.values(LOADER_ALARM_METRICS)) {
      const alarm = alarmsOf(synth).find((a) => a.properties.MetricName === name && a.properties.Namespace === 'Albatross')!.properties;
      const entries = emf.filter((e) => e._aws.CloudWatchMetrics.some((m: any) => m.Namespace === alarm.Namespace && m.Metrics.some((x: any) => x.Name === name)));
      expect(entries.length, `${name}: ${printed.join('').slice(0, 2000)}`).toBeGreaterThan(0);
      const total = entries.reduce((sum, e) => sum + [e[name]].flat().reduce((a: number, b: number) => a + b, 0), 0);
      expect(total, name).toBeGreaterThan(0);
      for (const entry of entries) {
        expect(entry._aws.CloudWatchMetrics[0].Dimensions).toEqual([alarm.Dimensions.map((d: any) => d.Name)]);
        for (const dimension of alarm.Dimensions) expect(entry[dimension.Name]).toBe(dimension.Value);
      }
    }
  }, 120_000);
});

describe('synth warnings (L-10)', () => {
  it('warns when no alarmEmail is set, and not otherwise', () => {
    Annotations.fromStack(silent.stack).hasWarning('/Albatross/Alarms', Match.stringLikeRegexp('No alarmEmail: the alarm topic has no subscriber'));
    Annotations.fromStack(synth.stack).hasNoWarning('/Albatross/Alarms', Match.stringLikeRegexp('No alarmEmail'));
  });
});
