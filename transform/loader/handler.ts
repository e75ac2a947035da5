// Loader Lambda: SQS messages carrying S3 ObjectCreated notifications -> loadObject() per ALB
// log object (access, connection, health-check), into the delivery stream of its log type.
// Partial batch responses: one failing message never blocks the others.
//
// Environment: ALBATROSS_DELIVERY = firehose (default) | direct (bulk-index from the loader, each
// object under its log type's index prefix: direct-handler.ts), ALBATROSS_DELIVERY_STREAM (access logs),
// ALBATROSS_CONNECTION_DELIVERY_STREAM, ALBATROSS_HEALTH_DELIVERY_STREAM (firehose: at least one; a type
// without a stream is skipped), ALBATROSS_CHECKPOINT_TABLE (DynamoDB table;
// absent = in-memory, i.e. no protection across invocations), ALBATROSS_SEND_CONCURRENCY,
// ALBATROSS_FAILURE_BUCKET / ALBATROSS_FAILURE_PREFIX (where over-long lines are recorded; absent =
// the error log), ALBATROSS_CONNECTION_FAILURE_BUCKET / ALBATROSS_HEALTH_FAILURE_BUCKET (that type's
// lines instead: its stream's backup bucket, where its replay looks; absent = ALBATROSS_FAILURE_BUCKET), ALBATROSS_MAX_RETRY_SECONDS, ALBATROSS_REQUEUE_MIN_SECONDS /
// ALBATROSS_REQUEUE_JITTER_SECONDS (how soon an interrupted object's message comes back; see
// requeue.ts), AWS_ENDPOINT_URL_SQS (the SDK's endpoint override, also used for queue URLs),
// ALBATROSS_LOG_BUCKET + ALBATROSS_LOG_BUCKET_OWNER (a log bucket in another account: bucket-owner.ts).
// The backfill worker is this handler in direct mode with ALBATROSS_BACKFILL_TABLE (the run progress
// table) and ALBATROSS_MAX_RECEIVE_COUNT (its queue's): it takes the messages of `albatross backfill
// --on-aws` (transform/backfill/), and its logs and metrics carry the service albatross-backfill.
import { BatchProcessor, EventType, processPartialResponse } from '@aws-lambda-powertools/batch';
import { S3Client } from '@aws-sdk/client-s3';
import { SQSClient } from '@aws-sdk/client-sqs';
import type { FirehoseClient } from '@aws-sdk/client-firehose';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { createLogger, createMetrics, MetricUnit, SERVICE_NAMES, type Logger, type Metrics } from '../observability.ts';
import { LOG_TYPE_NAMES, LOG_TYPES, logTypeOfKey, type LogType } from '../log-type-names.ts';
import { parseAlbObjectKey } from '../source/s3-key.ts';
import { CheckpointConflictError, DynamoDbCheckpointStore, MemoryCheckpointStore, type CheckpointStore } from './checkpoint.ts';
import { LogFailureSink, S3FailureSink, type FailureSink } from './failures.ts';
import { directDeliveryFromEnvironment, handleDirectObject } from './direct-handler.ts';
import { BUCKET_OWNER_ENV, expectBucketOwner } from './bucket-owner.ts';
import type { DirectDelivery } from './direct.ts';
import { createFirehoseClient } from './firehose-client.ts';
import { LoadInterruptedError, loadObject, LoadObjectError, ObjectChangedError, type LoadResult, type LoadStats } from './load-object.ts';
import { DEFAULT_REQUEUE_DELAY, MAX_VISIBILITY_SECONDS, requeueDelayFromEnvironment, requeueDelaySeconds, SqsRequeuer, type MessageRequeuer, type RequeueDelay } from './requeue.ts';
import { SendGaveUpError, type RetryOptions } from './send.ts';
import { parseBackfillMessage } from '../backfill/message.ts';
import { BackfillProgressStore } from '../backfill/progress.ts';
import { handleBackfillObject, type BackfillWorker } from '../backfill/worker.ts';

/** Environment variable naming each log type's delivery stream. */
export const DELIVERY_STREAM_ENV: Readonly<Record<LogType, string>> = {
  access: 'ALBATROSS_DELIVERY_STREAM',
  connection: 'ALBATROSS_CONNECTION_DELIVERY_STREAM',
  health: 'ALBATROSS_HEALTH_DELIVERY_STREAM',
};

/** Environment variable naming the bucket each log type's failed lines are recorded in (its stream's backup bucket). */
export const FAILURE_BUCKET_ENV: Readonly<Record<LogType, string>> = {
  access: 'ALBATROSS_FAILURE_BUCKET',
  connection: 'ALBATROSS_CONNECTION_FAILURE_BUCKET',
  health: 'ALBATROSS_HEALTH_FAILURE_BUCKET',
};

export interface LoaderDependencies {
  s3: S3Client;
  /** Firehose delivery (the default). */
  firehose?: FirehoseClient;
  /** The access-log delivery stream (same as deliveryStreams.access). */
  deliveryStream?: string;
  /** The delivery stream of each log type; objects of a type without one are skipped. */
  deliveryStreams?: Partial<Record<LogType, string>>;
  /** Direct delivery: the loader bulk-indexes each object itself (no Firehose, no transform). */
  direct?: DirectDelivery;
  checkpoints: CheckpointStore;
  /** Where failed lines are recorded. */
  failures: FailureSink;
  /** Where failed lines of a log type are recorded instead (its stream's backup bucket); absent types use `failures`. */
  failuresByType?: Partial<Record<LogType, FailureSink>>;
  logger: Logger;
  metrics: Metrics;
  concurrency?: number;
  retry?: RetryOptions;
  /** Stop sending this long before the invocation deadline, so progress is committed. Default 20 s. */
  deadlineMarginMs?: number;
  /** Called with the result of each object loaded (the local pipeline accounts for its skipped empty lines). */
  onObjectLoaded?: (result: LoadResult) => void;
  /**
   * Puts the message of an interrupted object back on its queue soon (ChangeMessageVisibility).
   * Absent: such a message comes back after the queue's visibility timeout.
   */
  requeue?: MessageRequeuer;
  /** Delay before an interrupted object's message is visible again. Default 30 s + 0..60 s. */
  requeueDelay?: RequeueDelay;
  /** Jitter source, for reproducible tests. */
  random?: () => number;
  /** The backfill worker: messages of `albatross backfill --on-aws` (transform/backfill/), indexed by `direct`, progress recorded here. */
  backfill?: BackfillWorker;
}

/**
 * Failures that are progress, not defects: the deadline interrupted the load, Firehose throttled it
 * past the retry time, or another invocation holds (or took over) the object's lease. The
 * checkpoint has everything accepted, so the message comes back soon and the next slice resumes.
 */
export function isInterruption(error: unknown): boolean {
  if (error instanceof LoadInterruptedError || error instanceof CheckpointConflictError || error instanceof SendGaveUpError) return true;
  return error instanceof LoadObjectError && (error.cause instanceof SendGaveUpError || error.cause instanceof CheckpointConflictError);
}

/** What interrupted the load: the deadline, or the error a LoadObjectError wraps (SendGaveUpError, CheckpointConflictError). */
function interruptionReason(error: unknown): string {
  if (error instanceof LoadObjectError && !(error instanceof LoadInterruptedError) && error.cause instanceof Error) return error.cause.name;
  return (error as Error).name;
}

/** The object was deleted (or expired) before it was loaded. S3 answers 404 NoSuchKey only to a role that may list the bucket. */
function isMissingObject(error: unknown): boolean {
  return (error as { name?: string }).name === 'NoSuchKey';
}

interface S3EventRecord {
  eventName?: string;
  s3?: { bucket?: { name?: string }; object?: { key?: string; size?: number; eTag?: string } };
}

/** S3 event keys are form-encoded: '+' is a space, then %XX escapes. */
export function decodeS3Key(key: string): string {
  return decodeURIComponent(key.replace(/\+/g, ' '));
}

function addStats(metrics: Metrics, stats: LoadStats): void {
  metrics.addMetric('Lines', MetricUnit.Count, stats.lines - stats.resumedLines);
  metrics.addMetric('UncompressedBytes', MetricUnit.Bytes, stats.bytes);
  metrics.addMetric('RecordsSent', MetricUnit.Count, stats.recordsSent);
  metrics.addMetric('SendRetries', MetricUnit.Count, stats.retries);
  metrics.addMetric('Throttles', MetricUnit.Count, stats.throttles);
  metrics.addMetric('RecordFailures', MetricUnit.Count, stats.recordFailures);
  metrics.addMetric('FailedLines', MetricUnit.Count, stats.failedLines);
}

export function createHandler(deps: LoaderDependencies): (event: SQSEvent, context: Context) => Promise<SQSBatchResponse> {
  const { logger, metrics } = deps;
  const streams: Partial<Record<LogType, string>> = { ...(deps.deliveryStream ? { access: deps.deliveryStream } : {}), ...deps.deliveryStreams };

  const skip = (bucket: string, key: string, reason: string): void => {
    logger.info('object skipped', { bucket, key, reason });
    metrics.addMetric('ObjectsSkipped', MetricUnit.Count, 1);
  };

  const loadOne = async (record: S3EventRecord, context: Context | undefined, redelivered: boolean): Promise<void> => {
    const bucket = record.s3?.bucket?.name;
    const rawKey = record.s3?.object?.key;
    if (!bucket || rawKey === undefined) throw new Error('S3 event record without bucket name or object key');
    const key = decodeS3Key(rawKey);
    if (!record.eventName?.startsWith('ObjectCreated:')) return skip(bucket, key, `event ${record.eventName}`);
    const type = logTypeOfKey(key);
    if (type === undefined) {
      const route = parseAlbObjectKey(key);
      return skip(bucket, key, route.reason ?? route.kind);
    }
    const deliveryStream = streams[type];
    if (deps.direct) {
      if (deps.direct.logTypes && !deps.direct.logTypes.includes(type)) return skip(bucket, key, `${LOG_TYPE_NAMES[type].label}: not a log type this stack delivers`);
    } else if (deliveryStream === undefined) {
      return skip(bucket, key, `${LOG_TYPE_NAMES[type].label}: no delivery stream for this log type`);
    }
    if (!parseAlbObjectKey(key).gzip) return skip(bucket, key, `${LOG_TYPE_NAMES[type].label} without .gz suffix`);

    const remaining = context?.getRemainingTimeInMillis();
    const signal = remaining === undefined ? undefined : AbortSignal.timeout(Math.max(0, remaining - (deps.deadlineMarginMs ?? 20_000)));
    const etag = record.s3?.object?.eTag;
    const failureSink = deps.failuresByType?.[type] ?? deps.failures;
    if (deps.direct) {
      await handleDirectObject({ ...deps, failures: failureSink, direct: deps.direct, skip }, {
        bucket, key, ...(etag ? { etag } : {}), ...(remaining === undefined ? {} : { leaseUntil: Date.now() + remaining + 5_000 }), ...(signal ? { signal } : {}),
        ...(redelivered ? { redelivered } : {}),
      });
      return;
    }
    if (!deps.firehose || deliveryStream === undefined) throw new Error('loader has neither a delivery stream nor direct delivery configured');
    let result: LoadResult;
    try {
      result = await loadObject({
        s3: deps.s3, firehose: deps.firehose, deliveryStream, logType: type,
        checkpoints: deps.checkpoints, failures: failureSink, bucket, key,
        ...(record.s3?.object?.eTag ? { etag: record.s3.object.eTag } : {}),
        ...(remaining === undefined ? {} : { leaseUntil: Date.now() + remaining + 5_000 }),
        ...(signal ? { signal } : {}),
        concurrency: deps.concurrency, retry: deps.retry, logger,
      });
    } catch (error) {
      if (error instanceof ObjectChangedError || (error as { name?: string }).name === 'PreconditionFailed') {
        // Replaced since the event was sent; the newer version has its own event.
        return skip(bucket, key, `object changed since the event (ETag ${record.s3?.object?.eTag})`);
      }
      if (isMissingObject(error)) {
        // Deleted or expired before loading: retrying cannot bring it back, and nothing was sent.
        metrics.addMetric('ObjectsMissing', MetricUnit.Count, 1);
        return skip(bucket, key, 'object no longer exists (NoSuchKey)');
      }
      if (error instanceof LoadObjectError) addStats(metrics, error.stats);
      if (isInterruption(error)) {
        metrics.addMetric('ObjectsInterrupted', MetricUnit.Count, 1);
        logger.warn('object load interrupted', { bucket, key, error: error as Error });
      } else {
        metrics.addMetric('ObjectsFailed', MetricUnit.Count, 1);
        logger.error('object load failed', { bucket, key, error: error as Error });
      }
      throw error;
    }
    if (result.status === 'already-loaded') {
      metrics.addMetric('ObjectsAlreadyLoaded', MetricUnit.Count, 1);
      logger.info('object already loaded', { object: result.object });
      return;
    }
    metrics.addMetric('ObjectsLoaded', MetricUnit.Count, 1);
    addStats(metrics, result);
    deps.onObjectLoaded?.(result);
    const { failures, ...summary } = result;
    logger.info('object loaded', { ...summary, ...(failures.length > 0 ? { failures } : {}) });
  };

  /** Best effort: if it fails, the message still fails and comes back after the visibility timeout. */
  const requeueSoon = async (message: SQSRecord, error: unknown): Promise<void> => {
    if (!deps.requeue) return;
    // Another invocation holds the lease (a duplicate notification): come back after it ends, not before.
    const leaseSeconds = error instanceof CheckpointConflictError && error.leaseUntil !== undefined
      ? Math.max(0, Math.ceil((error.leaseUntil - Date.now()) / 1000)) : 0;
    const delaySeconds = Math.min(MAX_VISIBILITY_SECONDS, leaseSeconds + requeueDelaySeconds(deps.requeueDelay ?? DEFAULT_REQUEUE_DELAY, deps.random));
    const details = {
      messageId: message.messageId, delaySeconds, receiveCount: Number(message.attributes?.ApproximateReceiveCount),
      reason: interruptionReason(error),
    };
    try {
      await deps.requeue.requeue(message, delaySeconds);
      logger.info('message requeued', details);
    } catch (requeueError) {
      metrics.addMetric('RequeueFailures', MetricUnit.Count, 1);
      logger.error('message not requeued: it is retried after the queue\'s visibility timeout', { ...details, error: requeueError as Error });
    }
  };

  const processor = new BatchProcessor(EventType.SQS);
  return async (event, context) => {
    const recordHandler = async (message: SQSRecord): Promise<void> => {
      let body: { Event?: string; Records?: S3EventRecord[]; Type?: string; Message?: string };
      try {
        body = JSON.parse(message.body);
        // S3 -> SNS -> SQS wraps the notification once more.
        if (body.Type === 'Notification' && typeof body.Message === 'string') body = JSON.parse(body.Message);
      } catch {
        throw new Error(`message ${message.messageId}: body is not JSON`);
      }
      const backfillObject = parseBackfillMessage(body);
      if (backfillObject !== undefined) {
        if (!deps.direct || !deps.backfill) throw new Error(`message ${message.messageId}: a backfill object, and this function is not a backfill worker`);
        const remaining = context?.getRemainingTimeInMillis();
        const signal = remaining === undefined ? undefined : AbortSignal.timeout(Math.max(0, remaining - (deps.deadlineMarginMs ?? 20_000)));
        try {
          return await handleBackfillObject({ ...deps, direct: deps.direct, skip }, deps.backfill, backfillObject, {
            receiveCount: Number(message.attributes?.ApproximateReceiveCount ?? 1),
            ...(remaining === undefined ? {} : { leaseUntil: Date.now() + remaining + 5_000 }), ...(signal ? { signal } : {}),
          });
        } catch (error) {
          if (isInterruption(error)) await requeueSoon(message, error);
          throw error;
        }
      }
      if (body.Event === 's3:TestEvent') {
        logger.info('s3:TestEvent ignored', { messageId: message.messageId });
        metrics.addMetric('TestEvents', MetricUnit.Count, 1);
        return;
      }
      if (!Array.isArray(body.Records)) throw new Error(`message ${message.messageId}: not an S3 event notification`);
      // Records of one message in order; on failure the message is retried and done objects are skipped.
      try {
        const redelivered = Number(message.attributes?.ApproximateReceiveCount ?? 1) > 1;
        for (const record of body.Records) await loadOne(record, context, redelivered);
      } catch (error) {
        if (isInterruption(error)) await requeueSoon(message, error);
        throw error;
      }
    };
    try {
      return await processPartialResponse(event, recordHandler, processor, {
        context, processInParallel: false, throwOnFullBatchFailure: false,
      });
    } finally {
      metrics.publishStoredMetrics();
    }
  };
}

async function dependenciesFromEnvironment(): Promise<LoaderDependencies> {
  const direct = process.env['ALBATROSS_DELIVERY'] === 'direct';
  const deliveryStreams: Partial<Record<LogType, string>> = {};
  for (const type of LOG_TYPES) {
    const name = process.env[DELIVERY_STREAM_ENV[type]];
    if (name) deliveryStreams[type] = name;
  }
  if (!direct && Object.keys(deliveryStreams).length === 0) throw new Error(`none of ${Object.values(DELIVERY_STREAM_ENV).join(', ')} is set`);
  // The backfill worker is this handler with a progress table: its logs and metrics stand apart from the live loader's.
  const backfillTable = process.env['ALBATROSS_BACKFILL_TABLE'];
  const service = backfillTable ? SERVICE_NAMES.backfill : SERVICE_NAMES.loader;
  const logger = createLogger(service);
  const s3 = new S3Client({});
  const logBucket = process.env[BUCKET_OWNER_ENV.bucket];
  const logBucketOwner = process.env[BUCKET_OWNER_ENV.owner];
  if (logBucket && logBucketOwner) expectBucketOwner(s3, logBucket, logBucketOwner);
  // The loader owns retries (only failed records are resent, and they are counted).
  const firehose = createFirehoseClient({ maxAttempts: 1 }, {
    onFastPathOff: (path) => logger.warn('Firehose codec self-check failed: this fast path is off, the SDK\'s generic (slower) path is used', { path }),
  });
  const table = process.env['ALBATROSS_CHECKPOINT_TABLE'];
  const dynamodb = new DynamoDBClient({});
  const failureBucket = process.env[FAILURE_BUCKET_ENV.access];
  const failurePrefix = process.env['ALBATROSS_FAILURE_PREFIX'];   // unset: the sink's default prefix
  const failuresByType: Partial<Record<LogType, FailureSink>> = {};
  for (const type of LOG_TYPES) {
    const bucket = type === 'access' ? undefined : process.env[FAILURE_BUCKET_ENV[type]];
    if (bucket) failuresByType[type] = new S3FailureSink(s3, bucket, failurePrefix);
  }
  const concurrency = Number(process.env['ALBATROSS_SEND_CONCURRENCY'] ?? 4);
  const maxRetrySeconds = Number(process.env['ALBATROSS_MAX_RETRY_SECONDS'] ?? 120);
  const { delay: requeueDelay, problems } = requeueDelayFromEnvironment(process.env);
  for (const problem of problems) logger.warn('loader setting ignored', { problem });
  // The SDK reads AWS_ENDPOINT_URL_SQS itself; queue URLs built from event ARNs must name the same server.
  const sqsEndpoint = process.env['AWS_ENDPOINT_URL_SQS'] ?? process.env['AWS_ENDPOINT_URL'];
  return {
    s3, logger,
    ...(direct ? { direct: await directDeliveryFromEnvironment(s3) } : { firehose, deliveryStreams }),
    metrics: createMetrics(service),
    checkpoints: table ? new DynamoDbCheckpointStore(dynamodb, table) : new MemoryCheckpointStore(),
    ...(backfillTable ? { backfill: { progress: new BackfillProgressStore(dynamodb, backfillTable), maxReceiveCount: Number(process.env['ALBATROSS_MAX_RECEIVE_COUNT'] ?? 5) || 5 } } : {}),
    failures: failureBucket ? new S3FailureSink(s3, failureBucket, failurePrefix) : new LogFailureSink(logger),
    failuresByType,
    concurrency: Number.isInteger(concurrency) && concurrency > 0 ? concurrency : 4,
    retry: { maxRetryTimeMs: (Number.isFinite(maxRetrySeconds) && maxRetrySeconds > 0 ? maxRetrySeconds : 120) * 1000 },
    requeue: new SqsRequeuer(new SQSClient({}), sqsEndpoint),
    requeueDelay,
  };
}

let environmentHandler: Promise<ReturnType<typeof createHandler>> | undefined;

/**
 * The Lambda entry point; dependencies are built from the environment on first use. A failed setup
 * (a bad enrichment setting, an own database S3 would not return) fails the invocation, so its
 * messages are retried, and is tried again on the next one.
 */
export const handler = async (event: SQSEvent, context: Context): Promise<SQSBatchResponse> => {
  environmentHandler ??= dependenciesFromEnvironment().then(createHandler);
  let handle;
  try {
    handle = await environmentHandler;
  } catch (error) {
    environmentHandler = undefined;
    throw error;
  }
  return handle(event, context);
};
