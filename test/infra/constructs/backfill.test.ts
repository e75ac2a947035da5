// The backfill queue, its dead-letter queue, the worker and the progress table as synthesized by the
// real app (cdk-nag included): bounded reserved concurrency from the stack setting, the worker being
// the loader's handler in direct delivery, least-privilege rights, the DLQ alarm and the outputs the
// CLI reads.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findResource, synthesize, type Synthesized } from '../synth.ts';

let synth: Synthesized;
let sized: Synthesized;
beforeAll(() => {
  synth = synthesize({ region: 'eu-west-1', logTypes: 'access' }, { bundle: false });
  sized = synthesize({ region: 'eu-west-1', backfillConcurrency: '12', backfillBuckets: 'old-alb-logs', enrichment: 'ua', delivery: 'direct' }, { bundle: false });
}, 180_000);
afterAll(() => {
  synth?.cleanup();
  sized?.cleanup();
});

const worker = (s: Synthesized) => findResource(s.json, 'AWS::Lambda::Function', (p) => String(p.Description).startsWith('Albatross: backfill worker'));
const ref = (value: unknown) => JSON.stringify(value);

function roleStatements(s: Synthesized, roleId: string): any[] {
  return Object.values(s.json.Resources)
    .filter((r) => r.Type === 'AWS::IAM::Policy' && r.Properties.Roles.some((role: any) => role.Ref === roleId))
    .flatMap((r) => r.Properties.PolicyDocument.Statement);
}

describe('Backfill', () => {
  it('passes cdk-nag with no unacknowledged finding', () => {
    for (const s of [synth, sized]) {
      const report = s.validationReport.pluginReports[0]!;
      expect(report.violations ?? []).toEqual([]);
      expect(report.conclusion).toBe('success');
    }
  });

  it('has a queue with its own dead-letter queue, consumed one object at a time by the worker with bounded reserved concurrency', () => {
    for (const [s, concurrency] of [[synth, 2], [sized, 12]] as const) {
      const fn = worker(s);
      expect(fn.resource.Properties.ReservedConcurrentExecutions).toBe(concurrency);
      expect(fn.resource.Properties.Timeout).toBe(900);
      const mapping = findResource(s.json, 'AWS::Lambda::EventSourceMapping', (p) => p.FunctionName?.Ref === fn.id);
      expect(mapping.resource.Properties).toMatchObject({ BatchSize: 1, FunctionResponseTypes: ['ReportBatchItemFailures'], ScalingConfig: { MaximumConcurrency: concurrency } });
      const queueId = mapping.resource.Properties.EventSourceArn['Fn::GetAtt'][0];
      const queue = s.json.Resources[queueId]!;
      expect(queueId).toMatch(/^Backfill/);
      expect(queue.Properties).toMatchObject({ SqsManagedSseEnabled: true, VisibilityTimeout: 1800 });
      const dlqId = queue.Properties.RedrivePolicy.deadLetterTargetArn['Fn::GetAtt'][0];
      expect(dlqId).toMatch(/^BackfillDeadLetterQueue/);
      expect(queue.Properties.RedrivePolicy.maxReceiveCount).toBe(15);
      // an alarm on that dead-letter queue, to the pipeline's topic
      const alarm = findResource(s.json, 'AWS::CloudWatch::Alarm', (p) => p.Dimensions?.some((d: any) => ref(d.Value).includes(dlqId)));
      expect(alarm.resource.Properties).toMatchObject({ MetricName: 'ApproximateNumberOfMessagesVisible', Threshold: 0 });
      expect(ref(alarm.resource.Properties.AlarmActions)).toContain('AlarmsTopic');
    }
    expect(() => synthesize({ region: 'eu-west-1', backfillConcurrency: '1' }, { bundle: false })).toThrow(/backfillConcurrency must be between 2 and 1000/);
  });

  it('is the loader handler in direct delivery, with the progress table, the checkpoint table and the transform\'s enrichment', () => {
    for (const [s, enrich] of [[synth, 'geo,as,ua'], [sized, 'ua']] as const) {
      const fn = worker(s);
      expect(fn.resource.Properties.Handler).toBe('index.handler');
      const variables = fn.resource.Properties.Environment.Variables;
      expect(variables).toMatchObject({ ALBATROSS_DELIVERY: 'direct', ALBATROSS_INDEX_PREFIX: 'alb-logs', ALBATROSS_ENRICH: enrich, ALBATROSS_MAX_RECEIVE_COUNT: '15' });
      const table = findResource(s.json, 'AWS::DynamoDB::Table', (_p, id) => id.startsWith('BackfillProgress'));
      expect(variables.ALBATROSS_BACKFILL_TABLE).toEqual({ Ref: table.id });
      expect(table.resource.Properties.KeySchema).toEqual([{ AttributeName: 'run', KeyType: 'HASH' }, { AttributeName: 'object', KeyType: 'RANGE' }]);
      expect(ref(variables.ALBATROSS_CHECKPOINT_TABLE)).toContain('LoaderCheckpoints');
      // the outputs the CLI reads: the queue the worker consumes, the table it writes
      const mapping = findResource(s.json, 'AWS::Lambda::EventSourceMapping', (p) => p.FunctionName?.Ref === fn.id);
      expect(s.json.Outputs!['BackfillQueueUrl'].Value).toEqual({ Ref: mapping.resource.Properties.EventSourceArn['Fn::GetAtt'][0] });
      expect(s.json.Outputs!['BackfillTableName'].Value).toEqual({ Ref: table.id });
    }
  });

  it('may read the log bucket and the backfillBuckets, POST only _bulk, write only the error prefixes and update only its progress items', () => {
    for (const s of [synth, sized]) {
      const roleId = worker(s).resource.Properties.Role['Fn::GetAtt'][0];
      const statements = roleStatements(s, roleId);
      const bySid = (sid: string) => statements.find((st) => st.Sid === sid);
      expect(bySid('BulkIndex').Action).toBe('es:ESHttpPost');
      expect(ref(bySid('BulkIndex').Resource)).toContain('/_bulk');
      expect(bySid('Progress').Action).toBe('dynamodb:UpdateItem');
      expect(bySid('Checkpoints').Action).toEqual(['dynamodb:GetItem', 'dynamodb:UpdateItem']);
      expect(ref(bySid('RecordFailures').Resource)).toContain('errors/AmazonOpenSearchService-failed/*');
      expect(bySid('ReadAlbLogs').Action).toBe('s3:GetObject');
      expect(ref(bySid('ReadAlbLogs').Resource).includes('old-alb-logs/*')).toBe(s === sized);
      expect(statements.flatMap((st) => [st.Action].flat())).not.toContain('es:*');
      // mapped in FGAC (as the direct loader) by the templates installer, before it runs
      const templates = findResource(s.json, 'Custom::AlbatrossTemplates', (p) => p.LogType === undefined);
      expect(templates.resource.Properties.BackfillRoleArn).toEqual({ 'Fn::GetAtt': [roleId, 'Arn'] });
      expect(worker(s).resource.DependsOn).toContain(templates.id);
    }
  });
});
