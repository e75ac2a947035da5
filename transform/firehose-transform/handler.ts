// Firehose data-transformation Lambda: a thin shell around processRecords (process.ts) that adds
// Powertools structured logs and EMF metrics per invocation.
// Environment: ALBATROSS_EVENT_ORIGINAL=true adds `event.original` (the raw line) to every document;
// ALBATROSS_LOG_TYPE (access, connection or health; default access) is the log type of the stream.
import type { Context, FirehoseTransformationEvent, FirehoseTransformationResult } from 'aws-lambda';
import { createLogger, createMetrics, MetricUnit, transformServiceName } from '../observability.ts';
import { isLogType, type LogType } from '../log-type-names.ts';
import { processRecords } from './process.ts';

/** Failed records logged one by one (id, reason, source; never the raw line) per invocation; all are counted. */
export const MAX_LOGGED_FAILURES = 100;

// In Lambda one function serves one stream, so its log type is fixed: metrics carry it in the service name.
const serviceName = transformServiceName(process.env.ALBATROSS_LOG_TYPE ?? 'access');
const logger = createLogger(serviceName);
const metrics = createMetrics(serviceName);

/** The stream's log type from ALBATROSS_LOG_TYPE; a wrong value fails every invocation loudly rather than mis-parse. */
export function logTypeFromEnvironment(value = process.env.ALBATROSS_LOG_TYPE): LogType {
  if (value === undefined || value === '') return 'access';
  if (!isLogType(value)) throw new Error(`ALBATROSS_LOG_TYPE is "${value}"; expected access, connection or health`);
  return value;
}

/** The Lambda entry point: the stream's log type comes from ALBATROSS_LOG_TYPE. */
export function handler(event: FirehoseTransformationEvent, context?: Context): Promise<FirehoseTransformationResult> {
  return transform(event, context, logTypeFromEnvironment());
}

/** The same handler for a stream of the given log type (the local pipeline runs one per type in one process). */
export function createTransformHandler(logType: LogType): (event: FirehoseTransformationEvent, context?: Context) => Promise<FirehoseTransformationResult> {
  return (event, context) => transform(event, context, logType);
}

async function transform(event: FirehoseTransformationEvent, context: Context | undefined, logType: LogType): Promise<FirehoseTransformationResult> {
  if (context !== undefined) logger.addContext(context);
  metrics.captureColdStartMetric();
  const { records, stats, failures } = processRecords(event.records, {
    original: process.env.ALBATROSS_EVENT_ORIGINAL === 'true',
    logType,
  });

  metrics.addMetric('RecordsIn', MetricUnit.Count, stats.recordsIn);
  metrics.addMetric('RecordsOk', MetricUnit.Count, stats.ok);
  metrics.addMetric('RecordsProcessingFailed', MetricUnit.Count, stats.processingFailed);
  metrics.addMetric('RecordsDropped', MetricUnit.Count, stats.dropped);
  metrics.addMetric('InputBytes', MetricUnit.Bytes, stats.inputBytes);
  metrics.addMetric('ResponseBytes', MetricUnit.Bytes, stats.responseBytes);
  metrics.publishStoredMetrics();

  const summary = { invocationId: event.invocationId, deliveryStreamArn: event.deliveryStreamArn, ...stats };
  if (stats.processingFailed > 0) {
    logger.warn('transformed batch with failed records', summary);
    // Firehose keeps only the raw data of a failed record; the reason lives here (and can be recomputed
    // with `albatross parse` from the preserved line).
    for (const failure of failures.slice(0, MAX_LOGGED_FAILURES)) {
      logger.warn('record failed', { invocationId: event.invocationId, ...failure });
    }
  } else {
    logger.info('transformed batch', summary);
  }
  return { records };
}
