// The backfill queue message: what the CLI writes is what the worker reads; other messages are not
// backfill messages, and a malformed one is an error (it fails and reaches the DLQ).
import { describe, expect, it } from 'vitest';
import { backfillMessageBody, backfillRunId, objectUrl, parseBackfillMessage } from '../../../transform/backfill/message.ts';

describe('backfill messages', () => {
  const message = { run: 'r', bucket: 'b', key: 'AWSLogs/x.log.gz', etag: 'abc', size: 12, from: '2026-01-01', to: '2026-01-31' };

  it('round-trip through the queue body', () => {
    expect(parseBackfillMessage(JSON.parse(backfillMessageBody(message)))).toEqual(message);
    const { from: _f, to: _t, ...unbounded } = message;
    expect(parseBackfillMessage(JSON.parse(backfillMessageBody(unbounded)))).toEqual(unbounded);
  });

  it('leave S3 notifications and other bodies alone, and refuse a broken backfill message', () => {
    expect(parseBackfillMessage({ Records: [] })).toBeUndefined();
    expect(parseBackfillMessage('text')).toBeUndefined();
    expect(parseBackfillMessage(null)).toBeUndefined();
    expect(() => parseBackfillMessage({ albatrossBackfill: 1, ...message, size: -1 })).toThrow(/without run, bucket, key, etag or size/);
    expect(() => parseBackfillMessage({ albatrossBackfill: 1, ...message, key: '' })).toThrow(/without run/);
    expect(() => parseBackfillMessage({ albatrossBackfill: 1, ...message, from: '2026-1-1' })).toThrow(/malformed day/);
  });

  it('name a run by source, days and types (order of types aside), and an object by its URL', () => {
    expect(backfillRunId({ source: 's3://b/p/', from: '2026-01-01', logTypes: ['health', 'access'] }))
      .toBe(backfillRunId({ source: 's3://b/p/', from: '2026-01-01', logTypes: ['access', 'health'] }));
    expect(backfillRunId({ source: 's3://b/p/', logTypes: ['access'] })).not.toBe(backfillRunId({ source: 's3://b/p/', to: '2026-02-01', logTypes: ['access'] }));
    expect(objectUrl(message)).toBe('s3://b/AWSLogs/x.log.gz');
  });
});
