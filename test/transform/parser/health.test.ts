// VRL-style table for health-check logs: every real sample line with the document we expect from
// it, malformed variants with their reasons, and the schema and JSON invariants.
import { describe, expect, it } from 'vitest';
import { parseHealthLine, parseHealthLineToJson, type HealthDocument } from '../../../transform/parser/health.ts';
import { HEALTH_FIELDS } from '../../../transform/schema/health-fields.ts';
import { leavesOf, problemsAgainst } from '../../schema-of.ts';
import { corpusLine, corpusLines, CORPUS_FILES } from '../../corpus.ts';
import { allHealthLogLines, describeSamples, readSampleLines, SAMPLES_PRESENT } from '../../samples.ts';

function documentOf(line: string, options?: Parameters<typeof parseHealthLine>[1]): HealthDocument {
  const result = parseHealthLine(line, options);
  if (result.kind !== 'document') throw new Error(`expected a document, got ${result.kind}: ${result.reason}`);
  return result.document;
}

function withoutId(doc: HealthDocument): HealthDocument {
  const { id: _id, ...event } = doc.event ?? {};
  return { ...doc, event };
}

// The public samples (only when present: test/samples.ts) for the example table; the corpus for the rest.
const [awsPass, awsFail] = (SAMPLES_PRESENT ? readSampleLines('aws-docs_health-check-log-examples.log') : []) as [string, string];
const [pass, fail] = corpusLines(CORPUS_FILES.healthCheck) as [string, string];

describeSamples('parseHealthLine: example table (../shared/samples)', () => {
  const table: [string, string, HealthDocument][] = [
    ['AWS doc: passing check', awsPass, {
      '@timestamp': '2025-10-31T12:44:59.875678Z',
      event: { kind: 'event', category: ['network'], type: ['info'], outcome: 'success', duration: 19_584_011 },
      destination: { address: '172.31.20.97', ip: '172.31.20.97', port: 80 },
      http: { response: { status_code: 200 } },
      aws: { elb: { type: 'http', target_group: { id: 'HCLogsTestIPs' }, health_check: { status: 'PASS' } } },
      cloud: { provider: 'aws' },
    }],
    ['AWS doc: failing check with its reason', awsFail, {
      '@timestamp': '2025-10-31T12:44:58.901409Z',
      event: { kind: 'event', category: ['network'], type: ['info'], outcome: 'failure', duration: 1_121_980_746 },
      destination: { address: '172.31.31.9', ip: '172.31.31.9', port: 80 },
      http: { response: { status_code: 502 } },
      aws: { elb: { type: 'http', target_group: { id: 'HCLogsTestIPs' }, health_check: { status: 'FAIL' }, error: { reason: 'TargetError' } } },
      cloud: { provider: 'aws' },
    }],
  ];
  it.each(table)('%s', (_name, line, expected) => {
    expect(withoutId(documentOf(line))).toEqual(expected);
  });
});

describe('parseHealthLine: corpus and written lines', () => {
  it('reads elb and ip_address, keeps later fields, handles IPv6 and Lambda targets and a timeout without status code', () => {
    const doc = documentOf('grpc 2025-11-02T08:00:00.5Z 5.000000000 2600:1f18:aa:bb::15:50051 tg-grpc FAIL - TimedOut app/my-alb/0123456789abcdef 10.0.1.15 later');
    expect(withoutId(doc)).toEqual({
      '@timestamp': '2025-11-02T08:00:00.5Z',
      event: { kind: 'event', category: ['network'], type: ['info'], outcome: 'failure', duration: 5_000_000_000 },
      destination: { address: '2600:1f18:aa:bb::15', ip: '2600:1f18:aa:bb::15', port: 50051 },
      aws: { elb: { type: 'grpc', target_group: { id: 'tg-grpc' }, health_check: { status: 'FAIL' }, error: { reason: 'TimedOut' }, name: 'app/my-alb/0123456789abcdef', node: { ip: '10.0.1.15' }, extra_fields: ['later'] } },
      cloud: { provider: 'aws' },
    });
    const lambda = documentOf('lambda 2025-11-02T08:00:00Z 0.2 arn:aws:lambda:us-east-1:123456789012:function:checker tg-fn PASS 200 -');
    expect(lambda.destination).toEqual({ address: 'arn:aws:lambda:us-east-1:123456789012:function:checker' });
    expect(lambda.tags).toBeUndefined();
  });

  it('takes account, region and log.* from the source object key', () => {
    const key = 'AWSLogs/123456789012/elasticloadbalancing/us-east-2/2025/10/31/health_check_log_123456789012_elasticloadbalancing_us-east-2_app.my-alb.1234567890abcdef_20251031T1245Z_10.0.1.15_20sg8hgm.log.gz';
    const doc = documentOf(pass, { source: { bucket: 'logs', key, offset: 0 } });
    expect(doc.cloud).toEqual({ provider: 'aws', account: { id: '123456789012' }, region: 'us-east-2' });
    expect(doc.log).toEqual({ file: { path: `s3://logs/${key}` }, offset: 0 });
  });
});

describe('parseHealthLine: bad input', () => {
  it.each([
    ['too few fields', 'http 2025-10-31T12:44:59.875678Z 0.019584011 172.31.20.97:80 HCLogsTestIPs PASS', /line has 6 fields; an ALB health-check-log line has at least 8/],
    ['broken time', pass.replace('2025-11-05T07:12:30.123456Z', '31/Oct/2025:12:44:59'), /time field "31\/Oct\/2025:12:44:59" is not an ISO 8601/],
    ['an access-log line', corpusLine('http'), /status field "[^"]*" \(field 6\) is not PASS or FAIL/],
    ['a connection-log line', corpusLines(CORPUS_FILES.connection)[0]!, /time field "198.51.100.23" is not an ISO 8601/],
  ])('rejects %s with a reason', (_name, line, reason) => {
    const result = parseHealthLine(line);
    expect(result.kind).toBe('failed');
    if (result.kind === 'failed') expect(result.reason).toMatch(reason);
  });

  it('leaves out and tags single values it cannot type', () => {
    const doc = documentOf('http 2025-10-31T12:44:59Z 1,5 10.0.0.300:eighty tg FAIL 5xx -');
    expect(doc.destination).toEqual({ address: '10.0.0.300' });
    expect(doc.event?.duration).toBeUndefined();
    expect(doc.http).toBeUndefined();
    expect(doc.tags).toEqual(['malformed_event.duration', 'malformed_destination.port', 'malformed_destination.ip', 'malformed_http.response.status_code']);
    expect(problemsAgainst(HEALTH_FIELDS, doc)).toEqual([]);
  });
});

describe('health documents and the schema', () => {
  it('every corpus and sample line is a document with only schema paths; JSON === JSON.stringify(document)', () => {
    const lines = allHealthLogLines();
    expect(lines).toHaveLength(corpusLines(CORPUS_FILES.healthCheck).length + (SAMPLES_PRESENT ? 2 : 0));
    const seen = new Set<string>();
    const extended = `${fail} app/my-alb/0123456789abcdef 10.0.1.15 later`;
    for (const [i, { line }] of [...lines, { line: extended }].entries()) {
      for (const options of [undefined, { source: { bucket: 'b', key: 'health_check_log_x.log.gz', offset: i }, original: true }]) {
        const doc = documentOf(line, options);
        expect(problemsAgainst(HEALTH_FIELDS, doc)).toEqual([]);
        for (const [path] of leavesOf(doc)) seen.add(path);
        expect(parseHealthLineToJson(line, options)).toEqual({ kind: 'document', json: JSON.stringify(doc), tagged: false });
      }
    }
    expect(HEALTH_FIELDS.map((f) => f.path).filter((path) => !seen.has(path))).toEqual(['cloud.account.id', 'cloud.region', 'tags']);
  });
});
