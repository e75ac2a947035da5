// The local delivery stream against the real engine and the real transform handler.
import './quiet-lambdas.ts';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Client } from '@opensearch-project/opensearch';
import type { Context, FirehoseTransformationEvent, FirehoseTransformationResult } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { withUtcDays } from '../../utc-days.ts';
import { DeliveryStream, OPENSEARCH_FAILED, PROCESSING_FAILED, type DeliveryStreamOptions, type FirehoseErrorRecord } from '../../../scripts/local/delivery-stream.ts';
import type { AcceptedRecord } from '../../../scripts/local/firehose-server.ts';
import { generateObjects } from '../../../scripts/local/generator.ts';
import { countDocuments, countDuplicates, refresh } from '../../../scripts/local/report.ts';
import { runBackfill } from '../../../scripts/backfill/run.ts';
import { folderSource } from '../../../scripts/backfill/sources.ts';
import { handler } from '../../../transform/firehose-transform/handler.ts';
import { encodeRecord } from '../../../transform/envelope.ts';
import { PROCESSOR_BUFFER_SIZE_MB } from '../../../transform/firehose-transform/limits.ts';
import { installTemplates } from '../../../templates/install.ts';
import { removeIndicesAndTemplates } from '../../opensearch-cleanup.ts';
import { gunzipSync } from 'node:zlib';

const client = new Client({ node: process.env.OPENSEARCH_URL! });
const prefix = `test-delivery-${Date.now()}`;
const lines = [...generateObjects({ lines: 1500, days: 1, seed: 5, files: 1, end: new Date('2026-01-01T00:00:00Z') })]
  .flatMap((o) => gunzipSync(o.body).toString('utf8').split('\n').filter(Boolean));
let run = 0;

function records(count: number): Buffer[] {
  run++;
  // Distinct sources per test, so event ids (and documents) never collide between tests.
  return lines.slice(0, count).map((line, i) => encodeRecord({ bucket: 'unit', key: `run-${run}.log.gz`, offset: i * 1000 }, line));
}

/** Records as the local Firehose hands them over: base64 text and decoded size. */
function wire(data: Buffer[]): AcceptedRecord[] {
  return data.map((d) => ({ base64: d.toString('base64'), bytes: d.length }));
}

async function backup(directory: string, type: string): Promise<FirehoseErrorRecord[]> {
  const root = path.join(directory, 'errors', type);
  const entries = await readdir(root, { recursive: true, withFileTypes: true }).catch(() => []);
  const out: FirehoseErrorRecord[] = [];
  for (const e of entries) {
    if (!e.isFile()) continue;
    for (const line of (await readFile(path.join(e.parentPath, e.name), 'utf8')).split('\n')) if (line) out.push(JSON.parse(line));
  }
  return out;
}

/** Backup folders of this file's streams, removed afterwards (even when a test fails). */
const directories: string[] = [];

async function stream(options: Partial<DeliveryStreamOptions> = {}): Promise<{ delivery: DeliveryStream; directory: string }> {
  const directory = await mkdtemp(path.join(tmpdir(), 'albatross-delivery-'));
  directories.push(directory);
  const delivery = new DeliveryStream({ client, transform: handler, indexPrefix: prefix, backupDirectory: directory, bufferIntervalMs: 50, ...options });
  return { delivery, directory };
}

describe('local delivery stream', () => {
  beforeAll(async () => {
    await installTemplates(client, { indexPrefix: prefix, replicas: 0, log: () => undefined });
  }, 120_000);
  afterAll(async () => {
    for (const directory of directories) await rm(directory, { recursive: true, force: true });
    await removeIndicesAndTemplates(client, prefix);
    await client.close();
  });

  it('invokes the transform with genuine events within the processor buffer, and indexes by arrival day', async () => {
    const events: FirehoseTransformationEvent[] = [];
    // A recording wrapper around the real handler (it still does all the work).
    const recording = async (event: FirehoseTransformationEvent, context: Context) => {
      events.push(event);
      return handler(event, context);
    };
    const { delivery } = await stream({ transform: recording, bufferSizeBytes: 4 * 2 ** 20 });
    const input = records(1200);
    const { days } = await withUtcDays(async () => {
      for (let i = 0; i < input.length; i += 500) await delivery.accept('albatross-test', wire(input.slice(i, i + 500)));
      await delivery.drain();
    });
    expect(delivery.stats).toMatchObject({ recordsReceived: 1200, ok: 1200, indexed: 1200, processingFailed: 0, deliveryFailed: 0 });
    expect(events.length).toBeGreaterThan(1);
    const ids = new Set<string>();
    for (const event of events) {
      expect(event.deliveryStreamArn).toBe('arn:aws:firehose:us-east-1:123456789012:deliverystream/albatross-test');
      expect(event.invocationId).toMatch(/^[0-9a-f-]{36}$/);
      const bytes = event.records.reduce((sum, r) => sum + Buffer.from(r.data, 'base64').length, 0);
      expect(bytes).toBeLessThanOrEqual(PROCESSOR_BUFFER_SIZE_MB * 2 ** 20);
      for (const r of event.records) {
        expect(ids.has(r.recordId)).toBe(false);
        ids.add(r.recordId);
        expect(Math.abs(r.approximateArrivalTimestamp - Date.now())).toBeLessThan(120_000);
      }
    }
    expect(ids.size).toBe(1200);
    await refresh(client, `${prefix}-*`);
    // The arrival day's index (or the two days' indices, if the delivery crossed midnight).
    const dayIndices = days.map((day) => `${prefix}-${day}`).join(',');
    expect(await countDocuments(client, dayIndices, { prefix: { 'log.file.path': `s3://unit/run-${run}.log.gz` } })).toBe(1200);
  }, 120_000);

  it('retries rejected bulk items until all are in, without duplicates', async () => {
    const { delivery } = await stream({ bulkRejectRate: 0.25, seed: 3 });
    await delivery.accept('albatross-test', wire(records(800)));
    await delivery.drain();
    expect(delivery.stats.injectedRejections).toBeGreaterThan(150);
    expect(delivery.stats.itemRetries).toBeGreaterThan(150);
    expect(delivery.stats.indexed).toBe(800);
    await refresh(client, `${prefix}-*`);
    const scope = { prefix: { 'log.file.path': `s3://unit/run-${run}.log.gz` } };
    expect(await countDocuments(client, `${prefix}-*`, scope)).toBe(800);
    expect(await countDuplicates(client, `${prefix}-*`, scope)).toBe(0);
  }, 120_000);

  it('backs up documents still rejected when the retry window closes, in the OpenSearch-failed format', async () => {
    // A retry window of 0: the first rejection of an item is final (no timing window), as when Firehose's closes.
    const { delivery, directory } = await stream({ bulkRejectRate: 0.9, retryDurationMs: 0, seed: 9 });
    await delivery.accept('albatross-test', wire(records(300)));
    await delivery.drain();
    const { indexed, deliveryFailed, ok } = delivery.stats;
    expect(deliveryFailed).toBeGreaterThan(0);
    expect(indexed + deliveryFailed).toBe(ok);
    const failed = await backup(directory, OPENSEARCH_FAILED);
    expect(failed).toHaveLength(deliveryFailed);
    for (const r of failed) {
      expect(r.errorCode).toBe('429');
      expect(r.esIndexName).toMatch(new RegExp(`^${prefix}-\\d{4}-\\d{2}-\\d{2}$`));
      expect(r.esDocumentId).toBeTruthy();
      expect(r.attemptsMade).toBeGreaterThanOrEqual(1);
      // The transformed document is kept, so it can be re-sent as is.
      expect(JSON.parse(Buffer.from(r.rawData, 'base64').toString('utf8')).event.id).toBeTruthy();
    }
    // Replayed once the engine takes them again (`albatross backfill --firehose-errors`): every document of the run then exists exactly once.
    const replay = await runBackfill({
      client, source: folderSource(path.join(directory, 'errors')), indexPrefix: prefix, firehoseErrors: true,
      stateFile: path.join(directory, 'replay.state.json'), failuresFile: path.join(directory, 'replay.failures.ndjson'),
    });
    expect(replay).toMatchObject({ indexed: deliveryFailed, failed: 0, objectsFailed: [] });
    await refresh(client, `${prefix}-*`);
    const scope = { prefix: { 'log.file.path': `s3://unit/run-${run}.log.gz` } };
    expect(await countDocuments(client, `${prefix}-*`, scope)).toBe(ok);
    expect(await countDuplicates(client, `${prefix}-*`, scope)).toBe(0);
  }, 120_000);

  it('writes ProcessingFailed records raw with their reason, and Dropped ones nowhere', async () => {
    const { delivery, directory } = await stream();
    const bad = 'this line is not an ALB log line';
    await delivery.accept('albatross-test', wire([Buffer.from(bad), Buffer.from(''), ...records(3)]));
    await delivery.drain();
    expect(delivery.stats).toMatchObject({ recordsReceived: 5, ok: 3, indexed: 3, processingFailed: 1, dropped: 1 });
    const failed = await backup(directory, PROCESSING_FAILED);
    expect(failed).toHaveLength(1);
    expect(Buffer.from(failed[0]!.rawData, 'base64').toString('utf8')).toBe(bad);
    expect(failed[0]!.errorCode).toBe('Lambda.ProcessingFailedStatus');
    expect(failed[0]!.errorMessage).toMatch(/field/);
  }, 60_000);

  it('retries a failing invocation, then backs the whole batch up as processing-failed', async () => {
    // A Lambda that crashes cannot be caused with the real handler; this one throws on purpose.
    let calls = 0;
    const flaky = async (event: FirehoseTransformationEvent, context: Context) => {
      calls++;
      if (calls <= 2) throw new Error('Task timed out after 60.00 seconds');
      return handler(event, context);
    };
    const first = await stream({ transform: flaky });
    await first.delivery.accept('albatross-test', wire(records(20)));
    await first.delivery.drain();
    expect(first.delivery.stats).toMatchObject({ invocationRetries: 2, indexed: 20, processingFailed: 0 });

    const broken = async (): Promise<never> => {
      throw new Error('Runtime.ExitError');
    };
    const second = await stream({ transform: broken });
    const input = records(10);
    await second.delivery.accept('albatross-test', wire(input));
    await second.delivery.drain();
    expect(second.delivery.stats).toMatchObject({ invocations: 4, processingFailed: 10, indexed: 0 });
    const failed = await backup(second.directory, PROCESSING_FAILED);
    expect(failed.map((r) => Buffer.from(r.rawData, 'base64'))).toEqual(input);
    for (const r of failed) expect(r).toMatchObject({ attemptsMade: 4, errorCode: 'Lambda.FunctionError', errorMessage: 'Runtime.ExitError' });
  }, 60_000);
  it('matches results to records by id when a transform answers out of order, and backs up an Ok record whose data is not base64', async () => {
    // A transform that reorders and corrupts cannot be caused with the real handler; this wrapper
    // runs the real one, then reverses its answer and breaks the data of one Ok record.
    const reordering = async (event: FirehoseTransformationEvent, context: Context) => {
      const result = (await handler(event, context)) as FirehoseTransformationResult;
      const records = [...result.records].reverse();
      records[0] = { ...records[0]!, data: '%%% not base64 %%%' };
      return { records };
    };
    const { delivery, directory } = await stream({ transform: reordering });
    const input = records(12);
    await delivery.accept('albatross-test', wire(input));
    await delivery.drain();
    expect(delivery.stats).toMatchObject({ recordsReceived: 12, ok: 12, indexed: 11, deliveryFailed: 1, processingFailed: 0 });
    const failed = await backup(directory, OPENSEARCH_FAILED);
    expect(failed).toHaveLength(1);
    expect(failed[0]).toMatchObject({ errorCode: '400', rawData: '%%% not base64 %%%' });
    expect(failed[0]!.errorMessage).toMatch(/not standard base64/);
    // The eleven others are the right documents: their sources are the last eleven input records' lines.
    await refresh(client, `${prefix}-*`);
    const response = await client.search({ index: `${prefix}-*`, body: { size: 20, query: { term: { 'log.file.path': `s3://unit/run-${run}.log.gz` } }, _source: ['log.offset'] } });
    const offsets = (response.body.hits.hits as { _source: { log: { offset: number } } }[]).map((h) => h._source.log.offset).sort((a, b) => a - b);
    expect(offsets).toEqual(Array.from({ length: 11 }, (_, i) => i * 1000));
  }, 60_000);
});
