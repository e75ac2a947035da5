// VRL-style table: example lines of every shape (test/corpus, written from the documented format)
// with the document we expect from them.
import { describe, expect, it } from 'vitest';
import { parseAlbLine, type AlbDocument } from '../../../transform/parser/index.ts';
import { corpusLine, LINE_36_FIELDS_IPV6 } from '../../corpus.ts';

function documentOf(line: string, options?: Parameters<typeof parseAlbLine>[1]): AlbDocument {
  const result = parseAlbLine(line, options);
  if (result.kind !== 'document') throw new Error(`expected a document, got ${result.kind}: ${result.reason}`);
  return result.document;
}

/** event.id is a hash: checked separately, left out of the table. */
function withoutId(doc: AlbDocument): AlbDocument {
  const { id: _id, ...event } = doc.event ?? {};
  return { ...doc, event };
}

const http = corpusLine('http');
const ipv6With36Fields = LINE_36_FIELDS_IPV6;

describe('parseAlbLine: example table', () => {
  it('http line: every field typed', () => {
    expect(withoutId(documentOf(http))).toEqual({
      '@timestamp': '2024-03-11T08:15:42.512907Z',
      event: {
        kind: 'event', category: ['web'], type: ['access'], outcome: 'success',
        start: '2024-03-11T08:15:42.507000Z', duration: 5_907_000, // 42.512907 - 42.507000 s
      },
      // region and account from the target group ARN
      cloud: { provider: 'aws', region: 'eu-west-1', account: { id: '210987654321' } },
      aws: {
        elb: {
          type: 'http', name: 'app/shop-alb/7a1c9e24b5d03f86',
          backend: { ip: '10.0.1.17', port: 8080, http: { response: { status_code: 200 } } },
          request_processing_time: { sec: 0.001 }, backend_processing_time: { sec: 0.004 }, response_processing_time: { sec: 0 },
          target_group: { arn: 'arn:aws:elasticloadbalancing:eu-west-1:210987654321:targetgroup/shop-web/4f2a9c1d7e6b3a50' },
          matched_rule_priority: 0, action_executed: ['forward'], target_port: ['10.0.1.17:8080'], target_status_code: ['200'],
        },
      },
      source: { address: '198.51.100.23', ip: '198.51.100.23', port: 51234 },
      http: { request: { method: 'GET', bytes: 412 }, response: { status_code: 200, bytes: 1873 }, version: '1.1' },
      url: { original: 'http://shop.example.net:80/catalog?page=2', scheme: 'http', domain: 'shop.example.net', port: 80, path: '/catalog', query: 'page=2' },
      user_agent: { original: 'curl/8.5.0' },
      trace: { id: 'Root=1-65eebd2e-3c9a0f5b1d2e4f6a7b8c9d0e' },
    });
  });

  it('malformed request "- http://host:80- -": no method/version, URL kept, host and port still derived', () => {
    const doc = withoutId(documentOf(corpusLine('malformed-url-no-method')));
    expect(doc).toEqual({
      '@timestamp': '2024-03-11T08:23:11.000001Z',
      event: { kind: 'event', category: ['web'], type: ['access'], outcome: 'failure', start: '2024-03-11T08:23:10.990000Z', duration: 10_001_000 },
      cloud: { provider: 'aws' },
      aws: { elb: { type: 'http', name: 'app/shop-alb/7a1c9e24b5d03f86' } },
      source: { address: '198.51.100.99', ip: '198.51.100.99', port: 4711 },
      http: { request: { bytes: 0 }, response: { status_code: 400, bytes: 0 } },
      url: { original: 'http://shop.example.net:80-', scheme: 'http', domain: 'shop.example.net', port: 80 },
    });
  });

  it('"- - -" request: no method, URL or version at all', () => {
    const doc = documentOf(corpusLine('malformed-dashes'));
    expect(doc.url).toBeUndefined();
    expect(doc.http).toEqual({ request: { bytes: 0 }, response: { status_code: 400, bytes: 0 } });
    expect(doc.aws?.elb?.action_executed).toBeUndefined();
    expect(doc.user_agent).toBeUndefined();
  });

  it('IPv6, TID, transform fields, node ip, unknown trailing fields, escapes', () => {
    expect(withoutId(documentOf(ipv6With36Fields))).toEqual({
      '@timestamp': '2026-09-17T10:00:01.123456Z',
      event: { kind: 'event', category: ['web'], type: ['access'], outcome: 'success', start: '2026-09-17T10:00:01.120000Z', duration: 3_456_000 },
      cloud: { provider: 'aws', region: 'eu-west-1', account: { id: '111122223333' } },
      aws: {
        elb: {
          type: 'https', name: 'app/my-alb/0123456789abcdef',
          backend: { ip: 'fd6d:6bbc:c529:6::face:ed83:f46', port: 80, http: { response: { status_code: 200 } } },
          request_processing_time: { sec: 0.001 }, backend_processing_time: { sec: 0.002 }, response_processing_time: { sec: 0 },
          target_group: { arn: 'arn:aws:elasticloadbalancing:eu-west-1:111122223333:targetgroup/tg/0123456789abcdef' },
          chosen_cert: { arn: 'session-reused' },
          matched_rule_priority: 10160, action_executed: ['waf', 'forward'],
          target_port: ['[fd6d:6bbc:c529:6::face:ed83:f46]:80'], target_status_code: ['200'],
          conn_trace_id: 'TID_37acbe0641d1c34287fee137ef3a5286',
          transformed_host: 'rewritten.example.com', transformed_uri: '/new/path', request_transform_status: 'TransformSuccess',
          node: { ip: '3.34.116.99' },
          extra_fields: ['-', 'x'],
        },
      },
      source: { address: '2a02:a33c:4538:1:bcf4:5264:e01c:f215', ip: '2a02:a33c:4538:1:bcf4:5264:e01c:f215', port: 50718 },
      http: { request: { method: 'GET', bytes: 512 }, response: { status_code: 200, bytes: 1024 }, version: '2.0' },
      url: { original: 'https://example.com:443/a%20b?q=1', scheme: 'https', domain: 'example.com', port: 443, path: '/a%20b', query: 'q=1' },
      user_agent: { original: '"Mozilla/5.0" 에' },
      tls: { cipher: 'TLS_AES_128_GCM_SHA256', version: '1.3', version_protocol: 'tls', client: { server_name: 'example.com' } },
      trace: { id: 'Root=1-5f84c3a3-91b9' },
    });
  });

  it('raw spaces in the URL (SpaceInUri) stay in url.original, path and query', () => {
    const doc = documentOf(corpusLine('space-in-uri'));
    expect(doc.url).toEqual({
      original: 'http://198.51.100.250:80/cgi-bin/run?cmd=ls -la /tmp;id',
      scheme: 'http', domain: '198.51.100.250', port: 80, path: '/cgi-bin/run', query: 'cmd=ls -la /tmp;id',
    });
    expect(doc.http?.version).toBe('1.1');
    expect(doc.aws?.elb?.redirect_url).toBe('https://198.51.100.250:443/cgi-bin/run?cmd=ls -la /tmp;id');
    expect(doc.aws?.elb?.classification).toBe('Acceptable');
    expect(doc.aws?.elb?.classification_reason).toBe('SpaceInUri');
    expect(doc.aws?.elb?.backend).toBeUndefined();
    expect(doc.aws?.elb?.target_group).toBeUndefined();
    expect(doc.aws?.elb?.request_processing_time).toBeUndefined();
  });

  it('anonymised 5-octet client IP: typed field left out, text kept, document tagged', () => {
    const doc = documentOf(corpusLine('anonymised-ip'));
    expect(doc.source).toEqual({ address: '10.200.300.4.5', port: 40000 });
    expect(doc.tags).toEqual(['malformed_source.ip']);
    expect(doc.aws?.elb?.action_executed).toEqual(['redirect']);
    expect(doc.aws?.elb?.redirect_url).toBe('https://shop.example.net:443/');
    expect(doc.tls?.client?.server_name).toBe('10.200.300.4:443');
  });

  it('client closed (460): measured request time kept, -1 times and "-" target status left out', () => {
    const doc = documentOf(corpusLine('client-closed-460'));
    expect(doc.aws?.elb?.request_processing_time).toEqual({ sec: 0.003 });
    expect(doc.aws?.elb?.backend_processing_time).toBeUndefined();
    expect(doc.aws?.elb?.response_processing_time).toBeUndefined();
    expect(doc.aws?.elb?.backend).toEqual({ ip: '10.0.2.31', port: 443 });
    expect(doc.aws?.elb?.target_status_code).toBeUndefined();
    expect(doc.http?.response?.status_code).toBe(460);
    expect(doc.event?.outcome).toBe('failure');
  });

  it('gRPC over HTTP/2 with TLS 1.3', () => {
    const doc = documentOf(corpusLine('grpcs'));
    expect(doc.aws?.elb?.type).toBe('grpcs');
    expect(doc.http?.version).toBe('2.0');
    expect(doc.http?.request?.method).toBe('POST');
    expect(doc.url?.path).toBe('/example.telemetry.v2.Ingest/Push');
    expect(doc.tls).toEqual({ cipher: 'TLS_AES_128_GCM_SHA256', version: '1.3', version_protocol: 'tls', client: { server_name: 'telemetry.example.net' } });
    expect(doc.user_agent?.original).toBe('grpc-go/1.62.1');
  });

  it('typo line with a missing space after a quote ("-"1) is recovered and tagged', () => {
    const doc = documentOf(corpusLine('missing-space-typo'));
    expect(doc.aws?.elb?.matched_rule_priority).toBe(1);
    expect(doc.event?.start).toBe('2019-06-01T12:00:00.498000Z');
    expect(doc.aws?.elb?.target_port).toEqual(['10.0.9.9:80']);
    expect(doc.aws?.elb?.action_executed).toEqual(['forward']);
    expect(doc.tags).toEqual(['missing_space_after_quote']);
  });

  it('oldest 20-field and 21-field lines (2018-02 / 2018-03)', () => {
    const twenty = documentOf(corpusLine('fields-20'));
    expect(twenty.aws?.elb?.chosen_cert).toEqual({ arn: 'arn:aws:acm:eu-west-1:210987654321:certificate/9a0b1c2d-3e4f-5061-7d89-e0f1a2b3c4d5' });
    expect(twenty.aws?.elb?.matched_rule_priority).toBeUndefined();
    expect(twenty.event?.start).toBeUndefined();
    expect(twenty.trace?.id).toBe('Root=1-5a880c9c-445566778899aabbccddeeff');
    const twentyOne = documentOf(corpusLine('fields-21'));
    expect(twentyOne.aws?.elb?.matched_rule_priority).toBe(0);
    expect(twentyOne.event?.start).toBeUndefined();
    // the same shape cut from a current line: the request holds two spaces, so 20 fields = 22 words
    const words = http.split(' ');
    expect(documentOf(words.slice(0, 22).join(' ')).aws?.elb?.matched_rule_priority).toBeUndefined();
    expect(documentOf(words.slice(0, 23).join(' ')).aws?.elb?.matched_rule_priority).toBe(0);
  });

  it('25-field line (2018-11 to 2019-11): error reason, no target lists', () => {
    const doc = documentOf(corpusLine('fields-25-lambda-error'));
    expect(doc.aws?.elb?.error).toEqual({ reason: 'LambdaUnhandled' });
    expect(doc.aws?.elb?.target_port).toBeUndefined();
    expect(doc.aws?.elb?.classification).toBeUndefined();
  });

  it('escapes: \\xHH and the 8-digit \\x000000HH form are decoded, UTF-8 bytes joined', () => {
    const doc = documentOf(corpusLine('escapes'));
    expect(doc.user_agent?.original).toBe('"Mozilla/5.0 (compatible; \uC5D0\uB2E4)" "quoted"');
    expect(doc.aws?.elb?.redirect_url).toBe('https://shop.example.net:443/..\\..\\windows\\win.ini');
  });

  it('empty actions "" are left out; a domain with a leading space is kept as sent', () => {
    const doc = documentOf(corpusLine('empty-actions-space-domain'));
    expect(doc.aws?.elb?.action_executed).toBeUndefined();
    expect(doc.tls?.client?.server_name).toBe(' www.example.net');
  });

  it('target lists with several items become arrays', () => {
    const doc = documentOf(corpusLine('multi-target-lists'));
    expect(doc.aws?.elb?.target_port).toEqual(['10.0.1.17:8080', '10.0.1.18:8080']);
    expect(doc.aws?.elb?.target_status_code).toEqual(['200', '503']);
  });

  it('Lambda target failure: error reason, no target', () => {
    const doc = documentOf(corpusLine('lambda-failure'));
    expect(doc.aws?.elb?.error).toEqual({ reason: 'LambdaInvalidResponse' });
    expect(doc.aws?.elb?.backend).toBeUndefined();
    expect(doc.http?.response?.status_code).toBe(502);
  });

  it('matched_rule_priority -1 (rule evaluation error) is kept; "-" is left out', () => {
    const base = http.split(' ');
    const withPriority = (p: string): AlbDocument => documentOf([...base.slice(0, 22), p, ...base.slice(23)].join(' '));
    expect(withPriority('-1').aws?.elb?.matched_rule_priority).toBe(-1);
    expect(withPriority('-').aws?.elb?.matched_rule_priority).toBeUndefined();
    expect(withPriority('x').tags).toEqual(['malformed_aws.elb.matched_rule_priority']);
  });

  it('source, original and cloud fields', () => {
    const key = 'AWSLogs/123456789012/elasticloadbalancing/eu-central-1/2019/10/11/123456789012_elasticloadbalancing_eu-central-1_app.x.8e858b04373118d3_20191011T1505Z_3.224.132.43_39xza92o.log.gz';
    const doc = documentOf(http, { source: { bucket: 'logs', key, offset: 4096 }, original: true });
    expect(doc.log).toEqual({ file: { path: `s3://logs/${key}` }, offset: 4096 });
    expect(doc.cloud).toEqual({ provider: 'aws', account: { id: '123456789012' }, region: 'eu-central-1' });
    expect(doc.event?.original).toBe(http);
    expect(documentOf(http).event?.original).toBeUndefined();
    expect(documentOf(`${http}\r\n`, { original: true }).event?.original).toBe(http);
  });
});

describe('parseAlbLine: event.id', () => {
  const source = { bucket: 'b', key: 'k.log.gz', offset: 10 };
  const id = (line: string, options?: Parameters<typeof parseAlbLine>[1]): string | undefined => documentOf(line, options).event?.id;

  it('is deterministic for the same line and source', () => {
    expect(id(http, { source })).toBe(id(http, { source: { ...source } }));
    expect(id(http)).toBe(id(`${http}`));
  });
  it('differs by offset, key and bucket when the source is known', () => {
    const ids = new Set([
      id(http, { source }), id(http, { source: { ...source, offset: 11 } }),
      id(http, { source: { ...source, key: 'other.log.gz' } }), id(http, { source: { ...source, bucket: 'c' } }),
      id(http, { source: { key: source.key, offset: 10 } }),
    ]);
    expect(ids.size).toBe(5);
  });
  it('differs by line content when there is no source', () => {
    expect(id(http)).not.toBe(id(corpusLine('https-authenticate')));
  });
});

describe('parseAlbLine: skipped and failed lines', () => {
  it.each([
    ['', 'empty line'],
    ['   \r', 'empty line'],
    ['Enable AccessLog for ELB: app/elb-name/abc123456 at 2025-05-30T16:47:00.781Z', 'ELB logging control line'],
    ['Enable ConnectionLog for ELB', 'ELB logging control line'],
  ])('skips %j', (line, reason) => {
    expect(parseAlbLine(line)).toEqual({ kind: 'skipped', reason });
  });

  it('rejects a line with fewer than 20 fields', () => {
    expect(parseAlbLine('http 2025-10-31T12:44:59.875678Z 0.019584011 172.31.20.97:80 HCLogsTestIPs PASS 200 -'))
      .toEqual({ kind: 'failed', reason: 'line has 8 fields; an ALB access-log line has at least 20' });
  });
  it('rejects a time that is not a timestamp', () => {
    const line = http.replace('2024-03-11T08:15:42.512907Z', '2024-13-11T08:15:42.512907Z');
    const result = parseAlbLine(line);
    expect(result.kind).toBe('failed');
    expect(result.kind === 'failed' && result.reason).toMatch(/^time field "2024-13-11T08:15:42.512907Z" is not/);
  });
  it('rejects a line cut inside the user agent (unterminated quote)', () => {
    const cut = http.slice(0, http.indexOf('curl/') + 3);
    expect(parseAlbLine(cut)).toEqual({ kind: 'failed', reason: 'unterminated quote in field 14 (user_agent)' });
  });
  it('keeps a line cut inside a late optional field, tagged', () => {
    const cut = http.slice(0, http.lastIndexOf('"200"') + 3);
    const doc = documentOf(cut);
    expect(doc.tags).toEqual(['unterminated_quote']);
    expect(doc.aws?.elb?.target_status_code).toEqual(['20']);
  });
  it('rejects a line whose request is not quoted (fields out of place)', () => {
    const result = parseAlbLine(http.replace('"GET http://shop.example.net:80/catalog?page=2 HTTP/1.1"', 'GET'));
    expect(result.kind).toBe('failed');
  });
});
