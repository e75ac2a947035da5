// Dashboards saved objects for the connection-log and health-check-log index families: an index
// pattern, saved searches, visualizations and a dashboard each, built like the access-log ones
// (dashboards.ts). The access-request-to-connection join is the saved search "Connections by
// trace id": filter it on `aws.elb.conn_trace_id:"TID_…"` taken from an access-log document.
import type { LogType } from '../transform/log-types.ts';
import {
  buildSavedObjects, count, dateHistogram, PIE_PARAMS, renderSavedObjects, TABLE_PARAMS, terms, xyParams,
  type Agg, type SavedObject, type SearchSpec, type VisSpec,
} from './dashboards.ts';
import { names } from './render.ts';

const NANOS_DURATION = { id: 'duration', params: { inputFormat: 'nanoseconds', outputFormat: 'humanizePrecise', outputPrecision: 1 } };
const FAILURES = 'event.outcome:failure';

const percentiles = (field: string, label: string): Agg => ({
  id: '1', enabled: true, type: 'percentiles', schema: 'metric', params: { field, percents: [50, 90, 99], customLabel: label },
});
const filters = (id: string, schema: Agg['schema'], items: { label: string; query: string }[]): Agg => ({
  id, enabled: true, type: 'filters', schema, params: { filters: items.map((f) => ({ input: { query: f.query, language: 'kuery' }, label: f.label })) },
});

function connectionVisualizations(): VisSpec[] {
  return [
    {
      slug: 'handshake-failures-by-reason',
      title: 'Handshake failures over time by reason',
      description: 'Failed TLS handshakes and client certificate verifications per interval, by failure code (aws.elb.error.reason).',
      type: 'histogram',
      query: FAILURES,
      params: xyParams('histogram', [{ id: '1', label: 'Failures' }], 'Failures', true),
      aggs: [count(), dateHistogram('2'), terms('3', 'aws.elb.error.reason', 10, 'group', 'Reason')],
    },
    {
      slug: 'mtls-failures-by-subject',
      title: 'mTLS verification failures by client certificate subject',
      description: 'Client certificates that failed verification: subject, serial number and failure code.',
      type: 'table',
      query: FAILURES,
      params: TABLE_PARAMS,
      aggs: [
        count(),
        terms('2', 'tls.client.x509.subject.distinguished_name', 25, 'bucket', 'Certificate subject'),
        terms('3', 'aws.elb.error.reason', 5, 'bucket', 'Reason'),
      ],
    },
    {
      slug: 'handshake-latency',
      title: 'TLS handshake latency percentiles',
      description: 'p50, p90 and p99 of the handshake latency (event.duration).',
      type: 'line',
      params: xyParams('line', [{ id: '1', label: 'Handshake latency' }], 'Latency', false),
      aggs: [percentiles('event.duration', 'Handshake latency'), dateHistogram('2')],
    },
    {
      slug: 'tls-protocols',
      title: 'TLS protocol mix',
      description: 'Negotiated TLS versions.',
      type: 'pie',
      params: PIE_PARAMS,
      aggs: [count(), terms('2', 'tls.version', 10, 'segment', 'TLS version')],
    },
    {
      slug: 'tls-ciphers',
      title: 'TLS cipher mix',
      description: 'Negotiated ciphers.',
      type: 'pie',
      params: PIE_PARAMS,
      aggs: [count(), terms('2', 'tls.cipher', 15, 'segment', 'Cipher')],
    },
    {
      slug: 'failing-clients',
      title: 'Clients with failed handshakes',
      description: 'Client IPs with the most failed handshakes.',
      type: 'table',
      query: FAILURES,
      params: TABLE_PARAMS,
      aggs: [count(), terms('2', 'source.ip', 25, 'bucket', 'Client IP')],
    },
  ];
}

function connectionSearches(): SearchSpec[] {
  return [
    {
      slug: 'failed-handshakes',
      title: 'Failed handshakes',
      description: 'Connections whose TLS handshake or client certificate verification failed.',
      query: FAILURES,
      columns: ['aws.elb.tls_verify_status', 'source.ip', 'tls.client.x509.subject.distinguished_name', 'tls.client.x509.serial_number', 'destination.port', 'aws.elb.conn_trace_id'],
    },
    {
      slug: 'by-trace-id',
      title: 'Connections by trace id (join with access logs)',
      description: 'Add aws.elb.conn_trace_id:"TID_…" from an access-log document to find the TLS connection that carried the request.',
      query: 'aws.elb.conn_trace_id:*',
      columns: ['aws.elb.conn_trace_id', 'source.ip', 'source.port', 'tls.version', 'tls.cipher', 'aws.elb.tls_verify_status', 'event.duration'],
    },
  ];
}

function healthVisualizations(): VisSpec[] {
  return [
    {
      slug: 'failing-targets',
      title: 'Failing targets over time',
      description: 'Failed health checks per interval, by target.',
      type: 'histogram',
      query: FAILURES,
      params: xyParams('histogram', [{ id: '1', label: 'Failed checks' }], 'Failed checks', true),
      aggs: [count(), dateHistogram('2'), terms('3', 'destination.address', 10, 'group', 'Target')],
    },
    {
      slug: 'failures-by-reason',
      title: 'Failures by reason',
      description: 'Why health checks failed (aws.elb.error.reason).',
      type: 'pie',
      query: FAILURES,
      params: PIE_PARAMS,
      aggs: [count(), terms('2', 'aws.elb.error.reason', 10, 'segment', 'Reason')],
    },
    {
      slug: 'failures-by-target-group',
      title: 'Failures by target group and target',
      description: 'Failed checks per target group and target, with their reasons.',
      type: 'table',
      query: FAILURES,
      params: TABLE_PARAMS,
      aggs: [
        count(),
        terms('2', 'aws.elb.target_group.id', 10, 'bucket', 'Target group'),
        terms('3', 'destination.address', 25, 'bucket', 'Target'),
        terms('4', 'aws.elb.error.reason', 5, 'bucket', 'Reason'),
      ],
    },
    {
      slug: 'check-latency',
      title: 'Health check latency percentiles',
      description: 'p50, p90 and p99 of the check latency (event.duration).',
      type: 'line',
      params: xyParams('line', [{ id: '1', label: 'Check latency' }], 'Latency', false),
      aggs: [percentiles('event.duration', 'Check latency'), dateHistogram('2')],
    },
    {
      slug: 'check-results',
      title: 'Check results over time',
      description: 'Passed and failed health checks per interval.',
      type: 'histogram',
      params: xyParams('histogram', [{ id: '1', label: 'Checks' }], 'Checks', true),
      aggs: [count(), dateHistogram('2'), filters('3', 'group', [{ label: 'PASS', query: 'event.outcome:success' }, { label: 'FAIL', query: FAILURES }])],
    },
  ];
}

function healthSearches(): SearchSpec[] {
  return [
    {
      slug: 'failed-checks',
      title: 'Failed health checks',
      description: 'Health checks that failed, with the target, its status code and the reason.',
      query: FAILURES,
      columns: ['destination.address', 'destination.port', 'aws.elb.target_group.id', 'http.response.status_code', 'aws.elb.error.reason', 'event.duration'],
    },
  ];
}

export interface LogTypeDashboardsOptions {
  indexPrefix: string;
  /** Threshold of the access logs' "slow requests" search, in seconds. */
  slowRequestSeconds: number;
}

/** The saved objects of one log type's index family. */
export function renderLogTypeSavedObjects(type: LogType, options: LogTypeDashboardsOptions): SavedObject[] {
  const pattern = names(options.indexPrefix).indexPattern;
  if (type === 'access') return renderSavedObjects(options);
  if (type === 'connection') {
    return buildSavedObjects({
      indexPrefix: options.indexPrefix,
      titlePrefix: '[ALB connections]',
      fieldFormats: { 'event.duration': NANOS_DURATION },
      searches: connectionSearches(),
      visualizations: connectionVisualizations(),
      dashboardTitle: `[ALB] Connection logs overview (${pattern})`,
      dashboardDescription: 'Albatross: ALB connection logs — handshake failures, mTLS verification, handshake latency, TLS protocols and ciphers.',
    });
  }
  return buildSavedObjects({
    indexPrefix: options.indexPrefix,
    titlePrefix: '[ALB health]',
    fieldFormats: { 'event.duration': NANOS_DURATION },
    searches: healthSearches(),
    visualizations: healthVisualizations(),
    dashboardTitle: `[ALB] Health-check logs overview (${pattern})`,
    dashboardDescription: 'Albatross: ALB health-check logs — failing targets, reasons, target groups, check latency.',
  });
}
