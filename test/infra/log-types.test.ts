// One delivery stream per ALB log type (Firehose writes one index family per stream): by default three,
// each with its own transform configuration, templates, backup bucket and alarms; -c logTypes narrows them.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findResource, logicalIds, synthesize, type Synthesized } from './synth.ts';

let all: Synthesized;
let withoutAccess: Synthesized;
beforeAll(() => {
  all = synthesize({ region: 'eu-west-1' }, { bundle: false });
  withoutAccess = synthesize({ region: 'eu-west-1', logTypes: 'health,connection', connectionIndexPrefix: 'tls-logs' }, { bundle: false });
}, 180_000);
afterAll(() => {
  all?.cleanup();
  withoutAccess?.cleanup();
});

type Json = Synthesized['json'];
const streams = (json: Json) => logicalIds(json, 'AWS::KinesisFirehose::DeliveryStream').map((id) => ({ id, config: json.Resources[id]!.Properties.AmazonopensearchserviceDestinationConfiguration }));
const transformOf = (json: Json, config: any) => {
  const arn = config.ProcessingConfiguration.Processors[0].Parameters.find((p: any) => p.ParameterName === 'LambdaArn').ParameterValue;
  return json.Resources[arn['Fn::GetAtt'][0]]!.Properties;
};
const loaderEnvironment = (json: Json) =>
  findResource(json, 'AWS::Lambda::Function', (p) => String(p.Description).startsWith('Albatross: ALB log object')).resource.Properties.Environment.Variables;
const alarmsOn = (json: Json, metricName: string) =>
  Object.values(json.Resources).filter((r) => r.Type === 'AWS::CloudWatch::Alarm' && r.Properties.MetricName === metricName).map((r) => r.Properties.Dimensions);
function nagClean(synth: Synthesized): void {
  const [report] = synth.validationReport.pluginReports;
  expect(report!.violations ?? []).toEqual([]);
  expect(report!.conclusion).toBe('success');
}

describe('log types in the stack', () => {
  it('by default delivers three log types through three streams into alb-logs, alb-connection and alb-health', () => {
    const found = streams(all.json);
    expect(found.map((s) => s.config.IndexName).sort()).toEqual(['alb-connection', 'alb-health', 'alb-logs']);
    // the access-log stream keeps its construct path (no resource replaced on upgrade)
    expect(found.find((s) => s.config.IndexName === 'alb-logs')!.id).toMatch(/^DeliveryStream/);
    // each stream's transform parses its own type; the access one is configured as before
    expect(found.map((s) => [s.config.IndexName, transformOf(all.json, s.config).Environment.Variables.ALBATROSS_LOG_TYPE]).sort()).toEqual([
      ['alb-connection', 'connection'], ['alb-health', 'health'], ['alb-logs', undefined],
    ]);
    // each its own backup bucket and error prefixes, as the access stream
    expect(new Set(found.map((s) => JSON.stringify(s.config.S3Configuration.BucketARN))).size).toBe(3);
    for (const s of found) expect(s.config.S3Configuration.ErrorOutputPrefix).toBe('errors/!{firehose:error-output-type}/!{timestamp:yyyy/MM/dd}/');
    nagClean(all);
  });

  it('the loader names each stream in its own variable and may put records into the three only', () => {
    const environment = loaderEnvironment(all.json);
    for (const name of ['ALBATROSS_DELIVERY_STREAM', 'ALBATROSS_CONNECTION_DELIVERY_STREAM', 'ALBATROSS_HEALTH_DELIVERY_STREAM']) expect(environment[name]).toHaveProperty('Ref');
    const statements = Object.values(all.json.Resources)
      .filter((r) => r.Type === 'AWS::IAM::Policy')
      .flatMap((r) => r.Properties.PolicyDocument.Statement)
      .filter((s: any) => s.Action === 'firehose:PutRecordBatch');
    expect(statements).toHaveLength(1);
    expect(statements[0].Resource).toHaveLength(3);
  });

  it('installs templates for each family before any stream delivers, with its own Firehose role', () => {
    const resources = logicalIds(all.json, 'Custom::AlbatrossTemplates').map((id) => all.json.Resources[id]!.Properties);
    expect(resources.map((p) => [p.IndexPrefix, p.LogType]).sort()).toEqual([['alb-connection', 'connection'], ['alb-health', 'health'], ['alb-logs', undefined]]);
    expect(new Set(resources.map((p) => JSON.stringify(p.FirehoseRoleArn))).size).toBe(3);
    const templateIds = logicalIds(all.json, 'Custom::AlbatrossTemplates');
    for (const { id } of streams(all.json)) expect(all.json.Resources[id]!.DependsOn).toEqual(expect.arrayContaining(templateIds));
  });

  it('raises the same stream alarms for every stream: delivery, processing failures per transform service, invocation', () => {
    const names = (dimensions: any[][]) => dimensions.map((d) => JSON.stringify(d[0].Value)).sort();
    expect(alarmsOn(all.json, 'DeliveryToAmazonOpenSearchService.Success')).toHaveLength(3);
    expect(alarmsOn(all.json, 'ExecuteProcessing.Success')).toHaveLength(3);
    expect(new Set(names(alarmsOn(all.json, 'DeliveryToAmazonOpenSearchService.Success'))).size).toBe(3);
    expect(alarmsOn(all.json, 'RecordsProcessingFailed').map((d) => d[0].Value).sort()).toEqual(['albatross-transform', 'albatross-transform-connection', 'albatross-transform-health']);
    expect(alarmsOn(all.json, 'Errors')).toHaveLength(7);    // loader, three transforms, three replayers
    expect(alarmsOn(all.json, 'Throttles')).toHaveLength(5); // loader and three transforms (AWS/Lambda), the loader's send throttles (EMF)
  });

  it('gives every stream the access stream\'s Firehose alarms, on its own stream, with its type in the alarm id', () => {
    const firehoseMetrics = ['IncomingRecords', 'DeliveryToAmazonOpenSearchService.Success', 'DeliveryToAmazonOpenSearchService.DataFreshness',
      'DeliveryToS3.Success', 'ThrottledRecords', 'ExecuteProcessing.Success'];
    const alarms = Object.entries(all.json.Resources).filter(([, r]) => r.Type === 'AWS::CloudWatch::Alarm');
    const idPrefix: Record<string, string> = { 'alb-logs': '', 'alb-connection': 'Connection', 'alb-health': 'Health' };
    for (const stream of streams(all.json)) {
      const onStream = alarms.filter(([, r]) => r.Properties.Namespace === 'AWS/Firehose' && r.Properties.Dimensions?.[0]?.Value?.Ref === stream.id);
      // By default only access logs have a heartbeat (ALBs write the other two only where turned on).
      const expected = stream.config.IndexName === 'alb-logs' ? firehoseMetrics : firehoseMetrics.filter((m) => m !== 'IncomingRecords');
      expect(onStream.map(([, r]) => r.Properties.MetricName).sort(), stream.config.IndexName).toEqual([...expected].sort());
      for (const [, r] of onStream) expect(r.Properties.Dimensions).toEqual([{ Name: 'DeliveryStreamName', Value: { Ref: stream.id } }]);
      // the ids (and so the alarm names) say which stream: Alarms<Type><Alarm>
      const prefix = idPrefix[stream.config.IndexName]!;
      const ids = onStream.map(([id]) => id);
      for (const name of [...(prefix === '' ? ['NoIncomingRecords'] : []), 'DeliverySuccessLow', 'DeliveryDataStale', 'BackupDeliveryFailing', 'StreamThrottled', 'TransformInvocationFailures']) {
        expect(ids.some((id) => id.startsWith(`Alarms${prefix}${name}`)), `${prefix}${name}`).toBe(true);
      }
      expect(onStream.find(([, r]) => r.Properties.MetricName === 'DeliveryToAmazonOpenSearchService.DataFreshness')![1].Properties).toMatchObject({ Statistic: 'Maximum', Threshold: 960 });
      expect(onStream.find(([, r]) => r.Properties.MetricName === 'ThrottledRecords')![1].Properties).toMatchObject({ Statistic: 'Sum', Threshold: 0, EvaluationPeriods: 3 });
    }
    // The heartbeat treats silence as the incident, on every stream heartbeatLogTypes names; without access
    // logs, every delivered type has one by default.
    const heartbeats = (json: any) => Object.values(json.Resources as Record<string, any>)
      .filter((r) => r.Type === 'AWS::CloudWatch::Alarm' && r.Properties.MetricName === 'IncomingRecords')
      .map((r) => { expect(r.Properties).toMatchObject({ Statistic: 'Sum', Period: 6 * 3600, Threshold: 1, ComparisonOperator: 'LessThanThreshold', TreatMissingData: 'breaching' }); return r.Properties.Dimensions[0].Value.Ref; });
    const indexOfStream = (json: any) => (id: string) => streams(json).find((s) => s.id === id)!.config.IndexName;
    expect(heartbeats(all.json).map(indexOfStream(all.json))).toEqual(['alb-logs']);
    expect(heartbeats(withoutAccess.json).map(indexOfStream(withoutAccess.json)).sort()).toEqual(['alb-health', 'tls-logs']);
    const every = synthesize({ region: 'eu-west-1', heartbeatLogTypes: 'health,access,connection' }, { bundle: false });
    try {
      expect(heartbeats(every.json).map(indexOfStream(every.json)).sort()).toEqual(['alb-connection', 'alb-health', 'alb-logs']);
    } finally {
      every.cleanup?.();
    }
    expect(() => synthesize({ logTypes: 'access', heartbeatLogTypes: 'access,health' }, { bundle: false })).toThrow(/heartbeatLogTypes must be among the delivered logTypes \(access\), got "access,health"/);
    // Each transform's own Lambda errors and throttles.
    for (const stream of streams(all.json)) {
      const transformId = stream.config.ProcessingConfiguration.Processors[0].Parameters.find((p: any) => p.ParameterName === 'LambdaArn').ParameterValue['Fn::GetAtt'][0];
      const onTransform = alarms.filter(([, r]) => r.Properties.Namespace === 'AWS/Lambda' && r.Properties.Dimensions?.[0]?.Value?.Ref === transformId);
      expect(onTransform.map(([, r]) => r.Properties.MetricName).sort()).toEqual(['Errors', 'Throttles']);
    }
    // Every alarm of the pipeline has a runbook line: the access stream's by its name, the others' by the same name after their type.
    const docs = readFileSync(path.resolve(import.meta.dirname, '../../docs/deploy.md'), 'utf8');
    expect(docs).toMatch(/prefixed `Connection…` and `Health…`/);
    for (const id of all.stack.alarms.alarms.map((alarm) => alarm.node.id)) {
      const name = id.replace(/^(Connection|Health)(?=[A-Z])/, '');
      expect(docs.split('\n').some((line) => line.startsWith('|') && line.includes(`\`${name}\``)), id).toBe(true);
    }
  });

  it('replays each stream\'s backup into its own index family: one scheduled replayer per stream, least privilege on that bucket', () => {
    const replayers = Object.entries(all.json.Resources)
      .filter(([, r]) => r.Type === 'AWS::Lambda::Function' && String(r.Properties.Description).startsWith('Albatross: replays documents'));
    expect(replayers).toHaveLength(3);
    const backupOf = (indexName: string) => streams(all.json).find((s) => s.config.IndexName === indexName)!.config.S3Configuration.BucketARN['Fn::GetAtt'][0];
    const expected = { access: 'alb-logs', connection: 'alb-connection', health: 'alb-health' };
    const roles = new Set<string>();
    for (const [type, indexName] of Object.entries(expected)) {
      const found = replayers.filter(([, r]) => (r.Properties.Environment.Variables.ALBATROSS_LOG_TYPES) === type);
      expect(found, type).toHaveLength(1);
      const [id, fn] = found[0]!;
      const variables = fn.Properties.Environment.Variables;
      expect(variables).toMatchObject({
        ALBATROSS_BACKUP_BUCKET: { Ref: backupOf(indexName) },
        ALBATROSS_INDEX_PREFIX: 'alb-logs', ALBATROSS_CONNECTION_INDEX_PREFIX: 'alb-connection', ALBATROSS_HEALTH_INDEX_PREFIX: 'alb-health',
      });
      expect(variables.ALBATROSS_LOG_TYPE).toBe(type === 'access' ? undefined : type);
      roles.add(JSON.stringify(fn.Properties.Role));
      // its own schedule
      const rules = Object.values(all.json.Resources).filter((r) => r.Type === 'AWS::Events::Rule' && r.Properties.Targets.some((t: any) => t.Arn?.['Fn::GetAtt']?.[0] === id));
      expect(rules, type).toHaveLength(1);
      expect(rules[0]!.Properties.ScheduleExpression).toBe('rate(15 minutes)');
      // its NotReplayed alarm reads its own service's metrics
      const service = type === 'access' ? 'albatross-replayer' : `albatross-replayer-${type}`;
      const notReplayed = Object.values(all.json.Resources).filter((r) => r.Type === 'AWS::CloudWatch::Alarm'
        && r.Properties.Metrics?.some((m: any) => m.MetricStat?.Metric.MetricName === 'ReplayDocumentsFailed' && m.MetricStat.Metric.Dimensions[0].Value === service));
      expect(notReplayed, service).toHaveLength(1);
      expect(Object.values(all.json.Resources).filter((r) => r.Type === 'AWS::CloudWatch::Alarm' && r.Properties.MetricName === 'Errors' && r.Properties.Dimensions[0].Value.Ref === id)).toHaveLength(1);
    }
    // One role (mapped in FGAC for every family), with list/read/rewrite/delete on each stream's delivery-failure prefix only.
    expect(roles.size).toBe(1);
    const roleId = JSON.parse([...roles][0]!)['Fn::GetAtt'][0];
    const statements = Object.values(all.json.Resources)
      .filter((r) => r.Type === 'AWS::IAM::Policy' && r.Properties.Roles.some((role: any) => role.Ref === roleId))
      .flatMap((r) => r.Properties.PolicyDocument.Statement);
    for (const indexName of Object.values(expected)) {
      const bucket = backupOf(indexName);
      const list = statements.filter((st: any) => st.Action === 's3:ListBucket' && st.Resource['Fn::GetAtt']?.[0] === bucket);
      expect(list, indexName).toHaveLength(1);
      expect(list[0].Condition).toEqual({ StringLike: { 's3:prefix': ['errors/AmazonOpenSearchService-failed/*'] } });
      const objects = statements.filter((st: any) => JSON.stringify(st.Resource).includes(bucket) && st.Action !== 's3:ListBucket');
      expect(objects.map((st: any) => st.Resource['Fn::Join'][1][1]).sort(), indexName).toEqual(['/errors/AmazonOpenSearchService-failed/*', '/errors/replayed/*']);
    }
    // IAM requires statement ids unique within a policy.
    const sids = statements.map((st: any) => st.Sid).filter((sid: unknown) => sid !== undefined);
    expect(new Set(sids).size).toBe(sids.length);
    for (const p of logicalIds(all.json, 'Custom::AlbatrossTemplates').map((id) => all.json.Resources[id]!.Properties)) expect(p.ReplayerRoleArn).toEqual({ 'Fn::GetAtt': [roleId, 'Arn'] });
  });

  it('the loader records failed lines of each type in that type\'s backup bucket, and may write only there', () => {
    const environment = loaderEnvironment(all.json);
    const bucketOf = (indexName: string) => streams(all.json).find((s) => s.config.IndexName === indexName)!.config.S3Configuration.BucketARN['Fn::GetAtt'][0];
    expect(environment).toMatchObject({
      ALBATROSS_FAILURE_BUCKET: { Ref: bucketOf('alb-logs') },
      ALBATROSS_CONNECTION_FAILURE_BUCKET: { Ref: bucketOf('alb-connection') },
      ALBATROSS_HEALTH_FAILURE_BUCKET: { Ref: bucketOf('alb-health') },
      ALBATROSS_FAILURE_PREFIX: 'errors/loader-failed/',
    });
    const recordFailures = Object.values(all.json.Resources)
      // the loader's (the backfill worker has its own statement, infra/constructs/backfill.ts)
      .filter((r) => r.Type === 'AWS::IAM::Policy' && JSON.stringify(r.Properties.Roles).includes('Loader'))
      .flatMap((r) => r.Properties.PolicyDocument.Statement)
      .filter((st: any) => st.Sid === 'RecordFailures');
    expect(recordFailures).toHaveLength(1);
    expect(recordFailures[0].Action).toBe('s3:PutObject');
    expect(recordFailures[0].Resource.map((r: any) => [r['Fn::Join'][1][0]['Fn::GetAtt'][0], r['Fn::Join'][1][1]]).sort()).toEqual(
      ['alb-connection', 'alb-health', 'alb-logs'].map((name) => [bucketOf(name), '/errors/loader-failed/*']).sort());
    // Without access logs, the first type's bucket is the default one.
    const other = loaderEnvironment(withoutAccess.json);
    const otherBucket = (indexName: string) => streams(withoutAccess.json).find((s) => s.config.IndexName === indexName)!.config.S3Configuration.BucketARN['Fn::GetAtt'][0];
    expect(other.ALBATROSS_FAILURE_BUCKET).toEqual({ Ref: otherBucket('tls-logs') });
    expect(other.ALBATROSS_HEALTH_FAILURE_BUCKET).toEqual({ Ref: otherBucket('alb-health') });
  });

  it('the backfill worker records each type\'s failures in that type\'s backup bucket too, where its replayer reads', () => {
    const bucketOf = (indexName: string) => streams(all.json).find((s) => s.config.IndexName === indexName)!.config.S3Configuration.BucketARN['Fn::GetAtt'][0];
    const worker = Object.values(all.json.Resources).find((r) => r.Type === 'AWS::Lambda::Function' && /backfill worker/i.test(r.Properties.Description ?? ''))!;
    expect(worker.Properties.Environment.Variables).toMatchObject({
      ALBATROSS_FAILURE_BUCKET: { Ref: bucketOf('alb-logs') },
      ALBATROSS_CONNECTION_FAILURE_BUCKET: { Ref: bucketOf('alb-connection') },
      ALBATROSS_HEALTH_FAILURE_BUCKET: { Ref: bucketOf('alb-health') },
    });
    const roleId = worker.Properties.Role['Fn::GetAtt'][0];
    const writes = Object.values(all.json.Resources)
      .filter((r) => r.Type === 'AWS::IAM::Policy' && r.Properties.Roles.some((role: any) => role.Ref === roleId))
      .flatMap((r) => r.Properties.PolicyDocument.Statement)
      .filter((st: any) => st.Sid === 'RecordFailures');
    expect(writes).toHaveLength(1);
    const buckets = new Set(writes[0].Resource.map((r: any) => r['Fn::Join'][1][0]['Fn::GetAtt'][0]));
    expect([...buckets].sort()).toEqual(['alb-connection', 'alb-health', 'alb-logs'].map(bucketOf).sort());
  });

  it('-c logTypes=health,connection: two streams, the loader without an access-log stream', () => {
    expect(streams(withoutAccess.json).map((s) => s.config.IndexName).sort()).toEqual(['alb-health', 'tls-logs']);
    const environment = loaderEnvironment(withoutAccess.json);
    expect(environment.ALBATROSS_DELIVERY_STREAM).toBeUndefined();
    expect(environment.ALBATROSS_CONNECTION_DELIVERY_STREAM).toHaveProperty('Ref');
    expect(environment.ALBATROSS_HEALTH_DELIVERY_STREAM).toHaveProperty('Ref');
    expect(alarmsOn(withoutAccess.json, 'RecordsProcessingFailed').map((d) => d[0].Value).sort()).toEqual(['albatross-transform-connection', 'albatross-transform-health']);
    nagClean(withoutAccess);
  });

  it('refuses overlapping index prefixes and unknown log types', () => {
    expect(() => synthesize({ indexPrefix: 'alb' }, { bundle: false })).toThrow(/index prefixes overlap: the access prefix "alb" also matches the connection indices alb-connection-\*/);
    expect(() => synthesize({ logTypes: 'access,nlb' }, { bundle: false })).toThrow(/context logTypes must be a comma-separated list/);
  });
});
