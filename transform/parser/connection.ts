// parseConnectionLine: one ALB connection-log line -> one typed document (or a reason).
// Pure: no AWS, no I/O. Never throws. Same rules as the access-log parser (docs/parser.md):
// `-` leaves a field out, a value that cannot be typed is left out and tagged
// `malformed_<path>`, fields AWS appends later go to aws.elb.extra_fields, and a structurally
// broken line is rejected with a reason. Fields: transform/schema/connection-fields.ts.
import type { ConnectionDocument } from '../schema/connection-fields.ts';
import { addSource, guarded, LineReader, put, tlsVersion, toJsonResult, type Doc, type DocumentResult, type JsonResult } from './line-document.ts';
import type { ParseOptions } from './types.ts';
import { readTimestamp } from './values.ts';

export type { ConnectionDocument };

/** Connection-log fields by position (0-based); everything after goes to aws.elb.extra_fields. */
export const CONNECTION_FIELD_NAMES = [
  'timestamp', 'client_ip', 'client_port', 'listener_port', 'tls_protocol', 'tls_cipher', 'tls_handshake_latency',
  'leaf_client_cert_subject', 'leaf_client_cert_validity', 'leaf_client_cert_serial_number', 'tls_verify_status',
  'conn_trace_id', 'tls_keyexchange', 'elb', 'ip_address',
] as const;

/** Lines without a trace id (early 2023) end at tls_verify_status: 11 fields. */
export const CONNECTION_MIN_FIELDS = 11;

const SUBJECT = 7;
const reader = new LineReader();

function parse(rawLine: string, options: ParseOptions | undefined): DocumentResult<ConnectionDocument> {
  const skip = reader.read(rawLine);
  if (skip !== undefined) return skip;
  const r = reader;
  if (r.unterminatedQuote && r.count <= CONNECTION_MIN_FIELDS) {
    return { kind: 'failed', reason: `unterminated quote in field ${r.count} (${CONNECTION_FIELD_NAMES[r.count - 1]})` };
  }
  if (r.count < CONNECTION_MIN_FIELDS) {
    return { kind: 'failed', reason: `line has ${r.count} fields; an ALB connection-log line has at least ${CONNECTION_MIN_FIELDS}` };
  }
  if (r.timestamp(0) === undefined) {
    return { kind: 'failed', reason: `timestamp field ${r.quote(0)} is not an ISO 8601 UTC timestamp in the date_nanos range` };
  }
  if (!r.quoted(SUBJECT)) {
    return { kind: 'failed', reason: 'leaf_client_cert_subject (field 8) is not quoted: not an ALB connection-log line, or fields are missing' };
  }

  const doc: Doc = { '@timestamp': r.text(0) };
  const event: Doc = { kind: 'event', category: ['network'], type: ['connection'] };
  doc['event'] = event;

  const client = r.value(1);
  if (client !== undefined) put(doc, 'source.address', client);
  put(doc, 'source.ip', r.ip(client, 'source.ip'));
  put(doc, 'source.port', r.unsigned(2, 65535, 'source.port'));
  put(doc, 'destination.port', r.unsigned(3, 65535, 'destination.port'));

  const protocol = r.value(4);
  if (protocol !== undefined) {
    const [version, versionProtocol] = tlsVersion(protocol);
    put(doc, 'tls.version', version);
    put(doc, 'tls.version_protocol', versionProtocol);
  }
  put(doc, 'tls.cipher', r.value(5));
  const duration = r.nanos(6, 'event.duration');
  if (duration !== undefined) event['duration'] = duration;

  put(doc, 'tls.client.x509.subject.distinguished_name', r.value(SUBJECT));
  if (!r.absent(8)) readValidity(doc, r.text(8));
  put(doc, 'tls.client.x509.serial_number', r.value(9));

  const status = r.value(10);
  if (status !== undefined) {
    put(doc, 'aws.elb.tls_verify_status', status);
    if (status === 'Success') {
      event['outcome'] = 'success';
    } else if (status.startsWith('Failed')) {
      event['outcome'] = 'failure';
      const code = status.slice(status.indexOf(':') + 1);
      if (status.includes(':') && code !== '') put(doc, 'aws.elb.error.reason', code);
    }
  }
  put(doc, 'aws.elb.conn_trace_id', r.value(11));
  put(doc, 'aws.elb.tls_key_exchange', r.value(12));
  put(doc, 'aws.elb.name', r.value(13));
  put(doc, 'aws.elb.node.ip', r.ip(r.value(14), 'aws.elb.node.ip'));
  put(doc, 'aws.elb.extra_fields', r.extra(CONNECTION_FIELD_NAMES.length));

  addSource(doc, event, r, options);
  if (r.tags !== undefined) doc['tags'] = r.tags;
  return { kind: 'document', document: doc as ConnectionDocument };
}

/** `NotBefore=2023-09-21T22:43:21Z;NotAfter=2026-06-17T22:43:21Z`, either part possibly missing. */
function readValidity(doc: Doc, text: string): void {
  for (const part of text.split(';')) {
    const equals = part.indexOf('=');
    const name = part.slice(0, equals);
    const path = name === 'NotBefore' ? 'tls.client.x509.not_before' : name === 'NotAfter' ? 'tls.client.x509.not_after' : undefined;
    if (path === undefined) continue;
    const time = part.slice(equals + 1);
    if (readTimestamp(time) === undefined) reader.tag(`malformed_${path}`);
    else put(doc, path, time);
  }
  if (!text.includes('NotBefore=') && !text.includes('NotAfter=')) reader.tag('malformed_tls.client.x509.not_before');
}

/** Parses one ALB connection-log line. Never throws. */
export function parseConnectionLine(line: string, options?: ParseOptions): DocumentResult<ConnectionDocument> {
  return guarded(() => parse(line, options));
}

/** Same as parseConnectionLine, with the document as JSON text (=== JSON.stringify(document)). */
export function parseConnectionLineToJson(line: string, options?: ParseOptions): JsonResult {
  return toJsonResult(parseConnectionLine(line, options));
}
