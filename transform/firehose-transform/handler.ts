// Firehose data-transformation Lambda: a thin shell around processRecords (process.ts) that adds
// Powertools structured logs and EMF metrics per invocation.
// Environment: ALBATROSS_EVENT_ORIGINAL=true adds `event.original` (the raw line) to every document;
// ALBATROSS_LOG_TYPE (access, connection or health; default access) is the log type of the stream;
// ALBATROSS_LOG_SAMPLES=true logs up to three raw failed lines per batch (off: logs carry no log content).
// ALBATROSS_ENRICH (geo,as,ua | none; default all), ALBATROSS_GEOIP_CITY_DB and ALBATROSS_GEOIP_ASN_DB
// (own MaxMind-format databases: a path, or an s3:// URI read once per cold start) choose the enrichment
// of access logs.
import type { Context, FirehoseTransformationEvent, FirehoseTransformationResult } from 'aws-lambda';
import { enricherForLambda } from '../enrich/data.ts';
import type { Enricher } from '../enrich/index.ts';
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

// Created on the first invocation and kept for the life of the execution environment (the data
// files are opened on first lookup). A bad setting fails every invocation with its reason, so
// Firehose retries and then keeps the records in its backup: nothing is indexed half-enriched.
let enricher: Promise<Enricher | undefined> | undefined;
async function createEnricher(): Promise<Enricher | undefined> {
  const env = process.env;
  const created = await enricherForLambda(env);
  logger.info('enrichment', { parts: created === undefined ? [] : [...created.parts], cityDatabase: env.ALBATROSS_GEOIP_CITY_DB || 'bundled', asnDatabase: env.ALBATROSS_GEOIP_ASN_DB || 'bundled' });
  return created;
}

async function transform(event: FirehoseTransformationEvent, context: Context | undefined, logType: LogType): Promise<FirehoseTransformationResult> {
  if (context !== undefined) logger.addContext(context);
  metrics.captureColdStartMetric();
  // Enrichment applies to access logs (client address and user agent); the other types carry neither.
  let enrich: Enricher | undefined;
  if (logType === 'access') {
    enricher ??= createEnricher();
    try {
      enrich = await enricher;
    } catch (error) {
      enricher = undefined;   // try again on the next invocation (a transient S3 error, say)
      logger.error('enrichment setup failed', { error: error as Error });
      throw error;
    }
  }
  const { records, stats, failures } = processRecords(event.records, {
    original: process.env.ALBATROSS_EVENT_ORIGINAL === 'true',
    samples: process.env.ALBATROSS_LOG_SAMPLES === 'true',
    logType,
    enrich,
  });

  metrics.addMetric('RecordsIn', MetricUnit.Count, stats.recordsIn);
  metrics.addMetric('RecordsOk', MetricUnit.Count, stats.ok);
  metrics.addMetric('RecordsProcessingFailed', MetricUnit.Count, stats.processingFailed);
  metrics.addMetric('RecordsDropped', MetricUnit.Count, stats.dropped);
  metrics.addMetric('InputBytes', MetricUnit.Bytes, stats.inputBytes);
  metrics.addMetric('ResponseBytes', MetricUnit.Bytes, stats.responseBytes);
  metrics.publishStoredMetrics();

  // enrichment: lookups and cache hits since the execution environment started
  const summary = { invocationId: event.invocationId, deliveryStreamArn: event.deliveryStreamArn, ...stats, ...(enrich && { enrichment: enrich.stats() }) };
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
