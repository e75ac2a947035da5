// Direct delivery (`-c delivery=direct`): the loader indexes one S3 object itself, without Firehose.
// GetObject -> gunzip -> the per-object core it shares with `albatross backfill`
// (transform/bulk-index/index-lines.ts: parse, `_bulk` with _id = event.id into the daily index of
// each line's event time, backpressure and retries) -> failures to the backup bucket in Firehose's
// error-record layout -> checkpoint `done`.
//
// Resuming: after acknowledged `_bulk` requests (every few seconds or MiB, not after each), the
// failures of the lines settled so far are stored and the checkpoint moves to the first line not
// settled, as the Firehose loader's does. An interrupted object (the deadline, a crash, an engine
// gone too long) is read again from the start (gzip cannot seek), but the lines before its
// checkpoint are only split, not parsed or indexed; their offsets, hence event.id, stay the same.
//
// Exactly once: every document's _id is its event.id, so lines indexed after the last checkpoint
// and indexed again by the next delivery are overwritten, not added. Error-record files are named
// by the checkpointed line they start at, so the run resuming there rewrites the file an
// interrupted run left, instead of adding a copy. The lease keeps two invocations from indexing
// the same object at once.
import { createGunzip } from 'node:zlib';
import { pipeline } from 'node:stream/promises';
import type { S3Client } from '@aws-sdk/client-s3';
import type { Logger } from '@aws-lambda-powertools/logger';
import type { Client } from '@opensearch-project/opensearch';
import type { BulkSender } from '../bulk-index/bulk.ts';
import { indexLines, type IndexFailure, type IndexLinesResult, type SettledPoint } from '../bulk-index/index-lines.ts';
import { encodeRecord } from '../envelope.ts';
import type { Enricher } from '../enrich/index.ts';
import { logTypeOfKey, type LogType } from '../log-types.ts';
import { OPENSEARCH_FAILED, PROCESSING_FAILED, type ErrorOutputType, type FirehoseErrorRecord } from '../firehose-error-record.ts';
import { CheckpointConflictError, type CheckpointStore, type ObjectVersion } from './checkpoint.ts';
import { errorRecordKey, RECORDS_PER_FILE, type ErrorRecordSink } from './error-records.ts';
import type { FailureSink } from './failures.ts';
import { GUNZIP_CHUNK_BYTES, LoadInterruptedError, openClaimedObject } from './load-object.ts';

/** errorCode of a line the parser rejected (Firehose's own is Lambda.ProcessingFailedStatus). */
export const PARSE_FAILED = 'Direct.ParseFailed';
/** errorCode (loader-failed/) of a line too long to index; the `Loader.` prefix marks it not replayable: the line stays in its object. */
export const LINE_TOO_LONG = 'Loader.LineTooLong';

/** What the loader needs to index directly (the handler builds it once per Lambda instance). */
export interface DirectDelivery {
  client: Client;
  /** Access-log index prefix; each object is indexed under its log type's prefix (type from its key). */
  indexPrefix: string;
  /** Connection- and health-check-log index prefixes; default alb-connection, alb-health. */
  indexPrefixes?: Partial<Record<Exclude<LogType, 'access'>, string>>;
  /** The log types indexed; objects of the others are skipped. Default all. */
  logTypes?: readonly LogType[];
  /** Enrichment of access-log documents (source.geo, source.as, user_agent), as the transform does. */
  enrich?: Enricher;
  /** The backup bucket: parser rejects and refused documents, as Firehose error records. */
  errors: ErrorRecordSink;
  /** `_bulk` requests in flight across the objects of this instance. */
  bulkSlots: { run<T>(task: () => Promise<T>): Promise<T> };
  bulkBytes?: number;
  /** How long an unavailable engine (429, 5xx, no connection) is retried before the object fails (and SQS retries it). */
  retryWindowMs?: number;
  /** The demo's fault injection; default the one `_bulk` call. */
  send?: BulkSender;
  /** Called with the result of each object indexed (the local pipeline's accounting). */
  onLoaded?: (result: DirectLoadResult) => void;
  /**
   * How often an object's progress is checkpointed while it is indexed (after an acknowledged
   * `_bulk` request): once `milliseconds` passed or `bytes` (uncompressed) were settled since the
   * last checkpoint. Default 10 s or 128 MiB: few DynamoDB writes, little work lost to a timeout.
   */
  checkpointEvery?: { milliseconds?: number; bytes?: number };
}

export interface DirectLoadOptions extends DirectDelivery {
  s3: S3Client;
  checkpoints: CheckpointStore;
  /** Over-long lines, recorded like the Firehose loader's (errors/loader-failed/). */
  failures: FailureSink;
  bucket: string;
  key: string;
  /** ETag from the event: a replaced object is not indexed (its newer version has its own event). */
  etag?: string;
  /** Lease end (epoch ms); in Lambda the invocation deadline. Default now + 15 minutes. */
  leaseUntil?: number;
  signal?: AbortSignal;
  logger?: Logger;
  onBulkRequest?: (milliseconds: number) => void;
  /** Inclusive UTC event days `YYYY-MM-DD` (a backfill's --from/--to); lines outside are counted as outOfRange, not indexed. */
  from?: string;
  to?: string;
  /**
   * An earlier delivery of this message may have run (SQS receive count above 1): its failure files
   * at the resume point are replaced even when this run finds no failure of that kind there.
   */
  redelivered?: boolean;
}

export interface DirectLoadResult {
  status: 'loaded' | 'already-loaded';
  object: ObjectVersion;
  /** Lines in the object, resumed ones included. */
  lines: number;
  /** Of `lines`, lines an earlier run had settled (its checkpoint): read, not indexed again, and not in the counts below. */
  resumedLines: number;
  /** Uncompressed bytes read. */
  bytes: number;
  indexed: number;
  /** Of `indexed`, documents that replaced one with the same _id (a redelivered object). */
  overwritten: number;
  /** Empty and control lines. */
  skipped: number;
  /** Lines the parser rejected: errors/processing-failed/. */
  parseFailed: number;
  /** Documents OpenSearch refused for good: errors/AmazonOpenSearchService-failed/. */
  refused: number;
  /** Lines over the line limit: errors/loader-failed/. */
  tooLong: number;
  /** `_bulk` retries (429, 5xx, connection errors). */
  retries: number;
  /** Of those, 429 answers: the domain asked for less. */
  throttles: number;
  /** Lines whose event day is outside from/to (a backfill's range). */
  outOfRange: number;
  indices: string[];
}

const DEFAULT_CHECKPOINT_MS = 10_000;
const DEFAULT_CHECKPOINT_BYTES = 128 * 2 ** 20;

/** The Firehose error record for a line the parser rejected or a document OpenSearch refused. */
export function directErrorRecord(object: ObjectVersion, failure: IndexFailure, arrival: number, now = Date.now()):
  { type: ErrorOutputType; record: FirehoseErrorRecord } {
  if (failure.refused) {
    const status = /^not indexed: (\d{3}) /.exec(failure.reason)?.[1] ?? 'unknown';
    return {
      type: OPENSEARCH_FAILED,
      record: {
        attemptsMade: 1, arrivalTimestamp: arrival, errorCode: status, errorMessage: failure.reason.replace(/^not indexed: /, ''),
        attemptEndingTimestamp: now, esDocumentId: failure.refused.id, esIndexName: failure.refused.index, esTypeName: '',
        // As Firehose keeps it: the document, base64.
        rawData: Buffer.from(failure.refused.json).toString('base64'),
      },
    };
  }
  return {
    type: PROCESSING_FAILED,
    record: {
      attemptsMade: 1, arrivalTimestamp: arrival, errorCode: PARSE_FAILED, errorMessage: failure.reason, attemptEndingTimestamp: now,
      // The loader's envelope around the line, as Firehose keeps a ProcessingFailed record: a replay
      // parses it with this source, so the document gets the event.id it would have had.
      rawData: encodeRecord({
        bucket: object.bucket, key: object.key, offset: failure.offset,
        ...(failure.type !== undefined && failure.type !== 'access' ? { type: failure.type } : {}),
      }, failure.line).toString('base64'),
    },
  };
}

/**
 * Stores the failures of the lines from `firstLine` on (up to the next checkpoint): over-long lines
 * as loader-failed records (one per line), the others as one error-record file per kind, named by
 * `firstLine`. `replace`: write each kind's file even without records (an interrupted run may have
 * left one there, which must not stay beside the records this run stores further on).
 */
async function storeFailures(options: DirectLoadOptions, object: ObjectVersion, lastModified: Date, firstLine: number, failures: IndexFailure[], replace: boolean): Promise<void> {
  const files = new Map<ErrorOutputType, FirehoseErrorRecord[]>(replace ? [[PROCESSING_FAILED, []], [OPENSEARCH_FAILED, []]] : []);
  for (const failure of failures) {
    if (failure.tooLong) {
      await options.failures.put({
        bucket: object.bucket, key: object.key, etag: object.etag, line: failure.lineNumber, offset: failure.offset,
        length: failure.tooLong.length, errorCode: LINE_TOO_LONG, errorMessage: failure.reason, head: failure.tooLong.head,
      });
      continue;
    }
    const { type, record } = directErrorRecord(object, failure, lastModified.getTime());
    (files.get(type) ?? files.set(type, []).get(type)!).push(record);
  }
  for (const [type, records] of files) await options.errors.put(errorRecordKey(type, object, lastModified, firstLine), records);
}

export async function loadObjectDirect(options: DirectLoadOptions): Promise<DirectLoadResult> {
  const { s3, bucket, key, checkpoints, signal } = options;
  const claimed = await openClaimedObject(s3, checkpoints, options);
  if (claimed.done) {
    return {
      status: 'already-loaded', object: claimed.object, lines: 0, resumedLines: 0, bytes: 0, indexed: 0, overwritten: 0, skipped: 0, parseFailed: 0, refused: 0, tooLong: 0, retries: 0, throttles: 0, outOfRange: 0, indices: [],
    };
  }
  const { object, body, owner } = claimed;
  const start: SettledPoint = { lines: claimed.checkpoint.lines, bytes: claimed.checkpoint.bytes };
  const lastModified = claimed.lastModified ?? new Date(0);
  const everyMs = options.checkpointEvery?.milliseconds ?? DEFAULT_CHECKPOINT_MS;
  const everyBytes = options.checkpointEvery?.bytes ?? DEFAULT_CHECKPOINT_BYTES;

  // Checkpointing: `committed` is stored; `settled` (indexLines' latest) is where the next commit goes.
  let committed = start;
  let committedAt = Date.now();
  let settled = start;
  let failures: readonly IndexFailure[] = [];
  let collected = 0;                    // failures already moved to `unstored`
  let unstored: IndexFailure[] = [];    // failures of lines at or after `committed`
  let replaceAtStart = start.lines > 0 || options.redelivered === true;
  let committing: Promise<void> | undefined;
  let commitError: unknown;

  /**
   * Stores the failures of the lines before `to`, then commits `to` (failures first: a crash in
   * between leaves files that the run resuming at `committed` rewrites under the same names). More
   * than a file's worth of failures goes in several steps, each file starting at a checkpoint.
   */
  const advance = async (to: SettledPoint, finished: boolean): Promise<void> => {
    for (; collected < failures.length; collected++) unstored.push(failures[collected]!);
    const due = unstored.filter((f) => f.lineNumber < to.lines).sort((a, b) => a.lineNumber - b.lineNumber);
    unstored = unstored.filter((f) => f.lineNumber >= to.lines);
    for (let i = 0; i === 0 || i < due.length; i += RECORDS_PER_FILE) {
      const next = due[i + RECORDS_PER_FILE];
      const end = next === undefined ? to : { lines: next.lineNumber, bytes: next.offset };
      await storeFailures(options, object, lastModified, committed.lines, due.slice(i, i + RECORDS_PER_FILE), replaceAtStart);
      replaceAtStart = false;
      const last = next === undefined;
      await checkpoints.commit(object, owner, { lines: end.lines, bytes: end.bytes, accepted: [], done: finished && last }, { release: finished && last });
      committed = end;
    }
  };
  // A lost lease stops this run (another invocation owns the object now).
  const stop = new AbortController();
  const onSettled = (point: SettledPoint, all: readonly IndexFailure[]): void => {
    settled = point;
    failures = all;
    if (committing || commitError !== undefined) return;
    if (Date.now() - committedAt < everyMs && point.bytes - committed.bytes < everyBytes) return;
    committedAt = Date.now();
    committing = advance(point, false)
      .catch((error: unknown) => { commitError ??= error; stop.abort(error); })
      .finally(() => { committing = undefined; });
  };

  let indexed: IndexLinesResult;
  const gunzip = createGunzip({ chunkSize: GUNZIP_CHUNK_BYTES });
  // A zero-byte object holds no lines (and is not valid gzip).
  const download = claimed.contentLength === 0 ? undefined : pipeline(body, gunzip).catch(() => undefined);
  try {
    indexed = await indexLines(download === undefined ? [] : gunzip, {
      client: options.client,
      indexPrefix: options.indexPrefix,
      ...(options.indexPrefixes ? { indexPrefixes: options.indexPrefixes } : {}),
      type: logTypeOfKey(key) ?? 'access',
      ...(options.enrich ? { enrich: options.enrich } : {}),
      lineSource: { bucket, key },
      bulkSlots: options.bulkSlots,
      ...(options.bulkBytes ? { bulkBytes: options.bulkBytes } : {}),
      ...(options.retryWindowMs ? { retryWindowMs: options.retryWindowMs } : {}),
      signal: signal ? AbortSignal.any([signal, stop.signal]) : stop.signal,
      ...(options.send ? { send: options.send } : {}),
      ...(options.onBulkRequest ? { onBulkRequest: options.onBulkRequest } : {}),
      ...(options.from ? { from: options.from } : {}),
      ...(options.to ? { to: options.to } : {}),
      ...(start.lines > 0 ? { resumeFrom: start } : {}),
      onSettled,
    });
    if (indexed.lines < start.lines) throw new Error(`checkpoint covers ${start.lines} lines, the object has ${indexed.lines}`);
    while (committing) await committing;
    if (commitError !== undefined) throw commitError;
    failures = indexed.failures;
    await advance({ lines: indexed.lines, bytes: indexed.bytes }, true);
  } catch (error) {
    body.destroy();
    gunzip.destroy();
    await download;
    while (committing) await committing;
    // Keep what is settled and give the lease back: the next delivery resumes there at once.
    if (commitError === undefined && settled.lines > committed.lines) await advance(settled, false).catch(() => undefined);
    await checkpoints.commit(object, owner, { ...committed, accepted: [], done: false }, { release: true }).catch(() => undefined);
    if (commitError instanceof CheckpointConflictError) throw commitError;
    if (signal?.aborted) {
      const at = `at line ${committed.lines} (byte ${committed.bytes})`;
      throw new LoadInterruptedError(`indexing s3://${bucket}/${key} (ETag ${object.etag}) was interrupted; it resumes ${at}`, {
        lines: committed.lines, bytes: committed.bytes, recordsSent: 0, batches: 0, emptyLines: 0, resumedLines: start.lines,
        failedLines: 0, retries: 0, throttles: 0, recordFailures: 0,
      }, { cause: error });
    }
    throw error;
  }
  await download;
  const count = (test: (f: IndexFailure) => boolean) => indexed.failures.filter(test).length;
  return {
    status: 'loaded',
    object,
    lines: indexed.lines,
    resumedLines: indexed.resumedLines,
    bytes: indexed.bytes,
    indexed: indexed.indexed,
    overwritten: indexed.overwritten,
    skipped: indexed.skipped,
    parseFailed: count((f) => !f.refused && !f.tooLong),
    refused: count((f) => f.refused !== undefined),
    tooLong: count((f) => f.tooLong !== undefined),
    retries: indexed.retries,
    throttles: indexed.throttles,
    outOfRange: indexed.outOfRange,
    indices: [...indexed.indices].sort(),
  };
}
