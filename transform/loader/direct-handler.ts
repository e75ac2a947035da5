// The loader handler's direct-delivery path (ALBATROSS_DELIVERY=direct): one S3 object through
// loadObjectDirect, with its logs and EMF metrics. The alarms read DocumentsIndexed per log type (the
// heartbeat), DocumentsRefused, LinesFailed, BulkLatency and BulkRetries (infra/constructs/pipeline-alarms.ts).
import { createOpenSearchClient } from '../../templates/opensearch-client.ts';
import type { S3Client } from '@aws-sdk/client-s3';
import { Semaphore } from '../semaphore.ts';
import { enricherForLambda } from '../enrich/data.ts';
import { isLogType, logTypeOfKey } from '../log-type-names.ts';
import { MetricUnit, type Logger, type Metrics } from '../observability.ts';
import type { CheckpointStore } from './checkpoint.ts';
import { loadObjectDirect, type DirectDelivery, type DirectLoadResult } from './direct.ts';
import { S3ErrorRecordSink } from './error-records.ts';
import type { FailureSink } from './failures.ts';
import { CheckpointConflictError } from './checkpoint.ts';
import { LoadInterruptedError, ObjectChangedError } from './load-object.ts';

/** EMF metric names of the direct path (the alarms use them). */
export const DIRECT_METRICS = {
  indexed: 'DocumentsIndexed',
  refused: 'DocumentsRefused',
  parseFailed: 'LinesFailed',
  bulkLatency: 'BulkLatency',
  retries: 'BulkRetries',
  throttles: 'Throttles',
} as const;

/**
 * Dimension (next to `service`) of the per-log-type DocumentsIndexed the heartbeat alarms read: one
 * per type, as Firehose's IncomingRecords is per stream in the other mode.
 */
export const LOG_TYPE_DIMENSION = 'logType';

export interface DirectObject {
  bucket: string;
  key: string;
  etag?: string;
  leaseUntil?: number;
  signal?: AbortSignal;
  /** A backfill's inclusive UTC event days. */
  from?: string;
  to?: string;
  /** SQS delivered the message before (receive count above 1). */
  redelivered?: boolean;
}

export interface DirectHandlerDependencies {
  s3: S3Client;
  checkpoints: CheckpointStore;
  failures: FailureSink;
  logger: Logger;
  metrics: Metrics;
  direct: DirectDelivery;
  /** Called when an object was replaced since its event (a skip, not a failure). */
  skip: (bucket: string, key: string, reason: string) => void;
}

/**
 * Bulk-indexes one log object (access, connection or health-check); throws (the SQS message is retried) when it could not be
 * finished. Undefined when the object was skipped (replaced since its event).
 */
export async function handleDirectObject(deps: DirectHandlerDependencies, object: DirectObject): Promise<DirectLoadResult | undefined> {
  const { logger, metrics } = deps;
  let result;
  try {
    result = await loadObjectDirect({
      ...deps.direct, s3: deps.s3, checkpoints: deps.checkpoints, failures: deps.failures, logger,
      bucket: object.bucket, key: object.key,
      ...(object.etag ? { etag: object.etag } : {}),
      ...(object.leaseUntil ? { leaseUntil: object.leaseUntil } : {}),
      ...(object.signal ? { signal: object.signal } : {}),
      ...(object.from ? { from: object.from } : {}),
      ...(object.to ? { to: object.to } : {}),
      ...(object.redelivered ? { redelivered: true } : {}),
      onBulkRequest: (ms) => metrics.addMetric(DIRECT_METRICS.bulkLatency, MetricUnit.Milliseconds, ms),
    });
  } catch (error) {
    if (error instanceof ObjectChangedError || (error as { name?: string }).name === 'PreconditionFailed') {
      deps.skip(object.bucket, object.key, `object changed since the event (ETag ${object.etag})`);
      return undefined;
    }
    if (error instanceof LoadInterruptedError || error instanceof CheckpointConflictError) {
      // Progress is checkpointed: the message comes back and the object resumes there.
      metrics.addMetric('ObjectsInterrupted', MetricUnit.Count, 1);
      logger.warn('object load interrupted', { bucket: object.bucket, key: object.key, error: error as Error });
    } else {
      metrics.addMetric('ObjectsFailed', MetricUnit.Count, 1);
      logger.error('object load failed', { bucket: object.bucket, key: object.key, error: error as Error });
    }
    throw error;
  }
  if (result.status === 'already-loaded') {
    metrics.addMetric('ObjectsAlreadyLoaded', MetricUnit.Count, 1);
    return result;
  }
  deps.direct.onLoaded?.(result);
  metrics.addMetric('ObjectsLoaded', MetricUnit.Count, 1);
  metrics.addMetric('Lines', MetricUnit.Count, result.lines - result.resumedLines);
  metrics.addMetric('UncompressedBytes', MetricUnit.Bytes, result.bytes);
  metrics.addMetric(DIRECT_METRICS.indexed, MetricUnit.Count, result.indexed);
  const type = logTypeOfKey(object.key);
  if (type !== undefined) {
    // Published at once, with its own dimension set (the handler's metrics carry `service` only).
    metrics.singleMetric().addDimension(LOG_TYPE_DIMENSION, type).addMetric(DIRECT_METRICS.indexed, MetricUnit.Count, result.indexed);
  }
  metrics.addMetric(DIRECT_METRICS.refused, MetricUnit.Count, result.refused);
  metrics.addMetric(DIRECT_METRICS.parseFailed, MetricUnit.Count, result.parseFailed + result.tooLong);
  metrics.addMetric(DIRECT_METRICS.retries, MetricUnit.Count, result.retries);
  metrics.addMetric(DIRECT_METRICS.throttles, MetricUnit.Count, result.throttles);
  logger.info('object indexed', { ...result });
  return result;
}

/**
 * Direct delivery from the Lambda environment: ALBATROSS_OPENSEARCH_ENDPOINT (SigV4), ALBATROSS_INDEX_PREFIX,
 * ALBATROSS_CONNECTION_INDEX_PREFIX, ALBATROSS_HEALTH_INDEX_PREFIX, ALBATROSS_LOG_TYPES (comma-separated; absent = all),
 * ALBATROSS_FAILURE_BUCKET, and the transform's enrichment settings (ALBATROSS_ENRICH, ALBATROSS_GEOIP_CITY_DB,
 * ALBATROSS_GEOIP_ASN_DB; enricherForLambda), so access-log documents get the same source.geo, source.as
 * and user_agent fields as through Firehose.
 */
export async function directDeliveryFromEnvironment(s3: S3Client, env: NodeJS.ProcessEnv = process.env): Promise<DirectDelivery> {
  const endpoint = env['ALBATROSS_OPENSEARCH_ENDPOINT'];
  const bucket = env['ALBATROSS_FAILURE_BUCKET'];
  if (!endpoint) throw new Error('ALBATROSS_OPENSEARCH_ENDPOINT is not set (needed with ALBATROSS_DELIVERY=direct)');
  if (!bucket) throw new Error('ALBATROSS_FAILURE_BUCKET is not set (needed with ALBATROSS_DELIVERY=direct)');
  const concurrency = Number(env['ALBATROSS_SEND_CONCURRENCY'] ?? 2);
  const enrich = await enricherForLambda(env);
  return {
    // Always signed: the domain's access policy names the loader's role.
    client: createOpenSearchClient({ endpoint: `https://${endpoint.replace(/^https?:\/\//, '')}`, sigv4: true, region: env['AWS_REGION'] }),
    indexPrefix: env['ALBATROSS_INDEX_PREFIX'] || 'alb-logs',
    indexPrefixes: {
      ...(env['ALBATROSS_CONNECTION_INDEX_PREFIX'] ? { connection: env['ALBATROSS_CONNECTION_INDEX_PREFIX'] } : {}),
      ...(env['ALBATROSS_HEALTH_INDEX_PREFIX'] ? { health: env['ALBATROSS_HEALTH_INDEX_PREFIX'] } : {}),
    },
    ...(env['ALBATROSS_LOG_TYPES'] ? { logTypes: env['ALBATROSS_LOG_TYPES'].split(',').filter(isLogType) } : {}),
    ...(enrich ? { enrich } : {}),
    errors: new S3ErrorRecordSink(s3, bucket),
    bulkSlots: new Semaphore(Number.isInteger(concurrency) && concurrency > 0 ? concurrency : 2),
    retryWindowMs: Number(env['ALBATROSS_MAX_RETRY_SECONDS'] ?? 120) * 1000 || 120_000,
  };
}
