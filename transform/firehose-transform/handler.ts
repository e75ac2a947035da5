// Firehose data-transformation Lambda: a thin shell around processRecords (process.ts) that adds
// Powertools structured logs and EMF metrics per invocation.
// Environment: ALBATROSS_EVENT_ORIGINAL=true adds `event.original` (the raw line) to every document;
// ALBATROSS_LOG_SAMPLES=true logs up to three raw failed lines per batch (off: logs carry no log content).
import type { Context, FirehoseTransformationEvent, FirehoseTransformationResult } from 'aws-lambda';
import { createLogger, createMetrics, MetricUnit, SERVICE_NAMES } from '../observability.ts';
import { processRecords } from './process.ts';

/** Failed records logged one by one (id, reason, source; never the raw line) per invocation; all are counted. */
export const MAX_LOGGED_FAILURES = 100;

const logger = createLogger(SERVICE_NAMES.transform);
const metrics = createMetrics(SERVICE_NAMES.transform);

export async function handler(event: FirehoseTransformationEvent, context?: Context): Promise<FirehoseTransformationResult> {
  if (context !== undefined) logger.addContext(context);
  metrics.captureColdStartMetric();
  const { records, stats, failures } = processRecords(event.records, {
    original: process.env.ALBATROSS_EVENT_ORIGINAL === 'true',
    samples: process.env.ALBATROSS_LOG_SAMPLES === 'true',
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
