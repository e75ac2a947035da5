// Replayer Lambda (EventBridge schedule): replays Firehose's delivery-failure backup
// (errors/AmazonOpenSearchService-failed/) into the domain once it takes writes again, with the code
// of `albatross backfill --firehose-errors` (scripts/backfill/replay.ts). A run stops starting
// objects shortly before its deadline; what it did not finish waits for the next run, and replaying
// an object again overwrites the same _index/_id.
//
// One replayer per backup bucket: each Firehose stream's (one log type), or the direct loader's (every
// type). Environment: ALBATROSS_OPENSEARCH_ENDPOINT (domain endpoint, no scheme), ALBATROSS_BACKUP_BUCKET,
// ALBATROSS_INDEX_PREFIX, ALBATROSS_CONNECTION_INDEX_PREFIX, ALBATROSS_HEALTH_INDEX_PREFIX (the stack's
// prefixes), ALBATROSS_LOG_TYPES (the families the bucket holds; absent = all), ALBATROSS_LOG_TYPE (the
// stream's type for its metrics' service name; absent = access or the direct loader's backup).
import { S3Client } from '@aws-sdk/client-s3';
import type { Client } from '@opensearch-project/opensearch';
import type { Context } from 'aws-lambda';
import { s3BackupStore } from '../../scripts/backfill/backup-store.ts';
import { replayDeliveryFailures, type ReplaySummary } from '../../scripts/backfill/replay.ts';
import { createOpenSearchClient } from '../../templates/opensearch-client.ts';
import type { OutsidePrefixesReason } from '../../transform/bulk-index/index-lines.ts';
import { isLogType, type LogType } from '../../transform/log-type-names.ts';
import { createLogger, createMetrics, MetricUnit, replayerServiceName, type Logger, type Metrics } from '../../transform/observability.ts';

/** Metric names; infra/constructs/replayer.ts alarms on the failure ones. */
export const REPLAY_METRICS = {
  objectsReplayed: 'ReplayObjectsReplayed',
  objectsPartial: 'ReplayObjectsPartial',
  objectsFailed: 'ReplayObjectsFailed',
  documentsReplayed: 'ReplayDocumentsReplayed',
  documentsFailed: 'ReplayDocumentsFailed',
  runsSkipped: 'ReplayRunsSkipped',
} as const;

export interface ReplayerDependencies {
  client: Client;
  s3: S3Client;
  bucket: string;
  /** Access-log index prefix. */
  indexPrefix: string;
  /** Connection- and health-check-log index prefixes; default alb-connection, alb-health. */
  indexPrefixes?: Partial<Record<Exclude<LogType, 'access'>, string>>;
  /** The index families the bucket holds (the run waits while one is write-blocked). @default all */
  logTypes?: readonly LogType[];
  logger: Logger;
  metrics: Metrics;
  /** Stop starting objects this long before the invocation deadline. Default 60 s. */
  deadlineMarginMs?: number;
}

/**
 * A refused document for an index outside the stack's prefixes (a prefix changed since it was backed
 * up, or a record copied in by hand): what an operator of the stack does about it.
 */
export const outsideStackPrefixes: OutsidePrefixesReason = (index, prefixes) =>
  `document for index ${index}, outside this stack's index prefixes (indexPrefix ${prefixes.access}, connectionIndexPrefix ${prefixes.connection}, ` +
  `healthIndexPrefix ${prefixes.health}); the replayer leaves it here: if it belongs to an earlier prefix, index it from a workstation ` +
  '(albatross backfill --firehose-errors with that prefix), otherwise delete this record';

/** One scheduled run: replay, then metrics and one structured log line with the summary. */
export async function runReplayer(deps: ReplayerDependencies, context?: Pick<Context, 'getRemainingTimeInMillis'>): Promise<ReplaySummary> {
  const { logger, metrics } = deps;
  const remaining = context?.getRemainingTimeInMillis();
  const signal = remaining === undefined ? undefined : AbortSignal.timeout(Math.max(0, remaining - (deps.deadlineMarginMs ?? 60_000)));
  try {
    const summary = await replayDeliveryFailures({
      client: deps.client,
      store: s3BackupStore(deps.s3, deps.bucket),
      indexPrefix: deps.indexPrefix,
      ...(deps.indexPrefixes ? { indexPrefixes: deps.indexPrefixes } : {}),
      ...(deps.logTypes ? { logTypes: deps.logTypes } : {}),
      outsidePrefixesReason: outsideStackPrefixes,
      ...(signal ? { signal } : {}),
    });
    metrics.addMetric(REPLAY_METRICS.runsSkipped, MetricUnit.Count, summary.skipped ? 1 : 0);
    metrics.addMetric(REPLAY_METRICS.objectsReplayed, MetricUnit.Count, summary.objectsReplayed);
    metrics.addMetric(REPLAY_METRICS.objectsPartial, MetricUnit.Count, summary.objectsPartial);
    metrics.addMetric(REPLAY_METRICS.objectsFailed, MetricUnit.Count, summary.objectsFailed.length);
    metrics.addMetric(REPLAY_METRICS.documentsReplayed, MetricUnit.Count, summary.documentsReplayed);
    metrics.addMetric(REPLAY_METRICS.documentsFailed, MetricUnit.Count, summary.documentsFailed);
    const failed = summary.documentsFailed > 0 || summary.objectsFailed.length > 0;
    (failed ? logger.warn.bind(logger) : logger.info.bind(logger))(summary.skipped ? 'replay skipped: the domain does not take writes' : 'replay run', { ...summary });
    return summary;
  } finally {
    metrics.publishStoredMetrics();
  }
}

let dependencies: ReplayerDependencies | undefined;

export async function handler(_event: unknown, context: Context): Promise<ReplaySummary> {
  dependencies ??= dependenciesFromEnvironment();
  return runReplayer(dependencies, context);
}

export function dependenciesFromEnvironment(env: NodeJS.ProcessEnv = process.env): ReplayerDependencies {
  const value = (name: string) => {
    const found = env[name];
    if (!found) throw new Error(`environment variable ${name} is not set`);
    return found;
  };
  const types = env['ALBATROSS_LOG_TYPES']?.split(',').filter(isLogType);
  const service = replayerServiceName(env['ALBATROSS_LOG_TYPE'] || 'access');
  return {
    client: createOpenSearchClient({ endpoint: `https://${value('ALBATROSS_OPENSEARCH_ENDPOINT')}`, region: env['AWS_REGION'], sigv4: true }),
    s3: new S3Client({}),
    bucket: value('ALBATROSS_BACKUP_BUCKET'),
    indexPrefix: value('ALBATROSS_INDEX_PREFIX'),
    indexPrefixes: {
      ...(env['ALBATROSS_CONNECTION_INDEX_PREFIX'] ? { connection: env['ALBATROSS_CONNECTION_INDEX_PREFIX'] } : {}),
      ...(env['ALBATROSS_HEALTH_INDEX_PREFIX'] ? { health: env['ALBATROSS_HEALTH_INDEX_PREFIX'] } : {}),
    },
    ...(types && types.length > 0 ? { logTypes: types } : {}),
    logger: createLogger(service),
    metrics: createMetrics(service),
  };
}
