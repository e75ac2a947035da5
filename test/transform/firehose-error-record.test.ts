import { describe, expect, it } from 'vitest';
import { encodeRecord } from '../../transform/envelope.ts';
import { unwrapErrorRecord } from '../../transform/firehose-error-record.ts';
import { sampleLines } from './parser/sample-lines.ts';

const good = sampleLines('aws-docs_2023-04_access-log-examples.log');
const source = { bucket: 'alb-logs', key: 'AWSLogs/123456789012/elasticloadbalancing/us-east-2/2026/01/01/x_app.lb_20260101T0000Z_10.0.0.1_a.log.gz', offset: 4096 };
const record = (data: Buffer | string) =>
  JSON.stringify({ attemptsMade: 1, errorCode: 'Lambda.ProcessingFailedStatus', errorMessage: 'x', rawData: Buffer.from(data).toString('base64') });

describe('unwrapErrorRecord', () => {
  it('returns the line inside a record with the source its envelope carries', () => {
    expect(unwrapErrorRecord(record(encodeRecord(source, good[0]!)))).toEqual({ line: good[0], source });
    expect(unwrapErrorRecord(record(good[1]!))).toEqual({ line: good[1] }); // a bare line from another producer
  });

  it('says why a record holds no log line', () => {
    expect(unwrapErrorRecord('not json')).toEqual({ error: 'not a Firehose error record: not JSON', raw: 'not json' });
    expect(unwrapErrorRecord('null')).toMatchObject({ error: 'not a Firehose error record: no rawData' });
    expect(unwrapErrorRecord('{"errorCode":"x"}')).toMatchObject({ error: 'not a Firehose error record: no rawData' });
    expect(unwrapErrorRecord(record('\x1emissing header fields\nline'))).toMatchObject({ error: expect.stringMatching(/^malformed envelope header/) });
    expect(unwrapErrorRecord(record('{"@timestamp":"2026-01-01T00:00:00Z"}'))).toMatchObject({ error: expect.stringMatching(/transformed document \(an OpenSearch delivery failure\)/) });
  });
});
