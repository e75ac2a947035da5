// Contract tests for processRecords on genuine Firehose transformation events
// (docs/architecture.md "Transform"; ../shared/reference/aws-pipeline-facts.md §1).
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import type { FirehoseTransformationEvent, FirehoseTransformationResultRecord } from 'aws-lambda';
import { encodeRecord } from '../../../transform/envelope.ts';
import { parseAlbLine } from '../../../transform/parser/index.ts';
import {
  MAX_DISTINCT_REASONS,
  MAX_SAMPLE_CHARS,
  MAX_SAMPLES,
  OTHER_REASONS,
  RESPONSE_TOO_LARGE_REASON,
  processRecords,
} from '../../../transform/firehose-transform/process.ts';
import { PROCESSOR_BUFFER_SIZE_MB, RESPONSE_GUARD_BYTES } from '../../../transform/firehose-transform/limits.ts';
import {
  SAMPLE_BUCKET,
  SAMPLE_KEY,
  batchOfSize,
  envelopedLines,
  firehoseEvent,
} from '../../../scripts/transform-fixtures.ts';
import { accessLogLines } from '../../samples.ts';
import { CORPUS_FILES, corpusLines, cycleAccessLines } from '../../corpus.ts';

const samples = accessLogLines();
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

function decodeOk(record: FirehoseTransformationResultRecord): Record<string, any> {
  expect(record.result).toBe('Ok');
  expect(record.data).toMatch(BASE64);
  const json = Buffer.from(record.data!, 'base64').toString('utf8');
  expect(json).not.toContain('\n'); // Firehose -> OpenSearch needs single-line JSON objects
  const document = JSON.parse(json);
  expect(typeof document).toBe('object');
  expect(Array.isArray(document)).toBe(false);
  return document;
}

function expectIdsInOrder(event: FirehoseTransformationEvent, records: FirehoseTransformationResultRecord[]): void {
  expect(records.map((r) => r.recordId)).toEqual(event.records.map((r) => r.recordId));
  expect(new Set(records.map((r) => r.recordId)).size).toBe(records.length);
}

describe('processRecords', () => {
  const good = samples[0]!;
  const goodEnveloped = samples[10]!;
  const connectionLogLine = corpusLines(CORPUS_FILES.connection)[0]!;
  const nlbLine = corpusLines(CORPUS_FILES.nlb)[0]!;
  const controlLine = corpusLines(CORPUS_FILES.control)[0]!;
  const mixed: Array<{ data: Buffer | string; expect: 'Ok' | 'ProcessingFailed' | 'Dropped' }> = [
    { data: good, expect: 'Ok' },
    { data: encodeRecord({ bucket: SAMPLE_BUCKET, key: SAMPLE_KEY, offset: 4096 }, goodEnveloped), expect: 'Ok' },
    { data: `${good}\n`, expect: 'Ok' },
    { data: '', expect: 'Dropped' },
    { data: '\n', expect: 'Dropped' },
    { data: controlLine, expect: 'Dropped' },
    { data: encodeRecord({ bucket: SAMPLE_BUCKET, key: SAMPLE_KEY, offset: 0 }, controlLine), expect: 'Dropped' },
    { data: connectionLogLine, expect: 'ProcessingFailed' },
    { data: nlbLine, expect: 'ProcessingFailed' },
    { data: 'this is not an ALB log line', expect: 'ProcessingFailed' },
    { data: encodeRecord({ bucket: SAMPLE_BUCKET, key: SAMPLE_KEY, offset: 9 }, 'http broken'), expect: 'ProcessingFailed' },
    { data: `\x1e${SAMPLE_BUCKET} ${SAMPLE_KEY} 12\n${good}`, expect: 'ProcessingFailed' }, // raw "/" in the key: malformed header
    { data: Buffer.from([0xff, 0xfe, 0x00, 0x1e, 0x0a]), expect: 'ProcessingFailed' },
    { data: good.replace(/^http/, 'https'), expect: 'Ok' },
  ];
  const event = firehoseEvent(mixed.map((m) => m.data));
  const { records, stats, failures } = processRecords(event.records, { samples: true });

  it('returns every recordId exactly once, in order, with the expected verdicts', () => {
    expectIdsInOrder(event, records);
    expect(records.map((r) => r.result)).toEqual(mixed.map((m) => m.expect));
  });

  it('emits base64 of one single-line JSON document equal to the parser output for Ok records', () => {
    const bare = decodeOk(records[0]!);
    expect(bare).toEqual((parseAlbLine(good) as { document: unknown }).document);
    expect(bare.log).toBeUndefined();

    const enveloped = decodeOk(records[1]!);
    const source = { bucket: SAMPLE_BUCKET, key: SAMPLE_KEY, offset: 4096 };
    expect(enveloped).toEqual((parseAlbLine(goodEnveloped, { source }) as { document: unknown }).document);
    expect(enveloped.log).toEqual({ file: { path: `s3://${SAMPLE_BUCKET}/${SAMPLE_KEY}` }, offset: 4096 });
    expect(enveloped.cloud).toMatchObject({ account: { id: '123456789012' }, region: 'us-east-2' });

    // A trailing line feed from a bare producer does not change the document.
    expect(decodeOk(records[2]!)).toEqual(bare);
    expect(decodeOk(records[13]!).aws.elb.type).toBe('https');
  });

  it('returns failed and dropped records with their data exactly as it came', () => {
    records.forEach((record, i) => {
      if (record.result !== 'Ok') expect(record.data).toBe(event.records[i]!.data);
    });
  });

  it('carries the reason of every failed record, with its source when enveloped', () => {
    const failedIds = records.filter((r) => r.result === 'ProcessingFailed').map((r) => r.recordId);
    expect(failures.map((f) => f.recordId)).toEqual(failedIds);
    for (const failure of failures) expect(failure.reason.length).toBeGreaterThan(5);
    const byId = new Map(failures.map((f) => [f.recordId, f]));
    expect(byId.get(event.records[7]!.recordId)!.reason).toBe((parseAlbLine(connectionLogLine) as { reason: string }).reason);
    expect(byId.get(event.records[10]!.recordId)).toEqual({
      recordId: event.records[10]!.recordId,
      reason: (parseAlbLine('http broken') as { reason: string }).reason,
      source: { bucket: SAMPLE_BUCKET, key: SAMPLE_KEY, offset: 9 },
    });
    expect(byId.get(event.records[11]!.recordId)!.reason).toMatch(/malformed envelope header/);
    expect(byId.get(event.records[11]!.recordId)!.source).toBeUndefined();
  });

  it('counts verdicts, failure and drop reasons, and keeps at most a few samples', () => {
    expect(stats).toMatchObject({ recordsIn: 14, ok: 4, processingFailed: 6, dropped: 4 });
    const sum = (counts: Record<string, number>) => Object.values(counts).reduce((a, b) => a + b, 0);
    expect(sum(stats.failureReasons)).toBe(6);
    expect(sum(stats.dropReasons)).toBe(4);
    expect(Object.keys(stats.dropReasons).sort()).toEqual(['ELB logging control line', 'empty line']);
    expect(stats.failureSamples).toHaveLength(MAX_SAMPLES);
    expect(stats.failureSamples[0]).toEqual({
      recordId: event.records[7]!.recordId,
      reason: failures[0]!.reason,
      line: connectionLogLine,
    });
    expect(stats.inputBytes).toBe(event.records.reduce((n, r) => n + Buffer.from(r.data, 'base64').length, 0));
    const serialized = JSON.stringify({ records }).length;
    expect(stats.responseBytes).toBeGreaterThanOrEqual(serialized);
    expect(stats.responseBytes).toBeLessThan(serialized + 14 * 20);
  });

  it('keeps no raw line unless samples are asked for', () => {
    const { stats: s } = processRecords(firehoseEvent(['broken line one', 'broken line two']).records);
    expect(s.processingFailed).toBe(2);
    expect(s.failureSamples).toEqual([]);
  });

  it('cuts samples to a bounded length', () => {
    const long = `x ${'y'.repeat(5000)}`;
    const { stats: s } = processRecords(firehoseEvent([long, long, long, long, long]).records, { samples: true });
    expect(s.processingFailed).toBe(5);
    expect(s.failureSamples).toHaveLength(MAX_SAMPLES);
    for (const sample of s.failureSamples) expect(sample.line).toBe(long.slice(0, MAX_SAMPLE_CHARS));
  });

  it('bounds the number of distinct reasons counted', () => {
    const lines = Array.from({ length: MAX_DISTINCT_REASONS + 20 }, (_, i) => good.replace(/^(\S+) (\S+)/, `$1 not-a-time-${i}`));
    const { stats: s } = processRecords(firehoseEvent(lines).records);
    expect(s.processingFailed).toBe(lines.length);
    expect(Object.keys(s.failureReasons)).toHaveLength(MAX_DISTINCT_REASONS + 1);
    expect(s.failureReasons[OTHER_REASONS]).toBe(20);
  });

  it('adds event.original only when asked', () => {
    const [plain] = processRecords(firehoseEvent([good]).records).records;
    const [withOriginal] = processRecords(firehoseEvent([good]).records, { original: true }).records;
    expect(decodeOk(plain!).event.original).toBeUndefined();
    expect(decodeOk(withOriginal!).event.original).toBe(good);
  });

  it('handles an empty batch', () => {
    const result = processRecords([]);
    expect(result.records).toEqual([]);
    expect(result.stats).toMatchObject({ recordsIn: 0, ok: 0, processingFailed: 0, dropped: 0 });
  });

  it('transforms a batch at the configured processor buffer size: every sample line Ok, under the payload limit', () => {
    const batch = batchOfSize(samples, PROCESSOR_BUFFER_SIZE_MB * 1024 * 1024);
    expect(batch.reduce((n, b) => n + b.length, 0)).toBeGreaterThan(PROCESSOR_BUFFER_SIZE_MB * 1024 * 1024 - 20_000);
    const bufferEvent = firehoseEvent(batch);
    const result = processRecords(bufferEvent.records);
    expectIdsInOrder(bufferEvent, result.records);
    expect(result.stats.ok).toBe(batch.length);
    let offset = 0;
    const lines = batch.map((_, i) => samples[i % samples.length]!);
    result.records.forEach((record, i) => {
      const document = decodeOk(record);
      expect(document.log.offset).toBe(offset);
      expect(document['@timestamp']).toBe(lines[i]!.split(' ')[1]);
      offset += Buffer.byteLength(lines[i]!) + 1;
    });
    expect(JSON.stringify({ records: result.records }).length).toBeLessThan(RESPONSE_GUARD_BYTES);
  });

  it('returns the records that grew most unchanged when the response would exceed the limit', () => {
    const data = envelopedLines(cycleAccessLines(40));
    const guardEvent = firehoseEvent(data);
    const unbounded = processRecords(guardEvent.records, { maxResponseBytes: Number.POSITIVE_INFINITY });
    const max = Math.floor(unbounded.stats.responseBytes * 0.8);
    const bounded = processRecords(guardEvent.records, { maxResponseBytes: max });
    expectIdsInOrder(guardEvent, bounded.records);
    expect(bounded.stats.responseBytes).toBeLessThanOrEqual(max);
    expect(JSON.stringify({ records: bounded.records }).length).toBeLessThanOrEqual(max);
    const demoted = bounded.records.filter((r) => r.result === 'ProcessingFailed');
    expect(demoted.length).toBeGreaterThan(0);
    expect(bounded.stats.ok + demoted.length).toBe(40);
    expect(bounded.stats.failureReasons).toEqual({ [RESPONSE_TOO_LARGE_REASON]: demoted.length });
    expect(bounded.failures.map((f) => f.recordId)).toEqual(demoted.map((r) => r.recordId));
    bounded.records.forEach((record, i) => {
      if (record.result === 'ProcessingFailed') {
        expect(record.data).toBe(guardEvent.records[i]!.data);
        expect(bounded.failures.find((f) => f.recordId === record.recordId)!.source).toMatchObject({ key: SAMPLE_KEY });
      } else {
        expect(record).toEqual(unbounded.records[i]);
      }
    });
  });

  it('never throws and keeps every record on arbitrary bytes and mutated lines (property)', () => {
    const mutatedLine = fc
      .tuple(fc.constantFrom(...samples.slice(0, 50)), fc.nat(), fc.string({ maxLength: 5 }), fc.nat({ max: 10 }))
      .map(([line, at, insert, remove]) => {
        const i = at % (line.length + 1);
        return Buffer.from(line.slice(0, i) + insert + line.slice(i + remove));
      });
    const record = fc.oneof(fc.uint8Array({ maxLength: 300 }).map((b) => Buffer.from(b)), mutatedLine);
    fc.assert(
      fc.property(fc.array(record, { maxLength: 20 }), (data) => {
        const fuzzEvent = firehoseEvent(data);
        const result = processRecords(fuzzEvent.records);
        expectIdsInOrder(fuzzEvent, result.records);
        result.records.forEach((r, i) => {
          if (r.result === 'Ok') decodeOk(r);
          else expect(r.data).toBe(fuzzEvent.records[i]!.data);
        });
        expect(result.stats.ok + result.stats.processingFailed + result.stats.dropped).toBe(data.length);
      }),
      { numRuns: 300 },
    );
  });
});
