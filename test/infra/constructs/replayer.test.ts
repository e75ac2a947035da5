// The replayer as synthesized by the real app (cdk-nag included): its schedule, least-privilege role,
// FGAC mapping through the templates custom resource, and alarms on the pipeline's alarm topic.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../../../infra/albatross-app.ts';
import { findResource, synthesize, type Synthesized } from '../synth.ts';

let synth: Synthesized;
beforeAll(() => {
  synth = synthesize({ alarmEmail: 'ops@example.com', region: 'eu-west-1', logTypes: 'access' }, { bundle: false });
}, 180_000);
afterAll(() => synth?.cleanup());

const arnOf = (id: string) => ({ 'Fn::GetAtt': [id, 'Arn'] });
const replayerFunction = () =>
  findResource(synth.json, 'AWS::Lambda::Function', (p) => typeof p.Description === 'string' && p.Description.startsWith('Albatross: replays documents'));
const replayerRoleId = () => findResource(synth.json, 'AWS::IAM::Role', (p) => p.Description?.startsWith('Albatross: replays documents')).id;

function roleStatements(roleId: string): any[] {
  return Object.values(synth.json.Resources)
    .filter((r) => r.Type === 'AWS::IAM::Policy' && r.Properties.Roles.some((role: any) => role.Ref === roleId))
    .flatMap((r) => r.Properties.PolicyDocument.Statement);
}

describe('Replayer', () => {
  it('passes cdk-nag with no unacknowledged finding', () => {
    const report = synth.validationReport.pluginReports[0]!;
    expect(report.conclusion).toBe('success');
    expect(report.violations ?? []).toEqual([]);
  });

  it('runs every 15 minutes by default, without EventBridge retries, and ends before the next run', () => {
    const fn = replayerFunction();
    const backup = findResource(synth.json, 'AWS::S3::Bucket', (_p, id) => id.includes('Backup'));
    const domain = findResource(synth.json, 'AWS::OpenSearchService::Domain');
    expect(fn.resource.Properties).toMatchObject({
      Timeout: 600,
      MemorySize: 1024,
      Role: arnOf(replayerRoleId()),
      Environment: { Variables: {
        ALBATROSS_OPENSEARCH_ENDPOINT: { 'Fn::GetAtt': [domain.id, 'DomainEndpoint'] },
        ALBATROSS_INDEX_PREFIX: 'alb-logs',
        ALBATROSS_BACKUP_BUCKET: { Ref: backup.id },
      } },
    });
    const rule = findResource(synth.json, 'AWS::Events::Rule');
    expect(rule.resource.Properties).toMatchObject({
      ScheduleExpression: 'rate(15 minutes)',
      State: 'ENABLED',
      Targets: [{ Arn: arnOf(fn.id), RetryPolicy: { MaximumRetryAttempts: 0 } }],
    });
    // Its FGAC mapping exists before it first runs.
    const templates = findResource(synth.json, 'Custom::AlbatrossTemplates');
    expect(rule.resource.DependsOn).toContain(templates.id);
    expect(fn.resource.DependsOn).toContain(templates.id);
  });

  it('has exactly the rights it needs: list, read, rewrite and delete under the delivery-failure prefix, write under errors/replayed/, GET on _cluster/* and POST on _bulk', () => {
    const backup = findResource(synth.json, 'AWS::S3::Bucket', (_p, id) => id.includes('Backup')).id;
    const domain = findResource(synth.json, 'AWS::OpenSearchService::Domain').id;
    const objects = (prefix: string) => ({ 'Fn::Join': ['', [arnOf(backup), `/${prefix}`]] });
    const statements = roleStatements(replayerRoleId()).filter((s) => s.Sid !== undefined);
    expect(statements).toEqual([
      { Sid: 'ListDeliveryFailures', Effect: 'Allow', Action: 's3:ListBucket', Resource: arnOf(backup), Condition: { StringLike: { 's3:prefix': ['errors/AmazonOpenSearchService-failed/*'] } } },
      { Sid: 'ReplayDeliveryFailures', Effect: 'Allow', Action: ['s3:GetObject', 's3:PutObject', 's3:DeleteObject'], Resource: objects('errors/AmazonOpenSearchService-failed/*') },
      { Sid: 'MoveAsideReplayed', Effect: 'Allow', Action: 's3:PutObject', Resource: objects('errors/replayed/*') },
      { Sid: 'ReadClusterHealth', Effect: 'Allow', Action: 'es:ESHttpGet', Resource: { 'Fn::Join': ['', [arnOf(domain), '/_cluster/*']] } },
      { Sid: 'IndexDocuments', Effect: 'Allow', Action: 'es:ESHttpPost', Resource: { 'Fn::Join': ['', [arnOf(domain), '/_bulk']] } },
    ]);
    // The rest: writing its own log group.
    const others = roleStatements(replayerRoleId()).filter((s) => s.Sid === undefined);
    expect(others.map((s) => s.Action)).toEqual([['logs:CreateLogStream', 'logs:PutLogEvents']]);
  });

  it('is mapped in FGAC like the Firehose role, through the templates custom resource', () => {
    const templates = findResource(synth.json, 'Custom::AlbatrossTemplates');
    expect(templates.resource.Properties.ReplayerRoleArn).toEqual(arnOf(replayerRoleId()));
  });

  it('alarms on the pipeline alarm topic when documents stay unreplayed and when a run fails', () => {
    const topic = findResource(synth.json, 'AWS::SNS::Topic').id;
    const alarms = Object.values(synth.json.Resources).filter((r) => r.Type === 'AWS::CloudWatch::Alarm').map((r) => r.Properties);
    const notReplayed = alarms.find((a) => a.Metrics?.some((m: any) => m.MetricStat?.Metric.MetricName === 'ReplayDocumentsFailed'));
    expect(notReplayed).toMatchObject({ Threshold: 0, ComparisonOperator: 'GreaterThanThreshold', TreatMissingData: 'notBreaching', AlarmActions: [{ Ref: topic }] });
    const metricNames = notReplayed.Metrics.filter((m: any) => m.MetricStat).map((m: any) => ({ name: m.MetricStat.Metric.MetricName, namespace: m.MetricStat.Metric.Namespace, dimensions: m.MetricStat.Metric.Dimensions, period: m.MetricStat.Period }));
    expect(metricNames).toEqual(['ReplayDocumentsFailed', 'ReplayObjectsFailed'].map((name) => ({ name, namespace: 'Albatross', dimensions: [{ Name: 'service', Value: 'albatross-replayer' }], period: 900 })));
    const errors = alarms.find((a) => a.MetricName === 'Errors' && a.Dimensions?.[0]?.Value?.Ref === replayerFunction().id);
    expect(errors).toMatchObject({ Threshold: 0, Period: 900, AlarmActions: [{ Ref: topic }] });
  });

  it('takes its interval from the context, and refuses one it cannot keep', () => {
    const every30 = synthesize({ region: 'eu-west-1', replayIntervalMinutes: 30, logTypes: 'access' }, { bundle: false });
    try {
      expect(findResource(every30.json, 'AWS::Events::Rule').resource.Properties.ScheduleExpression).toBe('rate(30 minutes)');
    } finally {
      every30.cleanup();
    }
    expect(() => createApp({ context: { region: 'eu-west-1', replayIntervalMinutes: 2, 'aws:cdk:bundling-stacks': [] } })).toThrow(/replay interval must be whole minutes between 5 and 1440, got 2/);
  }, 120_000);
});
