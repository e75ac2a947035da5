// Loader Lambda: SQS messages carrying S3 ObjectCreated notifications -> loadObject() per ALB
// access-log object. Partial batch responses: one failing message never blocks the others.
//
// Environment: ALBATROSS_DELIVERY = firehose (default) | direct (bulk-index from the loader:
// direct-handler.ts), ALBATROSS_DELIVERY_STREAM (required for firehose), ALBATROSS_CHECKPOINT_TABLE (DynamoDB table;
// absent = in-memory, i.e. no protection across invocations), ALBATROSS_SEND_CONCURRENCY,
// ALBATROSS_FAILURE_BUCKET / ALBATROSS_FAILURE_PREFIX (where over-long lines are recorded; absent =
// the error log), ALBATROSS_MAX_RETRY_SECONDS.
import { BatchProcessor, EventType, processPartialResponse } from '@aws-lambda-powertools/batch';
import { S3Client } from '@aws-sdk/client-s3';
import type { FirehoseClient } from '@aws-sdk/client-firehose';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { createLogger, createMetrics, MetricUnit, SERVICE_NAMES, type Logger, type Metrics } from '../observability.ts';
import { parseAlbObjectKey } from '../source/s3-key.ts';
import { DynamoDbCheckpointStore, MemoryCheckpointStore, type CheckpointStore } from './checkpoint.ts';
import { LogFailureSink, S3FailureSink, type FailureSink } from './failures.ts';
import { directDeliveryFromEnvironment, handleDirectObject } from './direct-handler.ts';
import type { DirectDelivery } from './direct.ts';
import { createFirehoseClient } from './firehose-client.ts';
import { loadObject, LoadObjectError, ObjectChangedError, type LoadResult, type LoadStats } from './load-object.ts';
import type { RetryOptions } from './send.ts';

export interface LoaderDependencies {
  s3: S3Client;
  /** Firehose delivery (the default). */
  firehose?: FirehoseClient;
  deliveryStream?: string;
  /** Direct delivery: the loader bulk-indexes each object itself (no Firehose, no transform). */
  direct?: DirectDelivery;
  checkpoints: CheckpointStore;
  failures: FailureSink;
  logger: Logger;
  metrics: Metrics;
  concurrency?: number;
  retry?: RetryOptions;
  /** Stop sending this long before the invocation deadline, so progress is committed. Default 20 s. */
  deadlineMarginMs?: number;
  /** Called with the result of each object loaded (the local pipeline accounts for its skipped empty lines). */
  onObjectLoaded?: (result: LoadResult) => void;
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

  const skip = (bucket: string, key: string, reason: string): void => {
    logger.info('object skipped', { bucket, key, reason });
    metrics.addMetric('ObjectsSkipped', MetricUnit.Count, 1);
  };

  const loadOne = async (record: S3EventRecord, context: Context | undefined): Promise<void> => {
    const bucket = record.s3?.bucket?.name;
    const rawKey = record.s3?.object?.key;
    if (!bucket || rawKey === undefined) throw new Error('S3 event record without bucket name or object key');
    const key = decodeS3Key(rawKey);
    if (!record.eventName?.startsWith('ObjectCreated:')) return skip(bucket, key, `event ${record.eventName}`);
    const route = parseAlbObjectKey(key);
    if (route.kind !== 'access-log') return skip(bucket, key, route.reason ?? route.kind);
    if (!route.gzip) return skip(bucket, key, 'access log without .gz suffix');

    const remaining = context?.getRemainingTimeInMillis();
    const signal = remaining === undefined ? undefined : AbortSignal.timeout(Math.max(0, remaining - (deps.deadlineMarginMs ?? 20_000)));
    const etag = record.s3?.object?.eTag;
    if (deps.direct) {
      return handleDirectObject({ ...deps, direct: deps.direct, skip }, {
        bucket, key, ...(etag ? { etag } : {}), ...(remaining === undefined ? {} : { leaseUntil: Date.now() + remaining + 5_000 }), ...(signal ? { signal } : {}),
      });
    }
    if (!deps.firehose || !deps.deliveryStream) throw new Error('loader has neither a delivery stream nor direct delivery configured');
    let result: LoadResult;
    try {
      result = await loadObject({
        s3: deps.s3, firehose: deps.firehose, deliveryStream: deps.deliveryStream,
        checkpoints: deps.checkpoints, failures: deps.failures, bucket, key,
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
      metrics.addMetric('ObjectsFailed', MetricUnit.Count, 1);
      if (error instanceof LoadObjectError) addStats(metrics, error.stats);
      logger.error('object load failed', { bucket, key, error: error as Error });
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
      if (body.Event === 's3:TestEvent') {
        logger.info('s3:TestEvent ignored', { messageId: message.messageId });
        metrics.addMetric('TestEvents', MetricUnit.Count, 1);
        return;
      }
      if (!Array.isArray(body.Records)) throw new Error(`message ${message.messageId}: not an S3 event notification`);
      // Records of one message in order; on failure the message is retried and done objects are skipped.
      for (const record of body.Records) await loadOne(record, context);
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

function dependenciesFromEnvironment(): LoaderDependencies {
  const direct = process.env['ALBATROSS_DELIVERY'] === 'direct';
  const deliveryStream = process.env['ALBATROSS_DELIVERY_STREAM'];
  if (!deliveryStream && !direct) throw new Error('ALBATROSS_DELIVERY_STREAM is not set');
  const logger = createLogger(SERVICE_NAMES.loader);
  const s3 = new S3Client({});
  // The loader owns retries (only failed records are resent, and they are counted).
  const firehose = createFirehoseClient({ maxAttempts: 1 }, {
    onFastPathOff: (path) => logger.warn('Firehose codec self-check failed: this fast path is off, the SDK\'s generic (slower) path is used', { path }),
  });
  const table = process.env['ALBATROSS_CHECKPOINT_TABLE'];
  const failureBucket = process.env['ALBATROSS_FAILURE_BUCKET'];
  const concurrency = Number(process.env['ALBATROSS_SEND_CONCURRENCY'] ?? 4);
  const maxRetrySeconds = Number(process.env['ALBATROSS_MAX_RETRY_SECONDS'] ?? 120);
  return {
    s3, logger,
    ...(direct ? { direct: directDeliveryFromEnvironment(s3) } : { firehose, deliveryStream }),
    metrics: createMetrics(SERVICE_NAMES.loader),
    checkpoints: table ? new DynamoDbCheckpointStore(new DynamoDBClient({}), table) : new MemoryCheckpointStore(),
    failures: failureBucket
      ? new S3FailureSink(s3, failureBucket, process.env['ALBATROSS_FAILURE_PREFIX']) // unset: the sink's default prefix
      : new LogFailureSink(logger),
    concurrency: Number.isInteger(concurrency) && concurrency > 0 ? concurrency : 4,
    retry: { maxRetryTimeMs: (Number.isFinite(maxRetrySeconds) && maxRetrySeconds > 0 ? maxRetrySeconds : 120) * 1000 },
  };
}

let environmentHandler: ReturnType<typeof createHandler> | undefined;

/** The Lambda entry point; dependencies are built from the environment on first use. */
export const handler = (event: SQSEvent, context: Context): Promise<SQSBatchResponse> => {
  environmentHandler ??= createHandler(dependenciesFromEnvironment());
  return environmentHandler(event, context);
};
