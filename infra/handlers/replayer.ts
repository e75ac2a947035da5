// Replayer Lambda (EventBridge schedule): replays Firehose's delivery-failure backup
// (errors/AmazonOpenSearchService-failed/) into the domain once it takes writes again, with the code
// of `albatross backfill --firehose-errors` (scripts/backfill/replay.ts). A run stops starting
// objects shortly before its deadline; what it did not finish waits for the next run, and replaying
// an object again overwrites the same _index/_id.
//
// Environment: ALBATROSS_OPENSEARCH_ENDPOINT (domain endpoint, no scheme), ALBATROSS_INDEX_PREFIX,
// ALBATROSS_BACKUP_BUCKET.
import { S3Client } from '@aws-sdk/client-s3';
import type { Client } from '@opensearch-project/opensearch';
import type { Context } from 'aws-lambda';
import { s3BackupStore } from '../../scripts/backfill/backup-store.ts';
import { replayDeliveryFailures, type ReplaySummary } from '../../scripts/backfill/replay.ts';
import { createOpenSearchClient } from '../../templates/opensearch-client.ts';
import { createLogger, createMetrics, MetricUnit, SERVICE_NAMES, type Logger, type Metrics } from '../../transform/observability.ts';

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
  indexPrefix: string;
  logger: Logger;
  metrics: Metrics;
  /** Stop starting objects this long before the invocation deadline. Default 60 s. */
  deadlineMarginMs?: number;
}

function required(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`environment variable ${name} is not set`);
  return value;
}

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
  dependencies ??= {
    client: createOpenSearchClient({ endpoint: `https://${required('ALBATROSS_OPENSEARCH_ENDPOINT')}`, region: process.env.AWS_REGION, sigv4: true }),
    s3: new S3Client({}),
    bucket: required('ALBATROSS_BACKUP_BUCKET'),
    indexPrefix: required('ALBATROSS_INDEX_PREFIX'),
    logger: createLogger(SERVICE_NAMES.replayer),
    metrics: createMetrics(SERVICE_NAMES.replayer),
  };
  return runReplayer(dependencies, context);
}
