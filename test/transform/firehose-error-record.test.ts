import { describe, expect, it } from 'vitest';
import { encodeRecord } from '../../transform/envelope.ts';
import { failureDocument, RECORD_TOO_LARGE } from '../../transform/loader/failures.ts';
import { unwrapErrorRecord } from '../../transform/firehose-error-record.ts';
import { corpusAccessLines, corpusLines, CORPUS_FILES } from '../corpus.ts';
import { firehoseErrorRecord as record } from '../firehose-error-records.ts';

const good = corpusAccessLines();
const source = { bucket: 'alb-logs', key: 'AWSLogs/123456789012/elasticloadbalancing/us-east-2/2026/01/01/x_app.lb_20260101T0000Z_10.0.0.1_a.log.gz', offset: 4096 };

describe('unwrapErrorRecord', () => {
  it('returns the line inside a record with the source its envelope carries', () => {
    expect(unwrapErrorRecord(record(encodeRecord(source, good[0]!)))).toEqual({ kind: 'line', line: good[0], source, type: 'access' });
    expect(unwrapErrorRecord(record(good[1]!))).toEqual({ kind: 'line', line: good[1] }); // a bare line from another producer
  });

  it('returns the log type the envelope names, so a replay picks the right parser', () => {
    const line = corpusLines(CORPUS_FILES.healthCheck)[0]!;
    expect(unwrapErrorRecord(record(encodeRecord({ ...source, type: 'health' }, line)))).toEqual({ kind: 'line', line, source, type: 'health' });
  });

  it('returns a document OpenSearch refused with the index and id Firehose used, and its reason', () => {
    const document = '{"@timestamp":"2026-01-01T00:00:00Z"}';
    expect(unwrapErrorRecord(record(document, { errorCode: '429', errorMessage: 'too many requests', esIndexName: 'alb-logs-2026-01-01', esDocumentId: 'abc' })))
      .toEqual({ kind: 'document', document, index: 'alb-logs-2026-01-01', id: 'abc', reason: 'too many requests' });
  });

  it('says why a record holds no log line', () => {
    expect(unwrapErrorRecord('not json')).toEqual({ kind: 'invalid', error: 'not a Firehose error record: not JSON', raw: 'not json' });
    expect(unwrapErrorRecord('null')).toMatchObject({ error: 'not a Firehose error record: no rawData' });
    expect(unwrapErrorRecord('{"errorCode":"x"}')).toMatchObject({ error: 'not a Firehose error record: no rawData' });
    // What the loader writes under errors/loader-failed/ for a line over Firehose's record limit.
    const loaderFailure = JSON.stringify(failureDocument({
      bucket: 'b', key: 'k.log.gz', etag: 'e', line: 2, offset: 1187, length: 1_048_586,
      errorCode: RECORD_TOO_LARGE, errorMessage: 'too big', head: Buffer.from('http 2026-'),
    }));
    expect(unwrapErrorRecord(loaderFailure)).toEqual({ kind: 'invalid', error: 'a loader failure (Loader.RecordTooLarge), not replayable: the whole line is in s3://b/k.log.gz at byte 1187', raw: loaderFailure });
    expect(unwrapErrorRecord(record('\x1emissing header fields\nline'))).toMatchObject({ error: expect.stringMatching(/^malformed envelope header/) });
    expect(unwrapErrorRecord(record('{"@timestamp":"2026-01-01T00:00:00Z"}'))).toMatchObject({ kind: 'invalid', error: 'rawData is a document, but the record names no esIndexName/esDocumentId' });
  });
});
