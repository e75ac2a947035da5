// THE document schema: every field an ALB access-log document can carry.
// The parser's output type (AlbDocument), the OpenSearch mapping
// (schema/mapping.ts) and the field reference (docs/fields.md) all derive from
// this one list, so they cannot drift apart.

export type FieldType = 'date_nanos' | 'keyword' | 'ip' | 'integer' | 'long' | 'float' | 'boolean' | 'geo_point';

export interface SchemaField {
  path: string;          // dotted document path, e.g. 'http.response.status_code'
  type: FieldType;
  array?: boolean;       // value is an array of `type`
  text?: boolean;        // also indexed as full text in a `.text` sub-field (keyword + text)
  // Storage (docs/cost.md): what a field need not cost on disk. Its value always stays in _source.
  aggregatable?: false;  // no doc values: nobody sorts or aggregates on it (a high-cardinality id, URL, port, offset)
  indexed?: false;       // no index: with doc values still searchable (slower, from the doc values); without, in _source only
  albField?: string;     // ALB log field name it comes from, for the docs
  description: string;   // one line for the generated field reference
}

export const SCHEMA_FIELDS = [
  // ECS event and bookkeeping fields
  { path: '@timestamp', type: 'date_nanos', albField: 'time', description: 'Time the load balancer generated the response (WebSockets: connection close), the log\'s own text with microseconds.' },
  { path: 'event.start', aggregatable: false, indexed: false, type: 'date_nanos', albField: 'request_creation_time', description: 'Time the load balancer received the request (WebSockets: connection open).' },
  { path: 'event.duration', type: 'long', description: 'Nanoseconds from event.start to @timestamp; left out when either time is missing or the difference is negative.' },
  { path: 'event.kind', type: 'keyword', description: 'Always `event`.' },
  { path: 'event.category', type: 'keyword', array: true, description: 'Always `[web]`.' },
  { path: 'event.type', type: 'keyword', array: true, description: 'Always `[access]`.' },
  { path: 'event.outcome', type: 'keyword', description: '`success` when the load balancer status code is below 400, else `failure`; left out without a status code.' },
  { path: 'event.id', indexed: false, type: 'keyword', description: 'Deterministic id: a hash of the source object/file and byte offset when known, else of the line itself.' },
  { path: 'event.original', type: 'keyword', description: 'The raw log line; only when asked for (`--original`, transform option).' },
  { path: 'cloud.provider', type: 'keyword', description: 'Always `aws`.' },
  { path: 'cloud.account.id', type: 'keyword', description: 'AWS account id, from the S3 object key (else from the target group ARN).' },
  { path: 'cloud.region', type: 'keyword', description: 'AWS region, from the S3 object key (else from the target group ARN).' },
  { path: 'log.file.path', aggregatable: false, type: 'keyword', description: 'Object (`s3://bucket/key`) or file the line came from, when known.' },
  { path: 'log.offset', aggregatable: false, indexed: false, type: 'long', description: 'Byte offset of the line in the decompressed object or file, when known.' },
  { path: 'tags', type: 'keyword', array: true, description: 'Flags such as `malformed_source.ip`: a value that could not be typed was left out of its field; see docs/fields.md.' },

  // ALB access-log fields, in log order
  { path: 'aws.elb.type', type: 'keyword', albField: 'type', description: 'Request or connection type: http, https, h2, grpcs, ws, wss.' },
  { path: 'aws.elb.name', type: 'keyword', albField: 'elb', description: 'Load balancer resource id, `app/<name>/<id>`.' },
  { path: 'source.address', aggregatable: false, indexed: false, type: 'keyword', albField: 'client:port', description: 'Client address text as logged (kept even when it is not a valid IP).' },
  { path: 'source.ip', type: 'ip', albField: 'client:port', description: 'Client IP (IPv4 or unbracketed IPv6, split at the last colon).' },
  { path: 'source.port', aggregatable: false, indexed: false, type: 'integer', albField: 'client:port', description: 'Client port.' },
  // Enrichment of source.ip (transform/enrich; none for private, reserved and other non-public addresses)
  { path: 'source.geo.continent_name', type: 'keyword', albField: 'client:port', description: 'Continent of the client address (enrichment `geo`).' },
  { path: 'source.geo.country_iso_code', type: 'keyword', albField: 'client:port', description: 'ISO 3166-1 alpha-2 country code of the client address (enrichment `geo`).' },
  { path: 'source.geo.country_name', type: 'keyword', albField: 'client:port', description: 'Country name of the client address (enrichment `geo`).' },
  { path: 'source.geo.region_name', type: 'keyword', albField: 'client:port', description: 'Region (state, province) of the client address (enrichment `geo`).' },
  { path: 'source.geo.city_name', type: 'keyword', albField: 'client:port', description: 'City of the client address (enrichment `geo`).' },
  { path: 'source.geo.location', type: 'geo_point', albField: 'client:port', description: 'Latitude and longitude of the client address, `{lat, lon}` (enrichment `geo`; city-level accuracy).' },
  { path: 'source.as.number', type: 'long', albField: 'client:port', description: 'Autonomous system number of the client address\'s network (enrichment `as`).' },
  { path: 'source.as.organization.name', type: 'keyword', text: true, albField: 'client:port', description: 'Organisation of that autonomous system, e.g. `Amazon.com, Inc.` (enrichment `as`).' },
  { path: 'aws.elb.backend.ip', type: 'ip', albField: 'target:port', description: 'Target IP; left out for Lambda targets, redirects, fixed responses and requests that never reached a target.' },
  { path: 'aws.elb.backend.port', aggregatable: false, type: 'integer', albField: 'target:port', description: 'Target port.' },
  { path: 'aws.elb.request_processing_time.sec', aggregatable: false, type: 'float', albField: 'request_processing_time', description: 'Seconds from receiving the request to sending it to the target; left out when `-1` (not measured).' },
  { path: 'aws.elb.backend_processing_time.sec', aggregatable: false, type: 'float', albField: 'target_processing_time', description: 'Seconds from sending the request to the target until the target started the response headers; left out when `-1`.' },
  { path: 'aws.elb.response_processing_time.sec', aggregatable: false, type: 'float', albField: 'response_processing_time', description: 'Seconds from receiving the target\'s response headers to starting to send the response; left out when `-1`.' },
  { path: 'http.response.status_code', type: 'integer', albField: 'elb_status_code', description: 'Status code of the load balancer\'s response.' },
  { path: 'aws.elb.backend.http.response.status_code', indexed: false, type: 'integer', albField: 'target_status_code', description: 'Status code of the target\'s response.' },
  { path: 'http.request.bytes', indexed: false, type: 'long', albField: 'received_bytes', description: 'Bytes received from the client, headers included (WebSockets: whole connection).' },
  { path: 'http.response.bytes', indexed: false, type: 'long', albField: 'sent_bytes', description: 'Bytes sent to the client, headers included (WebSockets: whole connection).' },
  { path: 'http.request.method', type: 'keyword', albField: 'request', description: 'Request method: the request text before its first space.' },
  { path: 'url.original', aggregatable: false, indexed: false, type: 'keyword', text: true, albField: 'request', description: 'Request URL as sent by the client (escapes decoded; may contain spaces).' },
  { path: 'http.version', type: 'keyword', albField: 'request', description: 'HTTP version without the `HTTP/` prefix, e.g. `1.1`, `2.0`.' },
  { path: 'url.scheme', type: 'keyword', albField: 'request', description: 'URL scheme, e.g. `https`.' },
  { path: 'url.domain', type: 'keyword', albField: 'request', description: 'Host part of the URL (any text the client sent there).' },
  { path: 'url.port', indexed: false, type: 'integer', albField: 'request', description: 'Port of the URL.' },
  { path: 'url.path', type: 'keyword', albField: 'request', description: 'Path of the URL.' },
  { path: 'url.query', aggregatable: false, indexed: false, type: 'keyword', albField: 'request', description: 'Query string of the URL, without the `?`.' },
  { path: 'user_agent.original', type: 'keyword', text: true, albField: 'user_agent', description: 'User-Agent header (escapes decoded; truncated by ALB at 8 KB).' },
  { path: 'user_agent.name', type: 'keyword', albField: 'user_agent', description: 'Browser, crawler or tool name, e.g. `Chrome`, `Googlebot`, `ELB-HealthChecker`, `curl` (enrichment `ua`).' },
  { path: 'user_agent.version', type: 'keyword', albField: 'user_agent', description: 'Its version (enrichment `ua`).' },
  { path: 'user_agent.os.name', type: 'keyword', albField: 'user_agent', description: 'Operating system, e.g. `Windows`, `iOS`, `Android` (enrichment `ua`).' },
  { path: 'user_agent.os.version', type: 'keyword', albField: 'user_agent', description: 'Operating system version (enrichment `ua`).' },
  { path: 'user_agent.device.name', type: 'keyword', albField: 'user_agent', description: 'Device model when known (`iPhone`), else `Desktop`, `Mobile`, `Tablet`, or `Spider` for crawlers, scripts and health checkers (enrichment `ua`).' },
  { path: 'tls.cipher', type: 'keyword', albField: 'ssl_cipher', description: 'TLS cipher (OpenSSL or IANA name) for HTTPS listeners.' },
  { path: 'tls.version', type: 'keyword', albField: 'ssl_protocol', description: 'TLS version number, e.g. `1.2` (the raw text when not `TLSv<n>`/`SSLv<n>`).' },
  { path: 'tls.version_protocol', type: 'keyword', albField: 'ssl_protocol', description: 'Protocol of tls.version: `tls` or `ssl`.' },
  { path: 'aws.elb.target_group.arn', type: 'keyword', albField: 'target_group_arn', description: 'ARN of the target group.' },
  { path: 'trace.id', aggregatable: false, type: 'keyword', albField: 'trace_id', description: 'Contents of the X-Amzn-Trace-Id header.' },
  { path: 'tls.client.server_name', type: 'keyword', albField: 'domain_name', description: 'SNI domain sent by the client in the TLS handshake.' },
  { path: 'aws.elb.chosen_cert.arn', type: 'keyword', albField: 'chosen_cert_arn', description: 'ARN of the certificate presented to the client, or `session-reused`.' },
  { path: 'aws.elb.matched_rule_priority', indexed: false, type: 'integer', albField: 'matched_rule_priority', description: 'Priority of the matched rule (0 = default action, -1 = error during rule evaluation).' },
  { path: 'aws.elb.action_executed', type: 'keyword', array: true, albField: 'actions_executed', description: 'Actions taken, e.g. `[waf, forward]`.' },
  { path: 'aws.elb.redirect_url', aggregatable: false, type: 'keyword', albField: 'redirect_url', description: 'Location of a redirect response.' },
  { path: 'aws.elb.error.reason', type: 'keyword', albField: 'error_reason', description: 'Error reason code, e.g. `LambdaInvalidResponse`.' },
  { path: 'aws.elb.target_port', aggregatable: false, type: 'keyword', array: true, albField: 'target:port_list', description: 'Target `ip:port` list.' },
  { path: 'aws.elb.target_status_code', type: 'keyword', array: true, albField: 'target_status_code_list', description: 'Target status code list.' },
  { path: 'aws.elb.classification', type: 'keyword', albField: 'classification', description: 'Desync mitigation classification: Acceptable, Ambiguous, Severe.' },
  { path: 'aws.elb.classification_reason', type: 'keyword', albField: 'classification_reason', description: 'Desync classification reason code.' },
  { path: 'aws.elb.conn_trace_id', aggregatable: false, type: 'keyword', albField: 'conn_trace_id', description: 'Connection traceability id (`TID_…`), joins access and connection logs.' },
  { path: 'aws.elb.transformed_host', aggregatable: false, type: 'keyword', albField: 'transformed_host', description: 'Host header after a host-header-rewrite transform.' },
  { path: 'aws.elb.transformed_uri', aggregatable: false, type: 'keyword', albField: 'transformed_uri', description: 'Request URI after a url-rewrite transform.' },
  { path: 'aws.elb.request_transform_status', type: 'keyword', albField: 'request_transform_status', description: 'Status of the request transform.' },
  { path: 'aws.elb.node.ip', type: 'ip', albField: 'ip_address', description: 'IP of the load balancer node that handled the request.' },
  { path: 'aws.elb.extra_fields', aggregatable: false, type: 'keyword', array: true, description: 'Fields after the last known one, in order (quotes removed, escapes decoded): fields AWS has not announced yet.' },
] as const satisfies readonly SchemaField[];

// ---- The document type, derived from SCHEMA_FIELDS ----

interface JsTypeOf {
  date_nanos: string;
  keyword: string;
  ip: string;
  integer: number;
  long: number;
  float: number;
  boolean: boolean;
  geo_point: { lat: number; lon: number };
}

type FieldValue<F> = F extends { type: infer T extends FieldType; array: true }
  ? JsTypeOf[T][]
  : F extends { type: infer T extends FieldType }
    ? JsTypeOf[T]
    : never;

type Nest<Path extends string, V> = Path extends `${infer Head}.${infer Rest}`
  ? { [K in Head]?: Nest<Rest, V> }
  : { [K in Path]?: V };

type UnionToIntersection<U> = (U extends unknown ? (u: U) => void : never) extends (i: infer I) => void ? I : never;

type SchemaFieldList = typeof SCHEMA_FIELDS;
type NestField<F> = F extends { path: infer P extends string } ? Nest<P, FieldValue<F>> : never;

/** The document type a schema list (declared `as const`) describes: nested, every leaf optional. */
export type DocumentOf<Fields extends readonly SchemaField[]> = UnionToIntersection<NestField<Fields[number]>>;

/** A parsed ALB access-log document: nested JSON, every leaf optional, shaped by SCHEMA_FIELDS. */
export type AlbDocument = DocumentOf<SchemaFieldList>;

export type SchemaPath = SchemaFieldList[number]['path'];

/** Expected JS type of a schema field's (element) value, for runtime checks. */
export function jsTypeOf(type: FieldType): 'string' | 'number' | 'boolean' | 'object' {
  switch (type) {
    case 'geo_point':
      return 'object';
    case 'integer':
    case 'long':
    case 'float':
      return 'number';
    case 'boolean':
      return 'boolean';
    default:
      return 'string';
  }
}
