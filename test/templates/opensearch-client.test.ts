import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createOpenSearchClient, describeAuth, resolveAuth, sendBulk } from '../../templates/opensearch-client.ts';
import { readBody } from '../http-stand-in.ts';
import { verifySigV4, type ReceivedRequest } from '../sigv4.ts';

describe('resolveAuth', () => {
  it('signs Amazon OpenSearch Service endpoints, with the region from the host', () => {
    expect(resolveAuth({ endpoint: 'https://search-logs-abc123.eu-west-1.es.amazonaws.com' }, {})).toEqual({ kind: 'sigv4', region: 'eu-west-1', service: 'es' });
    expect(resolveAuth({ endpoint: 'https://vpc-logs-abc.us-gov-west-1.es.amazonaws.com:443' }, {})).toEqual({ kind: 'sigv4', region: 'us-gov-west-1', service: 'es' });
    expect(resolveAuth({ endpoint: 'https://abc.cn-north-1.es.amazonaws.com.cn' }, {})).toEqual({ kind: 'sigv4', region: 'cn-north-1', service: 'es' });
    expect(resolveAuth({ endpoint: 'https://xyz.us-east-1.aoss.amazonaws.com' }, {})).toEqual({ kind: 'sigv4', region: 'us-east-1', service: 'aoss' });
  });

  it('signs a custom domain name on request, with the region from the option or AWS_REGION', () => {
    expect(resolveAuth({ endpoint: 'https://logs.example.com', sigv4: true }, { AWS_REGION: 'ap-south-1' })).toEqual({ kind: 'sigv4', region: 'ap-south-1', service: 'es' });
    expect(resolveAuth({ endpoint: 'https://logs.example.com', sigv4: true, region: 'eu-north-1' }, { AWS_REGION: 'ap-south-1' })).toMatchObject({ region: 'eu-north-1' });
    expect(() => resolveAuth({ endpoint: 'https://logs.example.com', sigv4: true }, {})).toThrow(/no AWS region/);
  });

  it('uses basic auth with a username (option or URL), else none', () => {
    expect(resolveAuth({ endpoint: 'https://localhost:9200', username: 'admin', password: 'x' }, {})).toEqual({ kind: 'basic', username: 'admin' });
    expect(resolveAuth({ endpoint: 'https://admin:pw@localhost:9200' }, {})).toEqual({ kind: 'basic', username: 'admin' });
    expect(resolveAuth({ endpoint: 'http://127.0.0.1:9200' }, {})).toEqual({ kind: 'none' });
    expect(describeAuth({ kind: 'sigv4', region: 'eu-west-1', service: 'es' })).toBe('AWS SigV4 (service es, region eu-west-1)');
  });

  it('rejects what is not an http(s) URL', () => {
    expect(() => resolveAuth({ endpoint: 'search-logs.eu-west-1.es.amazonaws.com' }, {})).toThrow(/Invalid OpenSearch endpoint/);
    expect(() => resolveAuth({ endpoint: 'ftp://host' }, {})).toThrow(/scheme must be http or https/);
  });
});

// A loopback HTTP server that records each request (headers and body): shows what the client really sends.
describe('createOpenSearchClient on the wire', () => {
  let server: Server;
  let endpoint: string;
  const seen: IncomingHttpHeaders[] = [];
  const received: ReceivedRequest[] = [];
  beforeAll(async () => {
    server = createServer(async (req, res) => {
      const body = await readBody(req);
      seen.push(req.headers);
      received.push({ method: req.method!, url: req.url!, headers: req.headers, body });
      res.setHeader('content-type', 'application/json');
      res.end('{"ok":true}');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  it('signs with SigV4 using the standard AWS credential chain: the stand-in recomputes every signature', async () => {
    vi.stubEnv('AWS_ACCESS_KEY_ID', 'AKIDEXAMPLE');
    vi.stubEnv('AWS_SECRET_ACCESS_KEY', 'secret-example');
    vi.stubEnv('AWS_SESSION_TOKEN', 'token-example');
    const from = received.length;
    try {
      const client = createOpenSearchClient({ endpoint, sigv4: true, region: 'eu-west-1' });
      await client.transport.request({ method: 'GET', path: '/' });
      await client.transport.request({ method: 'POST', path: '/alb-logs-2026-01-01/_search', querystring: { size: 0, q: 'a b*' }, body: { query: { match_all: {} } } });
      await client.transport.request({ method: 'PUT', path: '/_index_template/alb-logs', body: { index_patterns: ['alb-logs-*'] } });
      await client.close();
    } finally {
      vi.unstubAllEnvs();
    }
    const requests = received.slice(from);
    expect(requests.map((r) => r.method)).toEqual(['GET', 'POST', 'PUT']);
    for (const request of requests) {
      expect(verifySigV4(request, 'secret-example')).toEqual({
        valid: true, accessKeyId: 'AKIDEXAMPLE', region: 'eu-west-1', service: 'es', signedHeaders: expect.arrayContaining(['host', 'x-amz-date', 'x-amz-security-token']),
      });
      expect(request.headers['x-amz-security-token']).toBe('token-example');
    }
    expect(requests[1]!.body.length).toBeGreaterThan(0); // the body is covered by the signature
    // The check can fail: another secret, a changed body, a changed path or query.
    const post = requests[1]!;
    expect(verifySigV4(post, 'another-secret')).toMatchObject({ valid: false, problem: 'signature does not match the recomputed one' });
    expect(verifySigV4({ ...post, body: Buffer.from('{"query":{"match_none":{}}}') }, 'secret-example').valid).toBe(false);
    expect(verifySigV4({ ...post, url: post.url.replace('_search', '_count') }, 'secret-example').valid).toBe(false);
    expect(verifySigV4({ ...post, url: post.url.replace('size=0', 'size=1') }, 'secret-example').valid).toBe(false);
  });

  it('sends basic auth for a username and nothing otherwise', async () => {
    const basic = createOpenSearchClient({ endpoint, username: 'admin', password: 'p@ss' });
    await basic.transport.request({ method: 'GET', path: '/' });
    await basic.close();
    expect(seen.at(-1)!.authorization).toBe(`Basic ${Buffer.from('admin:p@ss').toString('base64')}`);
    const anonymous = createOpenSearchClient({ endpoint });
    await anonymous.transport.request({ method: 'GET', path: '/' });
    await anonymous.close();
    expect(seen.at(-1)!.authorization).toBeUndefined();
  });
});

describe('sendBulk against the embedded engine', () => {
  const client = createOpenSearchClient({ endpoint: process.env.OPENSEARCH_URL! });
  const index = `send-bulk-${Date.now()}`;

  beforeAll(async () => {
    await client.indices.create({ index, body: { mappings: { dynamic: 'strict', properties: { n: { type: 'integer' } } } } });
  });
  afterAll(async () => {
    await client.indices.delete({ index }, { ignore: [404] });
    await client.close();
  });

  it('returns one item per document, in order, with the engine reason for a refused one', async () => {
    const lines = [
      { index: { _index: index, _id: 'a' } }, { n: 1 },
      { index: { _index: index, _id: 'b' } }, { n: 'not a number' },
      { index: { _index: index, _id: 'c' } }, { unknown: true },
      { index: { _index: index, _id: 'a' } }, { n: 2 },
    ];
    const body = Buffer.from(lines.map((l) => JSON.stringify(l)).join('\n') + '\n');
    const items = await sendBulk(client, body, 4);
    expect(items.map((i) => i.status)).toEqual([201, 400, 400, 200]);
    expect(items[1]!.error?.type).toBe('mapper_parsing_exception');
    expect(items[2]!.error?.reason).toMatch(/strict/);
  });

  it('refuses an answer whose item count does not match the documents sent', async () => {
    const body = Buffer.from(`${JSON.stringify({ index: { _index: index, _id: 'x' } })}\n${JSON.stringify({ n: 3 })}\n`);
    await expect(sendBulk(client, body, 2)).rejects.toThrow(/_bulk answered 1 items for 2 documents/);
  });
});
