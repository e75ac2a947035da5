// parseHealthLine: one ALB health-check-log line -> one typed document (or a reason).
// Pure: no AWS, no I/O. Never throws. Same rules as the access-log parser (docs/parser.md).
// Health-check lines start with `http` like access-log lines: which parser applies is decided
// by the object key (transform/source/s3-key.ts), never by the line. Fields:
// transform/schema/health-fields.ts.
import type { HealthDocument } from '../schema/health-fields.ts';
import { addSource, guarded, LineReader, put, toJsonResult, type Doc, type DocumentResult, type JsonResult } from './line-document.ts';
import type { ParseOptions } from './types.ts';

export type { HealthDocument };

/** Health-check-log fields by position (0-based); everything after goes to aws.elb.extra_fields. */
export const HEALTH_FIELD_NAMES = [
  'type', 'time', 'latency', 'target_addr', 'target_group_id', 'status', 'status_code', 'reason_code', 'elb', 'ip_address',
] as const;

/** The AWS examples end at reason_code: 8 fields. */
export const HEALTH_MIN_FIELDS = 8;

const STATUS = 5;
const OUTCOMES: Record<string, string> = { PASS: 'success', FAIL: 'failure' };
const reader = new LineReader();

function parse(rawLine: string, options: ParseOptions | undefined): DocumentResult<HealthDocument> {
  const skip = reader.read(rawLine);
  if (skip !== undefined) return skip;
  const r = reader;
  if (r.unterminatedQuote && r.count <= HEALTH_MIN_FIELDS) {
    return { kind: 'failed', reason: `unterminated quote in field ${r.count} (${HEALTH_FIELD_NAMES[r.count - 1]})` };
  }
  if (r.count < HEALTH_MIN_FIELDS) {
    return { kind: 'failed', reason: `line has ${r.count} fields; an ALB health-check-log line has at least ${HEALTH_MIN_FIELDS}` };
  }
  if (r.timestamp(1) === undefined) {
    return { kind: 'failed', reason: `time field ${r.quote(1)} is not an ISO 8601 UTC timestamp in the date_nanos range` };
  }
  const status = r.text(STATUS);
  const outcome = OUTCOMES[status];
  if (outcome === undefined) {
    // Every health check passes or fails: anything else here means another kind of line (an access-log line, say).
    return { kind: 'failed', reason: `status field ${r.quote(STATUS)} (field 6) is not PASS or FAIL: not an ALB health-check-log line` };
  }

  const doc: Doc = { '@timestamp': r.text(1) };
  const event: Doc = { kind: 'event', category: ['network'], type: ['info'], outcome };
  doc['event'] = event;
  const duration = r.nanos(2, 'event.duration');
  if (duration !== undefined) event['duration'] = duration;

  put(doc, 'aws.elb.type', r.value(0));
  if (!r.absent(3)) {
    const target = r.value(3)!;
    if (target.startsWith('arn:')) {
      put(doc, 'destination.address', target); // a Lambda target
    } else {
      const [host, port] = r.hostPort(3, 'destination.port');
      if (host !== '' && host !== '-') put(doc, 'destination.address', host);
      put(doc, 'destination.ip', r.ip(host === '' || host === '-' ? undefined : host, 'destination.ip'));
      put(doc, 'destination.port', port);
    }
  }
  put(doc, 'aws.elb.target_group.id', r.value(4));
  put(doc, 'aws.elb.health_check.status', status);
  put(doc, 'http.response.status_code', r.unsigned(6, 999, 'http.response.status_code'));
  put(doc, 'aws.elb.error.reason', r.value(7));
  put(doc, 'aws.elb.name', r.value(8));
  put(doc, 'aws.elb.node.ip', r.ip(r.value(9), 'aws.elb.node.ip'));
  put(doc, 'aws.elb.extra_fields', r.extra(HEALTH_FIELD_NAMES.length));

  addSource(doc, event, r, options);
  if (r.tags !== undefined) doc['tags'] = r.tags;
  return { kind: 'document', document: doc as HealthDocument };
}

/** Parses one ALB health-check-log line. Never throws. */
export function parseHealthLine(line: string, options?: ParseOptions): DocumentResult<HealthDocument> {
  return guarded(() => parse(line, options));
}

/** Same as parseHealthLine, with the document as JSON text (=== JSON.stringify(document)). */
export function parseHealthLineToJson(line: string, options?: ParseOptions): JsonResult {
  return toJsonResult(parseHealthLine(line, options));
}
