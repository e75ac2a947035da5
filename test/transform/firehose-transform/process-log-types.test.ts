// The transform of a connection or health-check delivery stream: each record is parsed with the
// parser of the stream's log type; a record whose envelope names another type fails with a reason
// (it would otherwise land in the wrong index family).
import { describe, expect, it } from 'vitest';
import { encodeRecord } from '../../../transform/envelope.ts';
import { logTypeFromEnvironment } from '../../../transform/firehose-transform/handler.ts';
import { processRecords } from '../../../transform/firehose-transform/process.ts';
import { LOG_TYPE_SPECS } from '../../../transform/log-types.ts';
import { firehoseEvent } from '../../../scripts/transform-fixtures.ts';
import { corpusLine, corpusLines, CORPUS_FILES } from '../../corpus.ts';

const access = corpusLine('http');
const connection = corpusLines(CORPUS_FILES.connection);
const health = corpusLines(CORPUS_FILES.healthCheck).slice(0, 2); // a PASS and a FAIL
const source = (offset: number) => ({ bucket: 'logs', key: 'AWSLogs/1/conn_log_x.log.gz', offset });

function okDocuments(records: { result: string; data?: string }[]): unknown[] {
  return records.filter((r) => r.result === 'Ok').map((r) => JSON.parse(Buffer.from(r.data!, 'base64').toString('utf8')));
}

describe('processRecords per log type', () => {
  it('parses connection records with the connection parser, enveloped or bare', () => {
    const event = firehoseEvent([encodeRecord({ ...source(0), type: 'connection' }, connection[0]!), connection[1]!, '']);
    const { records, stats } = processRecords(event.records, { logType: 'connection' });
    expect(records.map((r) => r.result)).toEqual(['Ok', 'Ok', 'Dropped']);
    const expected = [
      LOG_TYPE_SPECS.connection.parse(connection[0]!, { source: source(0) }),
      LOG_TYPE_SPECS.connection.parse(connection[1]!),
    ].map((result) => (result.kind === 'document' ? result.document : result));
    expect(okDocuments(records)).toEqual(expected);
    expect(stats).toMatchObject({ ok: 2, dropped: 1, processingFailed: 0 });
  });

  it('parses health-check records with the health-check parser', () => {
    const event = firehoseEvent(health.map((line, i) => encodeRecord({ ...source(i * 100), type: 'health' }, line)));
    const { records } = processRecords(event.records, { logType: 'health' });
    expect(okDocuments(records).map((d) => (d as { aws: { elb: { health_check: { status: string } } } }).aws.elb.health_check.status)).toEqual(['PASS', 'FAIL']);
  });

  it('fails records of another type with the reason, on either kind of stream', () => {
    const onConnection = processRecords(firehoseEvent([encodeRecord(source(0), access)]).records, { logType: 'connection' });
    expect(onConnection.records[0]!.result).toBe('ProcessingFailed');
    expect(onConnection.failures[0]!.reason).toBe('access log record on the connection log delivery stream: the loader routed it to the wrong stream');
    const onAccess = processRecords(firehoseEvent([encodeRecord({ ...source(0), type: 'health' }, health[0]!)]).records);
    expect(onAccess.records[0]!.result).toBe('ProcessingFailed');
    expect(onAccess.failures[0]).toMatchObject({ reason: expect.stringMatching(/health-check log record on the access log delivery stream/), source: source(0) });
  });

  it('a bare line of another type is parsed as the stream\'s type and fails with the parser\'s reason', () => {
    const { failures } = processRecords(firehoseEvent([access]).records, { logType: 'health' });
    expect(failures[0]!.reason).toMatch(/is not PASS or FAIL: not an ALB health-check-log line/);
  });

  it('reads the stream\'s type from ALBATROSS_LOG_TYPE (default access) and refuses an unknown one', () => {
    expect(logTypeFromEnvironment(undefined)).toBe('access');
    expect(logTypeFromEnvironment('connection')).toBe('connection');
    expect(() => logTypeFromEnvironment('nlb')).toThrow(/ALBATROSS_LOG_TYPE is "nlb"; expected access, connection or health/);
  });
});
