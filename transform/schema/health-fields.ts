// THE schema of ALB health-check-log documents (one health check of one target per line): it
// drives the parser's output type (HealthDocument), the index mapping and the field reference,
// as fields.ts does for access logs. Reference: alb-log-format.md §4.
import type { DocumentOf, SchemaField } from './fields.ts';
import { SOURCE_FIELDS } from './common-fields.ts';

export const HEALTH_FIELDS = [
  { path: '@timestamp', type: 'date_nanos', albField: 'time', description: 'Time the health check was initiated, the log\'s own text.' },
  { path: 'event.kind', type: 'keyword', description: 'Always `event`.' },
  { path: 'event.category', type: 'keyword', array: true, description: 'Always `[network]`.' },
  { path: 'event.type', type: 'keyword', array: true, description: 'Always `[info]`.' },
  { path: 'event.outcome', type: 'keyword', description: '`success` for `PASS`, `failure` for `FAIL`; left out for any other status.' },
  { path: 'event.duration', type: 'long', albField: 'latency', description: 'Health check latency in nanoseconds (exact from the logged seconds).' },
  ...SOURCE_FIELDS,

  // health-check-log fields, in log order
  { path: 'aws.elb.type', type: 'keyword', albField: 'type', description: 'Health check protocol: http, https, h2, grpc, lambda.' },
  { path: 'destination.address', type: 'keyword', albField: 'target_addr', description: 'Target as logged: the IP part of `IP:port`, or a Lambda function ARN.' },
  { path: 'destination.ip', type: 'ip', albField: 'target_addr', description: 'Target IP.' },
  { path: 'destination.port', type: 'integer', albField: 'target_addr', description: 'Target port.' },
  { path: 'aws.elb.target_group.id', type: 'keyword', albField: 'target_group_id', description: 'Target group as logged (its name in the AWS examples, e.g. `HCLogsTestIPs`).' },
  { path: 'aws.elb.health_check.status', type: 'keyword', albField: 'status', description: 'Result of the check: `PASS` or `FAIL`.' },
  { path: 'http.response.status_code', type: 'integer', albField: 'status_code', description: 'Status code the target answered with.' },
  { path: 'aws.elb.error.reason', type: 'keyword', albField: 'reason_code', description: 'Why the check failed, e.g. `TimedOut`, `ResponseCodeMismatch`, `TargetError`.' },
  { path: 'aws.elb.name', type: 'keyword', albField: 'elb', description: 'Load balancer resource id, `app/<name>/<id>`.' },
  { path: 'aws.elb.node.ip', type: 'ip', albField: 'ip_address', description: 'IP of the load balancer node that ran the check.' },
  { path: 'aws.elb.extra_fields', type: 'keyword', array: true, description: 'Fields after the last known one, in order (quotes removed, escapes decoded): fields AWS has not announced yet.' },
] as const satisfies readonly SchemaField[];

/** A parsed ALB health-check-log document, shaped by HEALTH_FIELDS. */
export type HealthDocument = DocumentOf<typeof HEALTH_FIELDS>;
