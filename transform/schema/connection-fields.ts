// THE schema of ALB connection-log documents (one TLS handshake or connection attempt per line):
// it drives the parser's output type (ConnectionDocument), the index mapping and the field
// reference, as fields.ts does for access logs. Reference: alb-log-format.md §3.
import type { DocumentOf, SchemaField } from './fields.ts';
import { SOURCE_FIELDS } from './common-fields.ts';

export const CONNECTION_FIELDS = [
  { path: '@timestamp', type: 'date_nanos', albField: 'timestamp', description: 'Time the connection was established or failed, the log\'s own text with microseconds.' },
  { path: 'event.kind', type: 'keyword', description: 'Always `event`.' },
  { path: 'event.category', type: 'keyword', array: true, description: 'Always `[network]`.' },
  { path: 'event.type', type: 'keyword', array: true, description: 'Always `[connection]`.' },
  { path: 'event.outcome', type: 'keyword', description: '`success` when tls_verify_status is `Success`, `failure` when it is `Failed:…`; left out otherwise (plain-HTTP listeners).' },
  { path: 'event.duration', type: 'long', albField: 'tls_handshake_latency', description: 'TLS handshake latency in nanoseconds (exact from the logged seconds); left out for plain HTTP or a failed handshake.' },
  ...SOURCE_FIELDS,

  // connection-log fields, in log order
  { path: 'source.address', type: 'keyword', albField: 'client_ip', description: 'Client address text as logged (kept even when it is not a valid IP).' },
  { path: 'source.ip', type: 'ip', albField: 'client_ip', description: 'Client IP.' },
  { path: 'source.port', type: 'integer', albField: 'client_port', description: 'Client port.' },
  { path: 'destination.port', type: 'integer', albField: 'listener_port', description: 'Listener port the client connected to.' },
  { path: 'tls.version', type: 'keyword', albField: 'tls_protocol', description: 'TLS version number, e.g. `1.2` (the raw text when not `TLSv<n>`/`SSLv<n>`).' },
  { path: 'tls.version_protocol', type: 'keyword', albField: 'tls_protocol', description: 'Protocol of tls.version: `tls` or `ssl`.' },
  { path: 'tls.cipher', type: 'keyword', albField: 'tls_cipher', description: 'Negotiated TLS cipher.' },
  { path: 'tls.client.x509.subject.distinguished_name', type: 'keyword', albField: 'leaf_client_cert_subject', description: 'Subject of the client certificate (mutual TLS), e.g. `CN=…,O=…,C=US`.' },
  { path: 'tls.client.x509.not_before', type: 'date_nanos', albField: 'leaf_client_cert_validity', description: 'Start of the client certificate\'s validity (`NotBefore=`).' },
  { path: 'tls.client.x509.not_after', type: 'date_nanos', albField: 'leaf_client_cert_validity', description: 'End of the client certificate\'s validity (`NotAfter=`).' },
  { path: 'tls.client.x509.serial_number', type: 'keyword', albField: 'leaf_client_cert_serial_number', description: 'Serial number of the client certificate (hex).' },
  { path: 'aws.elb.tls_verify_status', type: 'keyword', albField: 'tls_verify_status', description: 'Client certificate verification result as logged: `Success` or `Failed:<code>`.' },
  { path: 'aws.elb.error.reason', type: 'keyword', albField: 'tls_verify_status', description: 'The `<code>` of a `Failed:<code>` status, e.g. `ClientCertUntrusted`.' },
  { path: 'aws.elb.conn_trace_id', type: 'keyword', albField: 'conn_trace_id', description: 'Connection traceability id (`TID_…`): the access-log requests of this connection carry the same value.' },
  { path: 'aws.elb.tls_key_exchange', type: 'keyword', albField: 'tls_keyexchange', description: 'Key exchange of the handshake (TLS or post-quantum TLS).' },
  { path: 'aws.elb.name', type: 'keyword', albField: 'elb', description: 'Load balancer resource id, `app/<name>/<id>`.' },
  { path: 'aws.elb.node.ip', type: 'ip', albField: 'ip_address', description: 'IP of the load balancer node that handled the connection.' },
  { path: 'aws.elb.extra_fields', type: 'keyword', array: true, description: 'Fields after the last known one, in order (quotes removed, escapes decoded): fields AWS has not announced yet.' },
] as const satisfies readonly SchemaField[];

/** A parsed ALB connection-log document, shaped by CONNECTION_FIELDS. */
export type ConnectionDocument = DocumentOf<typeof CONNECTION_FIELDS>;
