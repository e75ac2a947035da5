// The Lambda shell: same verdicts as processRecords, plus Powertools structured logs and EMF
// metrics on stdout/stderr (as in Lambda), never carrying the whole batch.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { Context } from 'aws-lambda';
import { handler, MAX_LOGGED_FAILURES } from '../../../transform/firehose-transform/handler.ts';
import { processRecords } from '../../../transform/firehose-transform/process.ts';
import { sharedEnricher } from '../../../transform/enrich/data.ts';
import { METRICS_NAMESPACE, SERVICE_NAMES } from '../../../transform/observability.ts';
import { adversarialLines, envelopedLines, firehoseEvent, measureExpansion } from '../../../scripts/transform-fixtures.ts';
import { LAMBDA_RESPONSE_LIMIT_BYTES, RESPONSE_GUARD_BYTES } from '../../../transform/firehose-transform/limits.ts';
import { cycleAccessLines } from '../../corpus.ts';
import { accessLogLines } from '../../samples.ts';

// The context object Lambda passes; only its data fields are read (by the Powertools logger).
const context = {
  callbackWaitsForEmptyEventLoop: true,
  functionName: 'albatross-transform',
  functionVersion: '$LATEST',
  invokedFunctionArn: 'arn:aws:lambda:us-east-2:123456789012:function:albatross-transform',
  memoryLimitInMB: '512',
  awsRequestId: 'c6af9ac6-7b61-11e6-9a41-93e812345678',
  logGroupName: '/aws/lambda/albatross-transform',
  logStreamName: '2026/11/26/[$LATEST]abc',
  getRemainingTimeInMillis: () => 60_000,
  done: () => undefined,
  fail: () => undefined,
  succeed: () => undefined,
} satisfies Context;

const samples = accessLogLines();

describe('transform handler', () => {
  let output: string[];
  beforeEach(() => {
    output = [];
    // Powertools writes INFO and EMF to stdout, WARN and ERROR to stderr: Lambda sends both to CloudWatch Logs.
    for (const stream of [process.stdout, process.stderr]) {
      vi.spyOn(stream, 'write').mockImplementation((chunk: string | Uint8Array) => {
        output.push(chunk.toString());
        return true;
      });
    }
  });
  afterEach(() => {
    vi.restoreAllMocks();
    vi.unstubAllEnvs();
  });
  const entries = () => output.join('').split('\n').filter((l) => l.trim() !== '').map((l) => JSON.parse(l) as Record<string, any>);

  it('answers like processRecords and logs and counts a clean batch', async () => {
    const event = firehoseEvent(envelopedLines(samples.slice(0, 30)));
    const result = await handler(event, context);
    // enrichment is on by default (ALBATROSS_ENRICH unset)
    expect(result).toEqual({ records: processRecords(event.records, { enrich: sharedEnricher('all') }).records });
    expect(result).not.toEqual({ records: processRecords(event.records).records });

    const logs = entries();
    const summary = logs.find((e) => e.message === 'transformed batch')!;
    expect(summary).toMatchObject({
      level: 'INFO',
      service: SERVICE_NAMES.transform,
      function_request_id: context.awsRequestId,
      invocationId: event.invocationId,
      recordsIn: 30,
      ok: 30,
      processingFailed: 0,
      dropped: 0,
      enrichment: { ipLookups: expect.any(Number), ipCacheHits: expect.any(Number), userAgentLookups: expect.any(Number), userAgentCacheHits: expect.any(Number), errors: 0 },
    });
    const emf = logs.find((e) => e._aws?.CloudWatchMetrics?.[0]?.Metrics?.some((m: { Name: string }) => m.Name === 'RecordsIn'))!;
    expect(emf._aws.CloudWatchMetrics[0].Namespace).toBe(METRICS_NAMESPACE);
    expect(emf).toMatchObject({ service: SERVICE_NAMES.transform, RecordsIn: 30, RecordsOk: 30, RecordsProcessingFailed: 0, RecordsDropped: 0 });
    expect(emf.InputBytes).toBe(summary.inputBytes);
  });

  it('follows ALBATROSS_ENRICH: none writes no enrichment fields, a bad value fails the invocation with the reason', async () => {
    const event = firehoseEvent(envelopedLines(samples.slice(0, 30)));
    for (const [setting, expected] of [['none', 'plain'], ['ua', 'ua'], ['geo,city', 'error']] as const) {
      vi.resetModules();
      vi.stubEnv('ALBATROSS_ENRICH', setting);
      try {
        const fresh = (await import('../../../transform/firehose-transform/handler.ts')).handler;
        if (expected === 'error') {
          await expect(fresh(event, context)).rejects.toThrow(/enrichment "geo,city" is not valid/);
          continue;
        }
        const result = await fresh(event, context);
        const options = expected === 'plain' ? {} : { enrich: sharedEnricher('ua') };
        expect(result).toEqual({ records: processRecords(event.records, options).records });
      } finally {
        vi.unstubAllEnvs();
      }
    }
  });

  it('logs no raw line by default: reasons and record ids only', async () => {
    const bad = Array.from({ length: 5 }, (_, i) => `broken line number ${i} with a unique marker QRS${i}`);
    const result = await handler(firehoseEvent([...samples.slice(0, 5), ...bad]), context);
    expect(result.records.filter((r) => r.result === 'ProcessingFailed')).toHaveLength(5);
    const summary = entries().find((e) => e.message === 'transformed batch with failed records')!;
    expect(summary.failureSamples).toEqual([]);
    expect(entries().filter((e) => e.message === 'record failed')).toHaveLength(5);
    const everything = output.join('');
    for (let i = 0; i < 5; i++) expect(everything).not.toContain(`QRS${i}`);
    for (const line of samples.slice(0, 5)) expect(everything).not.toContain(line.split(' ')[1]!);
  });

  it('with ALBATROSS_LOG_SAMPLES=true counts failure reasons, samples at most a few raw lines and never logs the whole batch', async () => {
    vi.stubEnv('ALBATROSS_LOG_SAMPLES', 'true');
    const bad = Array.from({ length: 10 }, (_, i) => `broken line number ${i} with a unique marker XYZ${i}`);
    const good = cycleAccessLines(40, 7);
    const event = firehoseEvent([...good, ...bad, '', 'Enable AccessLog for ELB: app/elb-name/abc123456 at 2025-05-30T16:47:00.781Z']);
    const result = await handler(event, context);
    expect(result.records.map((r) => r.result)).toEqual([
      ...good.map(() => 'Ok'),
      ...bad.map(() => 'ProcessingFailed'),
      'Dropped',
      'Dropped',
    ]);

    const logs = entries();
    const summary = logs.find((e) => e.message === 'transformed batch with failed records')!;
    expect(summary).toMatchObject({ level: 'WARN', recordsIn: 52, ok: 40, processingFailed: 10, dropped: 2 });
    expect(Object.values(summary.failureReasons as Record<string, number>).reduce((a, b) => a + b, 0)).toBe(10);
    expect(summary.failureSamples).toHaveLength(3);
    expect(summary.failureSamples.map((s: { line: string }) => s.line)).toEqual(bad.slice(0, 3));

    const perRecord = logs.filter((e) => e.message === 'record failed');
    expect(perRecord.map((e) => e.recordId)).toEqual(event.records.slice(40, 50).map((r) => r.recordId));
    for (const entry of perRecord) {
      expect(entry.reason).toBeTruthy();
      expect(entry.line).toBeUndefined();
    }
    const everything = output.join('');
    expect(everything).toContain('XYZ2');
    expect(everything).not.toContain('XYZ3'); // raw lines beyond the samples never reach the logs
    for (const line of good) expect(everything).not.toContain(line.split(' ')[1]!); // nor do good lines

    const emf = logs.find((e) => e.RecordsIn !== undefined)!;
    expect(emf).toMatchObject({ RecordsIn: 52, RecordsOk: 40, RecordsProcessingFailed: 10, RecordsDropped: 2 });
  });

  it('logs at most MAX_LOGGED_FAILURES failed records one by one', async () => {
    const event = firehoseEvent(Array.from({ length: MAX_LOGGED_FAILURES + 25 }, (_, i) => `bad ${i}`));
    const result = await handler(event);
    expect(result.records.every((r) => r.result === 'ProcessingFailed')).toBe(true);
    const logs = entries();
    expect(logs.filter((e) => e.message === 'record failed')).toHaveLength(MAX_LOGGED_FAILURES);
    expect(logs.find((e) => e.message === 'transformed batch with failed records')!.processingFailed).toBe(MAX_LOGGED_FAILURES + 25);
  });

  it('adds event.original when ALBATROSS_EVENT_ORIGINAL=true', async () => {
    vi.stubEnv('ALBATROSS_EVENT_ORIGINAL', 'true');
    try {
      const result = await handler(firehoseEvent([samples[0]!]), context);
      const document = JSON.parse(Buffer.from(result.records[0]!.data!, 'base64').toString('utf8'));
      expect(document.event.original).toBe(samples[0]);
    } finally {
      vi.unstubAllEnvs();
    }
  });

  it('keeps its response under the real 6 MB guard with the default configuration: the records that grew most go back unchanged', async () => {
    // 1 MiB of the line that expands most (bare, as another producer would send it): its documents alone
    // are about twice the Lambda response limit.
    const worstLine = measureExpansion(adversarialLines()).worstLine;
    const event = firehoseEvent(Array.from({ length: Math.ceil(2 ** 20 / worstLine.length) }, () => worstLine));
    // enriched, as the handler's default configuration does
    const unbounded = processRecords(event.records, { maxResponseBytes: Number.POSITIVE_INFINITY, enrich: sharedEnricher('all') });
    expect(unbounded.stats.responseBytes).toBeGreaterThan(RESPONSE_GUARD_BYTES);
    expect(RESPONSE_GUARD_BYTES).toBeLessThan(LAMBDA_RESPONSE_LIMIT_BYTES);

    const result = await handler(event, context);
    // What the Lambda runtime would send back: the serialized result.
    const responseBytes = Buffer.byteLength(JSON.stringify(result));
    expect(responseBytes).toBeLessThanOrEqual(RESPONSE_GUARD_BYTES);
    expect(responseBytes).toBeGreaterThan(RESPONSE_GUARD_BYTES / 2); // only as many records as needed were demoted
    expect(result.records.map((r) => r.recordId)).toEqual(event.records.map((r) => r.recordId));
    const demoted = result.records.filter((r, i) => r.result === 'ProcessingFailed' && unbounded.records[i]!.result === 'Ok');
    expect(demoted.length).toBeGreaterThan(0);
    result.records.forEach((record, i) => {
      if (record.result === 'ProcessingFailed') expect(record.data).toBe(event.records[i]!.data); // unchanged, for the backup
      else expect(record).toEqual(unbounded.records[i]);
    });
    const emf = entries().find((e) => e.RecordsIn !== undefined)!;
    expect(emf.RecordsProcessingFailed).toBe(demoted.length + unbounded.stats.processingFailed);
  });
});
