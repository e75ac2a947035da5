// Loads one S3 object into Firehose: GetObject stream -> gunzip (multi-member) -> lines with byte
// offsets -> envelope records -> PutRecordBatch batches within every Firehose limit, sent with
// bounded concurrency. Memory stays flat: the S3 socket is only read as fast as batches go out.
//
// Exactly-once bookkeeping (docs/loader.md): a per-object-version checkpoint holds the handled
// prefix and the accepted lines beyond it; lines it covers are never resent. It is committed after
// every PutRecordBatch response (one write in flight, coalesced) and on every way out.
import { createGunzip } from 'node:zlib';
import { pipeline } from 'node:stream/promises';
import type { Readable } from 'node:stream';
import { GetObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import type { FirehoseClient } from '@aws-sdk/client-firehose';
import type { Logger } from '@aws-lambda-powertools/logger';
import { createRecordEncoder, envelopePrefix, envelopeRecordLength } from '../envelope.ts';
import type { LogType } from '../log-types.ts';
import { newOwnerId, type Checkpoint, type CheckpointStore, type ObjectVersion } from './checkpoint.ts';
import { RECORD_TOO_LARGE, type FailureSink } from './failures.ts';
import { splitLines, type Line } from './lines.ts';
import { LineSet, Progress, type Segment } from './progress.ts';
import { SendAbortedError, sendBatch, type RetryOptions, type SendCounters } from './send.ts';

export interface FirehoseLimits { maxRecordsPerBatch: number; maxBatchBytes: number; maxRecordBytes: number }

/** Firehose PutRecordBatch limits (they cannot be raised). */
export const FIREHOSE_LIMITS: Readonly<FirehoseLimits> = Object.freeze({
  maxRecordsPerBatch: 500,
  maxBatchBytes: 4 * 1024 * 1024,
  maxRecordBytes: 1000 * 1024,
});

export interface LoadObjectOptions {
  s3: S3Client;
  firehose: FirehoseClient;
  deliveryStream: string;
  /** The object's log type, written into each record's envelope for the transform; default access. */
  logType?: LogType;
  checkpoints: CheckpointStore;
  failures: FailureSink;
  bucket: string;
  key: string;
  /** ETag from the event: the load fails (PreconditionFailed) if the object was replaced since. */
  etag?: string;
  /** PutRecordBatch calls in flight. Default 4. */
  concurrency?: number;
  retry?: RetryOptions;
  /** Lease end (epoch ms); in Lambda the invocation deadline. Default now + 15 minutes. */
  leaseUntil?: number;
  /** Stops sending: in-flight calls finish, progress is committed, then LoadInterruptedError. */
  signal?: AbortSignal;
  logger?: Logger;
  /** Jitter source, for reproducible tests. */
  random?: () => number;
  /** Batch limits, lowered only by tests; never above FIREHOSE_LIMITS. */
  limits?: Partial<FirehoseLimits>;
}

export interface LoadStats extends SendCounters {
  /** Lines in the object (read so far when the load failed), empty ones included. */
  lines: number;
  /** Uncompressed bytes read. */
  bytes: number;
  /** Records Firehose accepted in this run. */
  recordsSent: number;
  /** PutRecordBatch calls that ended with every record accepted. */
  batches: number;
  /** Empty lines in the object (read so far), never sent; resumed ones included, so the run that finishes an object counts all of them. */
  emptyLines: number;
  /** Lines skipped because an earlier run had handled them. */
  resumedLines: number;
  /** Lines recorded as failures (see failures.ts). */
  failedLines: number;
}

export interface LoadResult extends LoadStats {
  status: 'loaded' | 'already-loaded';
  object: ObjectVersion;
  /** Locations of failed lines (first 100; failedLines has the count). */
  failures: Array<{ line: number; offset: number; length: number; reason: string }>;
}

/** The load stopped before the end of the object; its checkpoint has everything accepted so far. */
export class LoadObjectError extends Error {
  override readonly name: string = 'LoadObjectError';
  constructor(message: string, readonly stats: LoadStats, options?: { cause?: unknown }) {
    super(message, options);
  }
}
/** The object was replaced after the event was sent (its ETag differs); the newer version has its own event. */
export class ObjectChangedError extends Error {
  override readonly name = 'ObjectChangedError';
}
/** The gzip stream is truncated or corrupt: retrying the same object version cannot succeed. */
export class CorruptObjectError extends LoadObjectError {
  override readonly name = 'CorruptObjectError';
}
export class LoadInterruptedError extends LoadObjectError {
  override readonly name = 'LoadInterruptedError';
}

const DEFAULT_LEASE_MS = 15 * 60_000;
/**
 * Output chunk of the gunzip stream. zlib's default (16 KiB) costs a thread-pool round trip, a
 * Buffer and a stream hand-off per 16 KiB; 256 KiB chunks halve the CPU of reading an object.
 */
export const GUNZIP_CHUNK_BYTES = 256 * 1024;
const MAX_REPORTED_FAILURES = 100;

function unquote(etag: string): string {
  return etag.replace(/^W\//, '').replace(/^"|"$/g, '');
}

/** A log object opened at the version its event named and claimed for this invocation; `done` (body closed) when already loaded. */
export type ClaimedObject =
  | { readonly done: true; readonly object: ObjectVersion }
  | {
    readonly done: false; readonly object: ObjectVersion; readonly body: Readable; readonly contentLength: number | undefined;
    readonly lastModified: Date | undefined; readonly owner: string; readonly checkpoint: Checkpoint;
  };

/**
 * Opens `s3://bucket/key` (at `etag` when the event named one) and claims it in the checkpoint store: the
 * start both delivery modes share. Throws ObjectChangedError when the object was replaced since the event.
 */
export async function openClaimedObject(
  s3: S3Client, checkpoints: CheckpointStore,
  options: { bucket: string; key: string; etag?: string | undefined; leaseUntil?: number | undefined; logger?: Logger | undefined },
): Promise<ClaimedObject> {
  const { bucket, key, logger } = options;
  const expectedEtag = options.etag === undefined ? undefined : unquote(options.etag);
  const response = await s3.send(new GetObjectCommand({
    Bucket: bucket, Key: key, ...(expectedEtag ? { IfMatch: `"${expectedEtag}"` } : {}),
  }));
  const body = response.Body as Readable | undefined;
  if (!response.ETag || !body) throw new Error(`GetObject s3://${bucket}/${key} returned no ETag or body`);
  const object: ObjectVersion = { bucket, key, etag: unquote(response.ETag) };
  if (expectedEtag !== undefined && expectedEtag !== object.etag) {
    // Servers without If-Match support (s3rver) answer anyway: check here too.
    body.destroy();
    throw new ObjectChangedError(`s3://${bucket}/${key} has ETag ${object.etag}, the event named ${expectedEtag}`);
  }
  const owner = newOwnerId();
  let checkpoint: Checkpoint;
  try {
    checkpoint = await checkpoints.claim(object, owner, options.leaseUntil ?? Date.now() + DEFAULT_LEASE_MS);
  } catch (error) {
    body.destroy();
    throw error;
  }
  if (checkpoint.done) {
    body.destroy();
    logger?.info('object already loaded', { object });
    return { done: true, object };
  }
  if (checkpoint.lines > 0 || checkpoint.accepted.length > 0) logger?.info('resuming object', { object, checkpoint });
  return { done: false, object, body, contentLength: response.ContentLength, lastModified: response.LastModified, owner, checkpoint };
}

export async function loadObject(options: LoadObjectOptions): Promise<LoadResult> {
  const { s3, firehose, deliveryStream, checkpoints, failures, bucket, key, signal, logger } = options;
  const limits = { ...FIREHOSE_LIMITS, ...options.limits };
  const concurrency = Math.max(1, options.concurrency ?? 4);
  const stats: LoadStats = {
    lines: 0, bytes: 0, recordsSent: 0, batches: 0, emptyLines: 0, resumedLines: 0, failedLines: 0,
    retries: 0, throttles: 0, recordFailures: 0,
  };

  const claimed = await openClaimedObject(s3, checkpoints, options);
  if (claimed.done) return { status: 'already-loaded', object: claimed.object, failures: [], ...stats };
  const { object, body, owner, checkpoint: start } = claimed;
  const where = `s3://${bucket}/${key} (ETag ${object.etag})`;

  const progress = new Progress(start);
  // Lines an earlier run had accepted beyond its prefix. Lines this run accepts are never read
  // again (reading is sequential), so only these need a lookup, and only when resuming.
  const resumedAhead = start.accepted.length > 0 ? new LineSet(start.accepted) : undefined;
  const objectSource = options.logType === undefined ? { bucket, key } : { bucket, key, type: options.logType };
  const encode = createRecordEncoder(objectSource);
  const prefixLength = envelopePrefix(objectSource).length;
  const reported: LoadResult['failures'] = [];

  // Checkpoint writes: one in flight; a change during a write triggers one more. The final
  // version check and the reset of `committing` run in one synchronous step, so no change is missed.
  let committing: Promise<void> | undefined;
  let committedVersion = -1;
  let durablySent = 0; // records covered by the last completed commit
  let fatal: unknown;
  const scheduleCommit = (): void => {
    if (committing) return;
    committing = (async () => {
      try {
        while (committedVersion !== progress.version) {
          const version = progress.version;
          const sent = stats.recordsSent;
          await checkpoints.commit(object, owner, progress.checkpoint());
          committedVersion = version;
          durablySent = sent;
        }
      } catch (error) {
        fatal ??= error;
      }
      committing = undefined;
    })();
  };

  const inFlight = new Set<Promise<void>>();
  const launch = (segment: Segment, records: Buffer[], lineNumbers: number[]): void => {
    progress.seal(segment);
    if (records.length === 0) return;
    const sending = sendBatch({
      firehose, deliveryStream, records, counters: stats, retry: options.retry, signal, random: options.random,
      onAccepted: (indexes) => {
        stats.recordsSent += indexes.length;
        progress.accepted(segment, indexes.map((i) => lineNumbers[i]!));
        scheduleCommit();
      },
    }).then(
      () => { stats.batches += 1; },
      (error: unknown) => { fatal ??= error; },
    ).finally(() => { inFlight.delete(sending); });
    inFlight.add(sending);
  };

  let segment = progress.openSegment();
  let records: Buffer[] = [];
  let lineNumbers: number[] = [];
  let batchBytes = 0;

  const extendSegment = (line: Line): void => {
    segment.endLine = line.index + 1;
    segment.endByte = line.end;
  };

  // Bounds what a hard crash can duplicate: records in flight plus at most one batch of
  // accepted records whose checkpoint is not yet written.
  const mustWait = (): boolean => fatal === undefined
    && (inFlight.size >= concurrency || stats.recordsSent - durablySent >= limits.maxRecordsPerBatch)
    && (inFlight.size > 0 || committing !== undefined);
  const waitForRoom = async (): Promise<void> => {
    while (mustWait()) await Promise.race([...inFlight, ...(committing ? [committing] : [])]);
  };

  const recordFailure = async (line: Line, recordLength: number): Promise<void> => {
    const reason = `record of ${recordLength} bytes exceeds Firehose's ${limits.maxRecordBytes}-byte record limit`;
    try {
      await failures.put({
        bucket, key, etag: object.etag, line: line.index, offset: line.offset, length: line.length,
        errorCode: RECORD_TOO_LARGE, errorMessage: reason, head: line.head ?? line.bytes!.subarray(0, 1024),
      });
    } catch (error) {
      fatal ??= error;
      return; // the segment does not cover this line: the checkpoint cannot pass it unrecorded
    }
    stats.failedLines += 1;
    if (reported.length < MAX_REPORTED_FAILURES) reported.push({ line: line.index, offset: line.offset, length: line.length, reason });
    logger?.warn('line too long for Firehose, recorded as failure', { object, line: line.index, offset: line.offset, length: line.length });
    extendSegment(line);
  };

  // Synchronous unless it has to wait (a failure record, or no room for another batch): one
  // promise per line would cost more than the line's own work.
  const handleLine = (line: Line): Promise<void> | undefined => {
    stats.lines = line.index + 1;
    stats.bytes = line.end;
    const isEmpty = line.length === 0;
    if (isEmpty) stats.emptyLines += 1;
    if (line.index === start.lines && line.offset !== start.bytes) {
      // The ETag pins the content, so this means a broken checkpoint: stop rather than guess.
      fatal ??= new Error(`checkpoint says line ${start.lines} starts at byte ${start.bytes}, the object has it at ${line.offset}`);
      return undefined;
    }
    if (line.index < start.lines) {
      stats.resumedLines += 1; // inside the committed prefix: the first segment starts after it
      return undefined;
    }
    if (resumedAhead?.has(line.index)) {
      stats.resumedLines += 1;
      extendSegment(line);
      return undefined;
    }
    if (isEmpty) {
      extendSegment(line);
      return undefined;
    }
    const recordLength = envelopeRecordLength(prefixLength, line.offset, line.length);
    if (line.bytes === undefined || recordLength > limits.maxRecordBytes) return recordFailure(line, recordLength);
    let wait: Promise<void> | undefined;
    if (records.length + 1 > limits.maxRecordsPerBatch || batchBytes + recordLength > limits.maxBatchBytes) {
      launch(segment, records, lineNumbers);
      segment = progress.openSegment();
      records = [];
      lineNumbers = [];
      batchBytes = 0;
      if (mustWait()) wait = waitForRoom();
    }
    records.push(encode(line.offset, line.bytes));
    lineNumbers.push(line.index);
    batchBytes += recordLength;
    segment.outstanding += 1;
    extendSegment(line);
    return wait;
  };

  // A zero-byte object holds no lines (and is not valid gzip).
  const empty = claimed.contentLength === 0;
  const gunzip = createGunzip({ chunkSize: GUNZIP_CHUNK_BYTES });
  // Pumps S3 into gunzip; its rejection (socket error) surfaces through the gunzip iterator too.
  const download = empty ? Promise.resolve() : pipeline(body, gunzip).catch(() => undefined);
  let readError: unknown;
  try {
    for await (const group of splitLines(empty ? [] : gunzip, { maxLineBytes: limits.maxRecordBytes - prefixLength - 2 })) {
      for (const line of group) {
        const waiting = handleLine(line);
        if (waiting) await waiting;
        if (fatal !== undefined || signal?.aborted) break;
      }
      if (fatal !== undefined || signal?.aborted) break;
    }
  } catch (error) {
    readError = error;
  } finally {
    body.destroy();
    gunzip.destroy();
    await download;
  }
  // Complete lines read before a read error (truncated gzip, S3 reset) are valid: send them too.
  const sending = fatal === undefined && !signal?.aborted;
  if (sending) launch(segment, records, lineNumbers);
  else progress.seal(segment);
  const complete = sending && readError === undefined;
  if (complete && (stats.lines < start.lines || (stats.lines === start.lines && stats.bytes !== start.bytes))) {
    fatal ??= new Error(`checkpoint covers ${start.lines} lines / ${start.bytes} bytes, the object has ${stats.lines} / ${stats.bytes}`);
  }
  await Promise.all([...inFlight]);
  while (committing) await committing;

  const finished = complete && fatal === undefined;
  try {
    await checkpoints.commit(object, owner, progress.checkpoint(finished), { release: true });
  } catch (error) {
    fatal ??= error;
  }
  if (finished && fatal === undefined) {
    return { status: 'loaded', object, failures: reported, ...stats };
  }

  const at = `after ${stats.lines} lines / ${stats.bytes} uncompressed bytes`;
  if (readError !== undefined) {
    const message = (readError as Error).message;
    if ((readError as { code?: string }).code?.startsWith('Z_')) {
      throw new CorruptObjectError(`gzip data of ${where} is truncated or corrupt ${at}: ${message}`, stats, { cause: readError });
    }
    throw new LoadObjectError(`reading ${where} failed ${at}: ${message}`, stats, { cause: readError });
  }
  if (fatal === undefined || fatal instanceof SendAbortedError) {
    throw new LoadInterruptedError(`loading ${where} was interrupted ${at}; progress is checkpointed`, stats, { cause: fatal });
  }
  throw new LoadObjectError(`loading ${where} failed ${at}: ${(fatal as Error).message}`, stats, { cause: fatal });
}
