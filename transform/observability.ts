// Shared Powertools Logger and Metrics factories for the Lambda handlers (loader, transform).
// Logs are structured JSON; metrics are CloudWatch Embedded Metric Format (EMF) lines on stdout,
// so they cost no API call. POWERTOOLS_* environment variables (POWERTOOLS_LOG_LEVEL,
// POWERTOOLS_METRICS_DISABLED, POWERTOOLS_DEV, ...) keep their documented effect.
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';

/** CloudWatch metrics namespace of every Albatross metric. */
export const METRICS_NAMESPACE = 'Albatross';

/** Service names, used as the logs' `service` key and the metrics' `service` dimension. */
export const SERVICE_NAMES = {
  loader: 'albatross-loader',
  transform: 'albatross-transform',
  replayer: 'albatross-replayer',
  backfill: 'albatross-backfill',
} as const;
export type ServiceName = (typeof SERVICE_NAMES)[keyof typeof SERVICE_NAMES]
  | `${typeof SERVICE_NAMES.transform}-${string}` | `${typeof SERVICE_NAMES.replayer}-${string}`;

/**
 * The transform's service name for a stream of one log type: access keeps `albatross-transform`
 * (the name its alarm reads), the others add their type, so each stream's metrics stand apart.
 */
export function transformServiceName(logType: string): ServiceName {
  return logType === 'access' ? SERVICE_NAMES.transform : `${SERVICE_NAMES.transform}-${logType}`;
}

/** The replayer's service name for one stream's backup: as transformServiceName (access, and the direct loader's backup, keep `albatross-replayer`). */
export function replayerServiceName(logType: string): ServiceName {
  return logType === 'access' ? SERVICE_NAMES.replayer : `${SERVICE_NAMES.replayer}-${logType}`;
}

export function createLogger(serviceName: ServiceName): Logger {
  return new Logger({ serviceName });
}

export function createMetrics(serviceName: ServiceName): Metrics {
  return new Metrics({ namespace: METRICS_NAMESPACE, serviceName });
}

export { Logger, Metrics, MetricUnit };
