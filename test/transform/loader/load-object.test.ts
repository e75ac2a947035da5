// loadObject through the real S3 and Firehose SDK clients against the loopback stand-ins.
import { mkdtemp, readdir, readFile } from 'node:fs/promises';
import os from 'node:os';
import { constants, gunzipSync } from 'node:zlib';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startLocalDynamoDb } from '../../dynamodb-local.ts';
import { CheckpointConflictError, DynamoDbCheckpointStore, MemoryCheckpointStore } from '../../../transform/loader/checkpoint.ts';
import { DirectoryFailureSink, MemoryFailureSink, RECORD_TOO_LARGE } from '../../../transform/loader/failures.ts';
import {
  CorruptObjectError, FIREHOSE_LIMITS, loadObject, LoadInterruptedError, LoadObjectError, ObjectChangedError,
  type LoadObjectOptions,
} from '../../../transform/loader/load-object.ts';
import { createRandom } from '../../../scripts/local/random.ts';
import {
  ACCESS_LOG_KEY, BUCKET, STREAM, delivered, expectExactlyOnce, expectedLines, gzipText, logLines, startStandIns,
  type StandIns,
} from './harness.ts';

// A retry time of 0: the first call that leaves records unaccepted ends the load, whatever the machine's speed
// (no timing window). Backoff still runs its code path: the next delay would exceed the time left.
const NO_RETRY_TIME = { baseDelayMs: 1, maxDelayMs: 5, maxRetryTimeMs: 0 };

let env: StandIns;
beforeEach(async () => { env = await startStandIns(); });
afterEach(async () => { await env.stop(); });

function options(extra: Partial<LoadObjectOptions> = {}): LoadObjectOptions {
  return {
    s3: env.s3, firehose: env.firehose, deliveryStream: STREAM, bucket: BUCKET, key: ACCESS_LOG_KEY,
    checkpoints: new MemoryCheckpointStore(), failures: new MemoryFailureSink(),
    retry: { baseDelayMs: 1, maxDelayMs: 20, maxRetryTimeMs: 20_000 }, random: createRandom(7),
    ...extra,
  };
}

describe('loadObject', () => {
  it('sends every line once, with its source, in batches within the limits', async () => {
    const text = logLines(3000).join('\n') + '\n';
    await env.put(ACCESS_LOG_KEY, gzipText(text));
    const result = await loadObject(options({ concurrency: 4 }));
    expect(result).toMatchObject({ status: 'loaded', lines: 3000, recordsSent: 3000, bytes: Buffer.byteLength(text), failedLines: 0 });
    expectExactlyOnce(env.sink.records, ACCESS_LOG_KEY, text);
    expect(Math.max(...env.sink.calls)).toBeLessThanOrEqual(500);
    expect(env.sink.calls.length).toBe(Math.ceil(3000 / 500));
  });

  it('keeps each call under the byte limit as well as the record limit', async () => {
    const text = logLines(400).join('\n');   // no final newline: the last line still counts
    await env.put(ACCESS_LOG_KEY, gzipText(text));
    const limits = { maxBatchBytes: 20_000 };
    const result = await loadObject(options({ limits }));
    expect(result.lines).toBe(400);
    expectExactlyOnce(env.sink.records, ACCESS_LOG_KEY, text);
    let i = 0;
    for (const size of env.sink.calls) {
      const bytes = env.sink.records.slice(i, i + size).reduce((sum, r) => sum + r.length, 0);
      expect(bytes).toBeLessThanOrEqual(20_000);
      i += size;
    }
    expect(env.sink.calls.length).toBeGreaterThan(10);
  });

  it('reads multi-member gzip with continuous offsets', async () => {
    const parts = [logLines(700, 0), logLines(10, 700), logLines(900, 710)].map((lines) => lines.join('\n') + '\n');
    await env.put(ACCESS_LOG_KEY, Buffer.concat(parts.map(gzipText)));
    const result = await loadObject(options());
    expect(result.lines).toBe(1610);
    expectExactlyOnce(env.sink.records, ACCESS_LOG_KEY, parts.join(''));
  });

  it('skips empty lines and strips CRLF', async () => {
    const lines = logLines(5);
    const text = `${lines[0]}\r\n\n${lines[1]}\n\n\n${lines[2]}\r\n${lines.slice(3).join('\n')}\n`;
    await env.put(ACCESS_LOG_KEY, gzipText(text));
    const result = await loadObject(options());
    expect(result).toMatchObject({ lines: 8, emptyLines: 3, recordsSent: 5 });
    expectExactlyOnce(env.sink.records, ACCESS_LOG_KEY, text);
  });

  it('loads a zero-byte object as an object without lines', async () => {
    await env.put(ACCESS_LOG_KEY, Buffer.alloc(0));
    const result = await loadObject(options());
    expect(result).toMatchObject({ status: 'loaded', lines: 0, recordsSent: 0 });
    expect(env.sink.records).toHaveLength(0);
  });

  it('does not resend anything when the same object is loaded again', async () => {
    const text = logLines(1200).join('\n') + '\n';
    await env.put(ACCESS_LOG_KEY, gzipText(text));
    const checkpoints = new MemoryCheckpointStore();
    await loadObject(options({ checkpoints }));
    const again = await loadObject(options({ checkpoints }));
    expect(again.status).toBe('already-loaded');
    expectExactlyOnce(env.sink.records, ACCESS_LOG_KEY, text);
  });

  it('loads a replaced object (new ETag) again and refuses a stale event ETag', async () => {
    const first = logLines(10).join('\n') + '\n';
    const oldEtag = await env.put(ACCESS_LOG_KEY, gzipText(first));
    const checkpoints = new MemoryCheckpointStore();
    await loadObject(options({ checkpoints, etag: oldEtag }));
    const second = logLines(20, 50).join('\n') + '\n';
    await env.put(ACCESS_LOG_KEY, gzipText(second));
    await expect(loadObject(options({ checkpoints, etag: oldEtag }))).rejects.toBeInstanceOf(ObjectChangedError);
    const result = await loadObject(options({ checkpoints }));
    expect(result.recordsSent).toBe(20);
    expect(env.sink.records).toHaveLength(30);
  });

  it('survives a throttling storm: whole-call throttles and partial failures, every line once', async () => {
    env.localFirehose.setFaults({ throttleRate: 0.4, partialFailureRate: 0.3, seed: 42 });
    const text = logLines(2500).join('\n') + '\n';
    await env.put(ACCESS_LOG_KEY, gzipText(text));
    const result = await loadObject(options({ concurrency: 3, limits: { maxRecordsPerBatch: 100 } }));
    expect(result.throttles).toBeGreaterThan(5);
    expect(result.recordFailures).toBeGreaterThan(100);
    expect(result.retries).toBeGreaterThan(result.throttles);
    expect(env.localFirehose.stats.recordsFailed).toBe(result.recordFailures);
    expectExactlyOnce(env.sink.records, ACCESS_LOG_KEY, text);
  });

  it('gives up after the retry time, then a retry resends only what Firehose never accepted', async () => {
    const text = logLines(3000).join('\n') + '\n';
    await env.put(ACCESS_LOG_KEY, gzipText(text));
    const checkpoints = new MemoryCheckpointStore();
    // Most records of every call fail: some lines of a batch are accepted, the batch never completes.
    env.localFirehose.setFaults({ partialFailureRate: 0.9, seed: 3 });
    const error = await loadObject(options({ checkpoints, concurrency: 3, retry: NO_RETRY_TIME, random: () => 0.5 }))
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(LoadObjectError);
    expect((error as Error).message).toMatch(/did not accept \d+ of \d+ records within 0 ms/);
    const accepted = env.sink.records.length;
    expect(accepted).toBeGreaterThan(0);
    expect(accepted).toBeLessThan(3000);
    const stored = checkpoints.get({ bucket: BUCKET, key: ACCESS_LOG_KEY, etag: await head() })!;
    expect(stored.done).toBe(false);
    expect(stored.accepted.length).toBeGreaterThan(0); // accepted lines beyond the prefix are remembered

    env.localFirehose.setFaults({});
    const result = await loadObject(options({ checkpoints }));
    expect(result.recordsSent).toBe(3000 - accepted);
    expectExactlyOnce(env.sink.records, ACCESS_LOG_KEY, text);
  });

  /** A load aborted once Firehose holds `abortAt` records; it must end with LoadInterruptedError. */
  async function loadUntilAborted(checkpoints: MemoryCheckpointStore, abortAt: number, concurrency: number): Promise<void> {
    const abort = new AbortController();
    env.sink.beforeAccept = () => {
      if (env.sink.records.length >= abortAt) abort.abort();
    };
    const error = await loadObject(options({ checkpoints, signal: abort.signal, concurrency, limits: { maxRecordsPerBatch: 250 } }))
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(LoadInterruptedError);
  }

  it('stops on abort, commits what was accepted, and the retry completes without duplicates', async () => {
    const text = logLines(5000).join('\n') + '\n';
    await env.put(ACCESS_LOG_KEY, gzipText(text));
    const checkpoints = new MemoryCheckpointStore();
    await loadUntilAborted(checkpoints, 1500, 4);
    const firstRun = env.sink.records.length;
    expect(firstRun).toBeGreaterThanOrEqual(1500);
    expect(firstRun).toBeLessThan(5000);
    env.sink.beforeAccept = undefined;
    const result = await loadObject(options({ checkpoints }));
    expect(result.resumedLines).toBe(firstRun);
    expectExactlyOnce(env.sink.records, ACCESS_LOG_KEY, text);
  });

  it('counts every empty line of the object in the run that finishes it, resumed ones included', async () => {
    // An empty line after every 10th line, and a trailing one ("\n\n" at the end).
    const lines = logLines(3000).flatMap((line, i) => (i % 10 === 9 ? [line, ''] : [line]));
    const text = lines.join('\n') + '\n\n';
    const emptyLines = 300 + 1;
    await env.put(ACCESS_LOG_KEY, gzipText(text));
    const checkpoints = new MemoryCheckpointStore();
    await loadUntilAborted(checkpoints, 1000, 2);
    env.sink.beforeAccept = undefined;
    const result = await loadObject(options({ checkpoints }));
    // The first run handled a part of the object, empty lines among it; the total is still the object's.
    expect(result.resumedLines).toBeGreaterThan(1000);
    expect(result).toMatchObject({ status: 'loaded', lines: 3000 + emptyLines, emptyLines });
    expectExactlyOnce(env.sink.records, ACCESS_LOG_KEY, text);
  });

  it('records an over-long line as a failure with its location and sends the rest', async () => {
    const lines = logLines(6);
    const huge = 'x'.repeat(FIREHOSE_LIMITS.maxRecordBytes + 10);
    const text = [lines[0], lines[1], huge, lines[2], `${huge}\r`, ...lines.slice(3)].join('\n') + '\n';
    await env.put(ACCESS_LOG_KEY, gzipText(text));
    const directory = await mkdtemp(path.join(os.tmpdir(), 'loader-failures-'));
    const result = await loadObject(options({ failures: new DirectoryFailureSink(directory) }));
    const expected = expectedLines(text);
    const firstHuge = Buffer.byteLength(`${lines[0]}\n${lines[1]}\n`);
    const secondHuge = firstHuge + huge.length + 1 + Buffer.byteLength(`${lines[2]}\n`);
    expect(result).toMatchObject({ lines: 8, recordsSent: 6, failedLines: 2 });
    expect(result.failures.map((f) => [f.line, f.offset, f.length])).toEqual([[2, firstHuge, huge.length], [4, secondHuge, huge.length]]);
    expected.delete(firstHuge);
    expected.delete(secondHuge);
    const sent = delivered(env.sink.records, ACCESS_LOG_KEY, expected);
    expect(sent.missing).toEqual([]);
    expect(sent.duplicates).toEqual([]);
    const files = await readdir(directory, { recursive: true, withFileTypes: true });
    const documents = await Promise.all(files.filter((f) => f.isFile()).map(async (f) => JSON.parse(await readFile(path.join(f.parentPath, f.name), 'utf8'))));
    expect(documents.map((d) => [d.errorCode, d.source.offset, d.source.length]).sort()).toEqual(
      [[RECORD_TOO_LARGE, firstHuge, huge.length], [RECORD_TOO_LARGE, secondHuge, huge.length]].sort());
    expect(Buffer.from(documents[0].rawDataHead, 'base64').toString()).toBe('x'.repeat(1024));
  });

  it('fails a truncated gzip object with a clear error, sends no partial line, and resends nothing on retry', async () => {
    const text = logLines(4000).join('\n') + '\n';
    const gzip = gzipText(text);
    const truncated = gzip.subarray(0, Math.floor(gzip.length * 0.6));
    await env.put(ACCESS_LOG_KEY, truncated);
    const checkpoints = new MemoryCheckpointStore();
    const error = await loadObject(options({ checkpoints })).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CorruptObjectError);
    expect((error as Error).message).toMatch(/gzip data of s3:\/\/alb-logs-test\/.+ is truncated or corrupt after \d+ lines .*unexpected end of file/);
    const sent = env.sink.records.length;
    // Every line the decompressor delivered before the break went out, the error says how far
    // that was, and no partial line was sent. (zlib may drop its last chunk when it fails, so the
    // count can be below the complete lines in the readable part.)
    const { stats } = error as CorruptObjectError;
    expect(sent).toBe(stats.lines);
    expect((error as Error).message).toContain(`after ${stats.lines} lines / ${stats.bytes} uncompressed bytes`);
    const readable = gunzipSync(truncated, { finishFlush: constants.Z_SYNC_FLUSH }).toString();
    expect(sent).toBeLessThanOrEqual(readable.split('\n').length - 1);
    expect(sent).toBeGreaterThan(1000);
    expect(checkpoints.get({ bucket: BUCKET, key: ACCESS_LOG_KEY, etag: await head() })).toMatchObject({ lines: sent, bytes: stats.bytes, done: false });
    const result = delivered(env.sink.records, ACCESS_LOG_KEY, expectedLines(text));
    expect(result.duplicates).toEqual([]);
    expect(result.counts.size).toBe(sent); // every record is a complete line of the object

    // The retry resumes from the checkpoint: nothing is sent twice. zlib may hand over a few more
    // of the readable lines this time (see above); those are new lines, never repeats.
    const again = await loadObject(options({ checkpoints })).catch((e: unknown) => e);
    expect(again).toBeInstanceOf(CorruptObjectError);
    const afterRetry = delivered(env.sink.records, ACCESS_LOG_KEY, expectedLines(text));
    expect(afterRetry.duplicates).toEqual([]);
    expect(env.sink.records.length).toBe(afterRetry.counts.size);
    expect(env.sink.records.length).toBeGreaterThanOrEqual(sent);
    expect(env.sink.records.length).toBeLessThanOrEqual(readable.split('\n').length - 1);
  });

  it('refuses to resume from a checkpoint that does not match the object', async () => {
    const text = logLines(50).join('\n') + '\n';
    const etag = await env.put(ACCESS_LOG_KEY, gzipText(text));
    const checkpoints = new MemoryCheckpointStore();
    const object = { bucket: BUCKET, key: ACCESS_LOG_KEY, etag };
    await checkpoints.claim(object, 'earlier', Date.now() + 1000);
    await checkpoints.commit(object, 'earlier', { lines: 10, bytes: 5, accepted: [], done: false }, { release: true });
    const error = await loadObject(options({ checkpoints })).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(LoadObjectError);
    expect((error as Error).message).toMatch(/checkpoint says line 10 starts at byte 5, the object has it at \d+/);
    expect(env.sink.records).toHaveLength(0);
    expect(checkpoints.get(object)).toMatchObject({ lines: 10, bytes: 5, done: false });
  });

  it('resumes through the DynamoDB checkpoint store (dynalite) without resending', async () => {
    const dynamodb = await startLocalDynamoDb();
    try {
      await dynamodb.createCheckpointTable('checkpoints');
      const checkpoints = new DynamoDbCheckpointStore(dynamodb.client, 'checkpoints');
      const text = logLines(2500).join('\n') + '\n';
      await env.put(ACCESS_LOG_KEY, gzipText(text));
      env.localFirehose.setFaults({ partialFailureRate: 0.9, seed: 11 });
      const error = await loadObject(options({ checkpoints, concurrency: 3, retry: NO_RETRY_TIME, random: () => 0.5 }))
        .catch((e: unknown) => e);
      expect(error).toBeInstanceOf(LoadObjectError);
      const firstRun = env.sink.records.length;
      expect(firstRun).toBeGreaterThan(0);
      env.localFirehose.setFaults({});
      const result = await loadObject(options({ checkpoints }));
      expect(result.recordsSent).toBe(2500 - firstRun);
      expect((await loadObject(options({ checkpoints }))).status).toBe('already-loaded');
      expectExactlyOnce(env.sink.records, ACCESS_LOG_KEY, text);
    } finally {
      await dynamodb.stop();
    }
  });

  it('lets only one of two concurrent loads of the same object proceed', async () => {
    const text = logLines(2000).join('\n') + '\n';
    await env.put(ACCESS_LOG_KEY, gzipText(text));
    const checkpoints = new MemoryCheckpointStore();
    const results = await Promise.allSettled([loadObject(options({ checkpoints })), loadObject(options({ checkpoints }))]);
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    const rejected = results.find((r) => r.status === 'rejected') as PromiseRejectedResult;
    expect(rejected.reason).toBeInstanceOf(CheckpointConflictError);
    expectExactlyOnce(env.sink.records, ACCESS_LOG_KEY, text);
  });
});

async function head(): Promise<string> {
  const { HeadObjectCommand } = await import('@aws-sdk/client-s3');
  const out = await env.s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: ACCESS_LOG_KEY }));
  return out.ETag!.replace(/"/g, '');
}
