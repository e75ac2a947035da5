// VRL-style table for connection logs: every real sample line with the document we expect from it,
// malformed variants with their reasons, and the schema and JSON invariants.
import { describe, expect, it } from 'vitest';
import { parseConnectionLine, parseConnectionLineToJson, type ConnectionDocument } from '../../../transform/parser/connection.ts';
import { CONNECTION_FIELDS } from '../../../transform/schema/connection-fields.ts';
import { leavesOf, problemsAgainst } from '../../schema-of.ts';
import { corpusLine, corpusLines, CORPUS_FILES } from '../../corpus.ts';
import { allConnectionLogLines, describeSamples, readSampleLines, SAMPLES_PRESENT } from '../../samples.ts';

function documentOf(line: string, options?: Parameters<typeof parseConnectionLine>[1]): ConnectionDocument {
  const result = parseConnectionLine(line, options);
  if (result.kind !== 'document') throw new Error(`expected a document, got ${result.kind}: ${result.reason}`);
  return result.document;
}

/** event.id is a hash: checked separately, left out of the table. */
function withoutId(doc: ConnectionDocument): ConnectionDocument {
  const { id: _id, ...event } = doc.event ?? {};
  return { ...doc, event };
}

// The public samples (only when present: test/samples.ts) for the example table; the corpus for the rest.
const [awsSuccess, awsUntrusted] = (SAMPLES_PRESENT ? readSampleLines('aws-docs_connection-log-examples.log') : []) as [string, string];
const [elasticSuccess, elasticUntrusted, elasticPlainHttp] = (SAMPLES_PRESENT ? readSampleLines('elastic-integrations_elb_logs_test-alb_connection-log-lines.log') : []) as [string, string, string];
const [success, expired] = corpusLines(CORPUS_FILES.connection) as [string, string];

const certificate = {
  x509: {
    subject: { distinguished_name: 'CN=amazondomains.com,O=endEntity,L=Seattle,ST=Washington,C=US' },
    not_before: '2023-09-21T22:43:21Z', not_after: '2026-06-17T22:43:21Z', serial_number: 'FEF257372D5C14D4',
  },
};

describeSamples('parseConnectionLine: example table (../shared/samples)', () => {
  const table: [string, string, ConnectionDocument][] = [
    ['AWS doc: mutual TLS verified', awsSuccess, {
      '@timestamp': '2023-10-04T17:05:15.514108Z',
      event: { kind: 'event', category: ['network'], type: ['connection'], outcome: 'success', duration: 4_036_000_000 },
      source: { address: '203.0.113.1', ip: '203.0.113.1', port: 36280 },
      destination: { port: 443 },
      tls: { version: '1.2', version_protocol: 'tls', cipher: 'ECDHE-RSA-AES128-GCM-SHA256', client: certificate },
      aws: { elb: { tls_verify_status: 'Success', conn_trace_id: 'TID_3180a73013c8ca4bac2f731159d4b0fe' } },
      cloud: { provider: 'aws' },
    }],
    ['AWS doc: untrusted client certificate, no handshake latency', awsUntrusted, {
      '@timestamp': '2023-10-04T17:05:15.514108Z',
      event: { kind: 'event', category: ['network'], type: ['connection'], outcome: 'failure' },
      source: { address: '203.0.113.1', ip: '203.0.113.1', port: 36280 },
      destination: { port: 443 },
      tls: { version: '1.2', version_protocol: 'tls', cipher: 'ECDHE-RSA-AES128-GCM-SHA256', client: certificate },
      aws: { elb: { tls_verify_status: 'Failed:ClientCertUntrusted', error: { reason: 'ClientCertUntrusted' }, conn_trace_id: 'TID_1c71a68d70587445ad5127ff8b2687d7' } },
      cloud: { provider: 'aws' },
    }],
    ['Elastic: 11 fields, no trace id', elasticSuccess, {
      '@timestamp': '2024-10-04T17:05:15.514108Z',
      event: { kind: 'event', category: ['network'], type: ['connection'], outcome: 'success', duration: 4_036_000_000 },
      source: { address: '192.168.131.39', ip: '192.168.131.39', port: 36280 },
      destination: { port: 443 },
      tls: { version: '1.2', version_protocol: 'tls', cipher: 'ECDHE-RSA-AES128-GCM-SHA256', client: certificate },
      aws: { elb: { tls_verify_status: 'Success' } },
      cloud: { provider: 'aws' },
    }],
    ['Elastic: untrusted, 11 fields', elasticUntrusted, {
      '@timestamp': '2024-10-04T17:05:15.514108Z',
      event: { kind: 'event', category: ['network'], type: ['connection'], outcome: 'failure' },
      source: { address: '192.168.131.39', ip: '192.168.131.39', port: 36280 },
      destination: { port: 443 },
      tls: { version: '1.2', version_protocol: 'tls', cipher: 'ECDHE-RSA-AES128-GCM-SHA256', client: certificate },
      aws: { elb: { tls_verify_status: 'Failed:ClientCertUntrusted', error: { reason: 'ClientCertUntrusted' } } },
      cloud: { provider: 'aws' },
    }],
    ['Elastic: plain-HTTP listener, every TLS field `-` (the subject as a quoted "-")', elasticPlainHttp, {
      '@timestamp': '2024-11-29T13:45:24.599544Z',
      event: { kind: 'event', category: ['network'], type: ['connection'] },
      source: { address: '172.31.43.26', ip: '172.31.43.26', port: 58206 },
      destination: { port: 80 },
      aws: { elb: { conn_trace_id: 'TID_16132ed0b4112148' } },
      cloud: { provider: 'aws' },
    }],
  ];
  it.each(table)('%s', (_name, line, expected) => {
    expect(withoutId(documentOf(line))).toEqual(expected);
  });

});

describe('parseConnectionLine: corpus lines', () => {
  it('reads the fields AWS added after the trace id and keeps later ones in extra_fields', () => {
    const line = `${success} X25519MLKEM768 app/my-alb/0123456789abcdef 10.0.1.15 "new field" -`;
    const doc = documentOf(line);
    expect(doc.aws?.elb).toMatchObject({
      tls_key_exchange: 'X25519MLKEM768', name: 'app/my-alb/0123456789abcdef', node: { ip: '10.0.1.15' }, extra_fields: ['new field', '-'],
    });
    expect(doc.tags).toBeUndefined();
  });

  it('takes account, region, log.* and a stable event.id from the source object key', () => {
    const key = 'AWSLogs/123456789012/elasticloadbalancing/us-east-2/2023/10/04/conn_log_123456789012_elasticloadbalancing_us-east-2_app.my-alb.1234567890abcdef_20231004T1710Z_10.0.1.15_20sg8hgm.log.gz';
    const doc = documentOf(success, { source: { bucket: 'logs', key, offset: 512 }, original: true });
    expect(doc.cloud).toEqual({ provider: 'aws', account: { id: '123456789012' }, region: 'us-east-2' });
    expect(doc.log).toEqual({ file: { path: `s3://logs/${key}` }, offset: 512 });
    expect(doc.event?.original).toBe(success);
    expect(doc.event?.id).toMatch(/^[A-Za-z0-9_-]{22}-512$/);
    expect(documentOf(success, { source: { bucket: 'logs', key, offset: 512 } }).event?.id).toBe(doc.event?.id);
    expect(documentOf(success).event?.id).not.toBe(documentOf(expired).event?.id);
  });
});

describe('parseConnectionLine: bad input', () => {
  it.each([
    ['too few fields', success.split(' ').slice(0, 6).join(' '), /line has 6 fields; an ALB connection-log line has at least 11/],
    ['broken timestamp', success.replace('2024-06-12T09:30:41.220517Z', '2023-13-04T17:05:15Z'), /timestamp field "2023-13-04T17:05:15Z" is not an ISO 8601/],
    ['an access-log line', corpusLine('http'), /timestamp field "http" is not an ISO 8601/],
    ['a health-check line', corpusLines(CORPUS_FILES.healthCheck)[0]!, /line has 8 fields/],
    ['subject not quoted', success.replace(/"([^"]*)"/, 'CN=x'), /leaf_client_cert_subject \(field 8\) is not quoted/],
    ['unterminated quote', success.slice(0, success.indexOf('"') + 10), /unterminated quote in field 8 \(leaf_client_cert_subject\)/],
  ])('rejects %s with a reason', (_name, line, reason) => {
    const result = parseConnectionLine(line);
    expect(result.kind).toBe('failed');
    if (result.kind === 'failed') expect(result.reason).toMatch(reason);
  });

  it('skips empty and control lines', () => {
    expect(parseConnectionLine('  \r')).toEqual({ kind: 'skipped', reason: 'empty line' });
    expect(parseConnectionLine('Enable ConnectionLog for ELB: app/my-alb/123 at 2025-05-30T16:47:00.781Z')).toEqual({ kind: 'skipped', reason: 'ELB logging control line' });
  });

  it('leaves out and tags single values it cannot type, keeping the line', () => {
    const line = success.replace('198.51.100.23 51234 443', '12.34.178.90.32 99999 x').replace('3.120', 'fast').replace('NotAfter=2026-01-01T00:00:00Z', 'NotAfter=soon');
    const doc = documentOf(line);
    expect(doc.source).toEqual({ address: '12.34.178.90.32' });
    expect(doc.destination).toBeUndefined();
    expect(doc.event?.duration).toBeUndefined();
    expect(doc.tls?.client?.x509).toMatchObject({ not_before: '2024-01-01T00:00:00Z' });
    expect(doc.tls?.client?.x509?.not_after).toBeUndefined();
    expect(doc.tags).toEqual(['malformed_source.ip', 'malformed_source.port', 'malformed_destination.port', 'malformed_event.duration', 'malformed_tls.client.x509.not_after']);
  });
});

describe('connection documents and the schema', () => {
  const lines = allConnectionLogLines();

  it('has the expected corpus, every line a document', () => {
    expect(lines).toHaveLength(corpusLines(CORPUS_FILES.connection).length + (SAMPLES_PRESENT ? 5 : 0));
    expect(lines.filter(({ line }) => parseConnectionLine(line).kind !== 'document')).toEqual([]);
  });

  it('emits only schema paths with values of the schema type, and JSON === JSON.stringify(document)', () => {
    const seen = new Set<string>();
    const extended = `${success} X25519MLKEM768 app/my-alb/0123456789abcdef 10.0.1.15 extra`;
    for (const [i, { line }] of [...lines, { line: extended }].entries()) {
      for (const options of [undefined, { source: { bucket: 'b', key: 'conn_log_x.log.gz', offset: i }, original: true }]) {
        const doc = documentOf(line, options);
        expect(problemsAgainst(CONNECTION_FIELDS, doc)).toEqual([]);
        for (const [path] of leavesOf(doc)) seen.add(path);
        const json = parseConnectionLineToJson(line, options);
        expect(json).toEqual({ kind: 'document', json: JSON.stringify(doc), tagged: false });
      }
    }
    // only the malformed-value tags, account and region (from a real key) are not exercised here
    expect(CONNECTION_FIELDS.map((f) => f.path).filter((path) => !seen.has(path))).toEqual(['cloud.account.id', 'cloud.region', 'tags']);
  });
});
