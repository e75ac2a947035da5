// Direct delivery against the real engine and the local S3 stand-in: documents by event time with
// _id = event.id, failures as Firehose error records that `backfill --firehose-errors` replays,
// and an object delivered twice (an SQS redelivery after a crash mid-object) adding no document.
import './../../scripts/local/quiet-lambdas.ts';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { HeadObjectCommand } from '@aws-sdk/client-s3';
import { Client } from '@opensearch-project/opensearch';
import type { Context, SQSEvent } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { runBackfill } from '../../../scripts/backfill/run.ts';
import { folderSource } from '../../../scripts/backfill/sources.ts';
import { countDocuments, countDuplicates, indexCounts, refresh } from '../../../scripts/local/report.ts';
import type { S3EventNotification } from '../../../scripts/local/s3-server.ts';
import { installTemplates } from '../../../templates/install.ts';
import { sendBulk } from '../../../templates/opensearch-client.ts';
import { documentKeys } from '../../../transform/bulk-index/index-lines.ts';
import { DynamoDbCheckpointStore, MemoryCheckpointStore } from '../../../transform/loader/checkpoint.ts';
import { LoadInterruptedError } from '../../../transform/loader/load-object.ts';
import { decodeRecord } from '../../../transform/envelope.ts';
import { PROCESSING_FAILED, type FirehoseErrorRecord } from '../../../transform/firehose-error-record.ts';
import { startLocalDynamoDb, type LocalDynamoDb } from '../../dynamodb-local.ts';
import { loadObjectDirect, type DirectDelivery } from '../../../transform/loader/direct.ts';
import { DirectoryErrorRecordSink } from '../../../transform/loader/error-records.ts';
import { MemoryFailureSink } from '../../../transform/loader/failures.ts';
import { createHandler } from '../../../transform/loader/handler.ts';
import { createLogger, createMetrics, SERVICE_NAMES } from '../../../transform/observability.ts';
import { parseAlbLineToJson } from '../../../transform/parser/index.ts';
import { Semaphore } from '../../../transform/semaphore.ts';
import { enricherForLambda } from '../../../transform/enrich/data.ts';
import { encodeRecord } from '../../../transform/envelope.ts';
import { processRecords } from '../../../transform/firehose-transform/process.ts';
import { firehoseEvent } from '../../../scripts/transform-fixtures.ts';
import { removeIndicesAndTemplates } from '../../opensearch-cleanup.ts';
import { corpusAccessLines } from '../../corpus.ts';
import { BUCKET, accessLogKey, gzipText, logLines, startStandIns, type StandIns } from './harness.ts';

const client = new Client({ node: process.env.OPENSEARCH_URL! });
const prefix = `test-direct-${Date.now()}`;
let env: StandIns;
let work: string;
let dynamodb: LocalDynamoDb;
const notifications: S3EventNotification[] = [];

beforeAll(async () => {
  await installTemplates(client, { indexPrefix: prefix, replicas: 0, log: () => undefined });
  env = await startStandIns({ onObjectCreated: (n) => notifications.push(n) });
  dynamodb = await startLocalDynamoDb();
  work = await mkdtemp(path.join(tmpdir(), 'albatross-direct-'));
});
afterAll(async () => {
  await env.stop();
  await dynamodb.stop();
  await removeIndicesAndTemplates(client, prefix);
  await client.close();
  await rm(work, { recursive: true, force: true });
});

function delivery(errorsDirectory: string, extra: Partial<DirectDelivery> = {}): DirectDelivery {
  return { client, indexPrefix: prefix, errors: new DirectoryErrorRecordSink(errorsDirectory), bulkSlots: new Semaphore(2), retryWindowMs: 5_000, ...extra };
}

/** The event days and ids of the lines that parse, from the parser itself. */
function goodDocuments(lines: string[], key: string): Map<string, string> {
  const byId = new Map<string, string>();
  let offset = 0;
  for (const line of lines) {
    const parsed = parseAlbLineToJson(line, { source: { bucket: BUCKET, key, offset } });
    if (parsed.kind === 'document') {
      const keys = documentKeys(parsed.json)!;
      byId.set(keys.id, keys.day);
    }
    offset += Buffer.byteLength(line) + 1;
  }
  return byId;
}

/** The parser-rejected lines' offsets in the error-record files under `directory` (one entry per record). */
async function processingFailedOffsets(directory: string): Promise<number[]> {
  const offsets: number[] = [];
  const root = path.join(directory, 'errors', PROCESSING_FAILED);
  for (const file of await readdir(root, { recursive: true, withFileTypes: true })) {
    if (!file.isFile()) continue;
    const text = await readFile(path.join(file.parentPath, file.name), 'utf8');
    for (const line of text.split('\n').filter((l) => l !== '')) {
      offsets.push(decodeRecord(Buffer.from((JSON.parse(line) as FirehoseErrorRecord).rawData, 'base64')).source!.offset);
    }
  }
  return offsets.sort((a, b) => a - b);
}

async function total(scope = `s3://${BUCKET}/`): Promise<number> {
  await refresh(client, `${prefix}-*`);
  return countDocuments(client, `${prefix}-*`, { prefix: { 'log.file.path': scope } });
}

describe('direct delivery', () => {
  it('indexes by event time, keeps parser rejects and refused documents as Firehose error records, and the replay brings them back', async () => {
    // Its own index family: it creates and deletes an event day's index, which other tests may fill too.
    const own = `test-direct-own-${Date.now()}`;
    await installTemplates(client, { indexPrefix: own, replicas: 0, log: () => undefined });
    onTestFinished(() => removeIndicesAndTemplates(client, own));
    const key = accessLogKey('direct1');
    const lines = [...corpusAccessLines(), 'this is not an ALB line', '', 'http 2026-01-01T00:00:00Z broken'];
    const good = goodDocuments(lines, key);
    const days = [...new Set(good.values())].sort();
    expect(days.length).toBeGreaterThan(1);
    // One event day's index exists with @timestamp mapped as boolean: the engine refuses those documents (a real 400).
    const refusedDay = days[0]!;
    const refusedCount = [...good.values()].filter((d) => d === refusedDay).length;
    await client.indices.create({ index: `${own}-${refusedDay}`, body: { mappings: { properties: { '@timestamp': { type: 'boolean' } } } } });
    await env.put(key, gzipText(lines.join('\n') + '\n'));

    const errors = path.join(work, 'backup1');
    const failures = new MemoryFailureSink();
    const result = await loadObjectDirect({ ...delivery(errors, { indexPrefix: own }), s3: env.s3, checkpoints: new MemoryCheckpointStore(), failures, bucket: BUCKET, key });
    expect(result.status).toBe('loaded');
    expect(result.lines).toBe(lines.length);
    expect(result.parseFailed).toBe(2);
    expect(result.refused).toBe(refusedCount);
    expect(result.indexed).toBe(good.size - refusedCount);
    expect(result.indexed + result.refused + result.parseFailed + result.skipped).toBe(result.lines);
    expect(result.indices).toEqual(days.map((d) => `${own}-${d}`));
    // Each document in the index of its event day, under its event.id.
    await refresh(client, `${own}-*`);
    expect((await indexCounts(client, `${own}-*`, { prefix: { 'log.file.path': `s3://${BUCKET}/${key}` } })).map((c) => c.index))
      .toEqual(days.slice(1).map((d) => `${own}-${d}`));
    const [someId, someDay] = [...good.entries()].find(([, d]) => d !== refusedDay)!;
    const found = await client.get({ index: `${own}-${someDay}`, id: someId });
    expect(found.body.found).toBe(true);

    // The replay: parse failures stay failures (with their reasons), refused documents go in once the index is fixed.
    await client.indices.delete({ index: `${own}-${refusedDay}` });
    const replay = await runBackfill({
      client, source: folderSource(errors), indexPrefix: own, firehoseErrors: true,
      stateFile: path.join(work, 'replay.state.json'), failuresFile: path.join(work, 'replay.failures.ndjson'),
    });
    expect(replay.failed).toBe(2);
    expect(replay.indexed).toBe(refusedCount);
    await refresh(client, `${own}-*`);
    expect(await countDocuments(client, `${own}-*`, { prefix: { 'log.file.path': `s3://${BUCKET}/${key}` } })).toBe(good.size);
    expect(await countDuplicates(client, `${own}-*`)).toBe(0);
    expect(failures.failures).toHaveLength(0);
  }, 180_000);

  it('an object delivered twice (SQS redelivery after a crash mid-object) adds no document', async () => {
    const key = accessLogKey('direct2');
    const lines = logLines(3000, 7);
    const good = goodDocuments(lines, key);
    const before = await total();
    await env.put(key, gzipText(lines.join('\n') + '\n'));
    const notification = notifications.find((n) => n.Records[0]!.s3.object.key.includes('direct2'))!;
    const event: SQSEvent = {
      Records: [{
        messageId: 'm1', receiptHandle: 'h1', body: JSON.stringify(notification),
        attributes: { ApproximateReceiveCount: '1', SentTimestamp: '0', SenderId: 's3', ApproximateFirstReceiveTimestamp: '0' },
        messageAttributes: {}, md5OfBody: '', eventSource: 'aws:sqs', eventSourceARN: 'arn:aws:sqs:us-east-2:123456789012:q', awsRegion: 'us-east-2',
      }],
    };
    const checkpoints = new MemoryCheckpointStore();
    const errors = path.join(work, 'backup2');
    const handler = (direct: DirectDelivery) => createHandler({
      s3: env.s3, checkpoints, failures: new MemoryFailureSink(),
      logger: createLogger(SERVICE_NAMES.loader), metrics: createMetrics(SERVICE_NAMES.loader), direct,
    });
    const context = { functionName: 'loader', awsRequestId: 'r', getRemainingTimeInMillis: () => 300_000 } as unknown as Context;
    // The crash mid-object: the first `_bulk` request reaches the engine, then the invocation dies
    // (a thrown error stands in for the process ending; the documents of that request stay indexed).
    let requests = 0;
    const crashed = await handler(delivery(errors, {
      bulkBytes: 64 * 1024, bulkSlots: new Semaphore(1),
      send: async (c, body, documents) => {
        const items = await sendBulk(c, body, documents);
        if (++requests === 1) throw Object.assign(new Error('invocation ended mid-object'), { meta: { statusCode: 400 } });
        return items;
      },
    }))(event, context);
    expect(crashed.batchItemFailures.map((f) => f.itemIdentifier)).toEqual(['m1']);
    const afterCrash = await total();
    expect(afterCrash - before).toBeGreaterThan(0);
    expect(afterCrash - before).toBeLessThan(good.size);

    // SQS delivers the message again: the object is indexed from the start, the first part overwritten.
    const redelivered = handler(delivery(errors));
    const again = await redelivered(event, context);
    expect(again.batchItemFailures).toEqual([]);
    expect(await total() - before).toBe(good.size);
    expect(await countDuplicates(client, `${prefix}-*`)).toBe(0);
    // A third delivery of a done object reads nothing and changes nothing.
    const third = await redelivered(event, context);
    expect(third.batchItemFailures).toEqual([]);
    expect(await total() - before).toBe(good.size);
  }, 180_000);
  it('an object interrupted mid-way resumes at its checkpoint: every line indexed once, every failure stored once', async () => {
    const key = accessLogKey('direct-resume');
    // Bad lines all through the object: some before the checkpoint, some after.
    const lines = logLines(4000, 3).map((line, i) => (i % 397 === 11 ? `not an ALB line ${i}` : line));
    const offsets: number[] = [];
    lines.reduce((offset, line) => (offsets.push(offset), offset + Buffer.byteLength(line) + 1), 0);
    const bad = lines.flatMap((line, i) => (line.startsWith('not an ALB line') ? [offsets[i]!] : []));
    expect(bad.length).toBeGreaterThan(5);
    const good = goodDocuments(lines, key);
    await env.put(key, gzipText(lines.join('\n') + '\n'));
    await dynamodb.createCheckpointTable('resume-checkpoints');
    const checkpoints = new DynamoDbCheckpointStore(dynamodb.client, 'resume-checkpoints');
    const errors = path.join(work, 'backup-resume');
    const options = { s3: env.s3, checkpoints, failures: new MemoryFailureSink(), bucket: BUCKET, key };
    const scope = `s3://${BUCKET}/${key}`;

    // The deadline passes after the second acknowledged `_bulk` request (a checkpoint after every one).
    const deadline = new AbortController();
    let requests = 0;
    const interrupted = loadObjectDirect({
      ...delivery(errors, {
        bulkBytes: 64 * 1024, bulkSlots: new Semaphore(1), checkpointEvery: { milliseconds: 0 },
        send: async (c, body, documents) => {
          const items = await sendBulk(c, body, documents);
          if (++requests === 2) deadline.abort(new Error('deadline'));
          return items;
        },
      }),
      ...options, signal: deadline.signal,
    });
    await expect(interrupted).rejects.toBeInstanceOf(LoadInterruptedError);
    const partial = await total(scope);
    expect(partial).toBeGreaterThan(0);
    expect(partial).toBeLessThan(good.size);

    // The next delivery starts at the checkpoint: the lines before it are only read, not indexed again.
    let resumedRequests = 0;
    const resumed = await loadObjectDirect({
      ...delivery(errors, { send: async (c, body, documents) => (resumedRequests++, sendBulk(c, body, documents)) }),
      ...options, redelivered: true,
    });
    expect(resumed.status).toBe('loaded');
    expect(resumed.lines).toBe(lines.length);
    expect(resumed.resumedLines).toBeGreaterThan(0);
    expect(resumed.resumedLines).toBeLessThan(lines.length);
    // Exactly the lines after the checkpoint were parsed and indexed.
    const kinds = lines.slice(resumed.resumedLines)
      .map((line, i) => parseAlbLineToJson(line, { source: { bucket: BUCKET, key, offset: offsets[resumed.resumedLines + i]! } }).kind);
    expect(resumed.indexed).toBe(kinds.filter((k) => k === 'document').length);
    expect(resumed.parseFailed).toBe(kinds.filter((k) => k === 'failed').length);
    expect(resumed.parseFailed).toBeLessThan(bad.length);
    expect(resumedRequests).toBeGreaterThan(0);

    // Every line once: documents under their from-the-start event.id, failures once each.
    expect(await total(scope)).toBe(good.size);
    expect(await countDuplicates(client, `${prefix}-*`)).toBe(0);
    for (const [id, day] of [...good].slice(-5)) expect((await client.get({ index: `${prefix}-${day}`, id })).body.found).toBe(true);
    expect(await processingFailedOffsets(errors)).toEqual(bad);
  }, 180_000);

  it('a failure file left by a run that died before its checkpoint is replaced, not doubled, by the redelivery', async () => {
    const key = accessLogKey('direct-orphan');
    const lines = logLines(400, 5).map((line, i) => (i === 20 ? 'not an ALB line at 20' : line));
    const badOffset = lines.slice(0, 20).reduce((offset, line) => offset + Buffer.byteLength(line) + 1, 0);
    await env.put(key, gzipText(lines.join('\n') + '\n'));
    const store = new MemoryCheckpointStore();
    const errors = path.join(work, 'backup-orphan');
    const options = { s3: env.s3, failures: new MemoryFailureSink(), bucket: BUCKET, key };
    // A stand-in for a crash between storing the first slice's failures and committing its checkpoint
    // (a mock: the process cannot be killed at exactly that point here). Releasing the lease still works.
    const dying = {
      claim: store.claim.bind(store),
      async commit(...args: Parameters<MemoryCheckpointStore['commit']>) {
        if (!args[3]?.release) throw new Error('died before the checkpoint');
        return store.commit(...args);
      },
    };
    // Large requests: the first checkpoint would cover line 20, whose failure file is already stored.
    await expect(loadObjectDirect({ ...delivery(errors, { bulkBytes: 256 * 1024, checkpointEvery: { milliseconds: 0 } }), ...options, checkpoints: dying }))
      .rejects.toThrow('died before the checkpoint');
    expect(await processingFailedOffsets(errors)).toEqual([badOffset]);
    expect(store.get({ bucket: BUCKET, key, etag: (await env.s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: key }))).ETag!.replace(/"/g, '') })?.lines).toBe(0);

    // The redelivery checkpoints sooner (small requests): its first slice ends before line 20 and has no failure.
    const again = await loadObjectDirect({
      ...delivery(errors, { bulkBytes: 16 * 1024, bulkSlots: new Semaphore(1), checkpointEvery: { milliseconds: 0 } }), ...options, checkpoints: store, redelivered: true,
    });
    expect(again.resumedLines).toBe(0);
    expect(again.parseFailed).toBe(1);
    expect(await processingFailedOffsets(errors)).toEqual([badOffset]);
  }, 120_000);

  it('enriches access-log documents exactly as the transform does (the Lambda\'s environment-built enricher)', async () => {
    const key = accessLogKey('direct-enrich');
    const lines = corpusAccessLines();
    await env.put(key, gzipText(lines.join('\n') + '\n'));
    // What the direct loader and the backfill worker build from their environment (ALBATROSS_ENRICH default: all parts).
    const enrich = await enricherForLambda({});
    expect(enrich).toBeDefined();
    await loadObjectDirect({ ...delivery(path.join(work, 'backup-enrich'), { enrich: enrich! }), s3: env.s3, checkpoints: new MemoryCheckpointStore(), failures: new MemoryFailureSink(), bucket: BUCKET, key });
    // The transform's documents for the same lines from the same object, through Firehose's envelope.
    let offset = 0;
    const records = lines.map((line) => {
      const record = encodeRecord({ bucket: BUCKET, key, offset }, line);
      offset += Buffer.byteLength(line) + 1;
      return record;
    });
    const transformed = processRecords(firehoseEvent(records).records, { enrich: enrich! }).records
      .filter((r) => r.result === 'Ok')
      .map((r) => JSON.parse(Buffer.from(r.data ?? '', 'base64').toString('utf8')) as { event: { id: string }; '@timestamp': string; source?: { geo?: unknown } });
    expect(transformed.some((d) => d.source?.geo !== undefined)).toBe(true);
    await refresh(client, `${prefix}-*`);
    for (const document of transformed) {
      const found = await client.get({ index: `${prefix}-${document['@timestamp'].slice(0, 10)}`, id: document.event.id });
      expect(found.body._source).toEqual(document);
    }
  }, 120_000);
});
