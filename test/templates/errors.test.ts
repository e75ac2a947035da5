// Auth failures and foreign servers cannot be produced by the embedded engine (it has
// no security plugin), so a loopback HTTP server answers like an Amazon OpenSearch
// domain or a fine-grained-access-control cluster would; the client and installer are real.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createOpenSearchClient } from '../../templates/opensearch-client.ts';
import { installTemplates, parseVersion } from '../../templates/install.ts';

let server: Server;
let endpoint: string;
let reply: { status: number; body: unknown } = { status: 200, body: {} };

beforeAll(async () => {
  server = createServer((_req, res) => {
    res.statusCode = reply.status;
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify(reply.body));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

async function run(): Promise<unknown> {
  const client = createOpenSearchClient({ endpoint });
  try {
    return await installTemplates(client, { indexPrefix: 'alb-logs' });
  } finally {
    await client.close();
  }
}

describe('installTemplates error messages', () => {
  it('401: names the credentials to check', async () => {
    reply = { status: 401, body: { error: { root_cause: [{ type: 'security_exception', reason: 'Authentication finally failed' }], type: 'security_exception', reason: 'Authentication finally failed' }, status: 401 } };
    await expect(run()).rejects.toThrow(/OpenSearch rejected the credentials \(401\) on GET \/: Authentication finally failed\. Check OPENSEARCH_USERNAME\/OPENSEARCH_PASSWORD/);
  });

  it('403 from the domain access policy: explains the access policy and FGAC mapping', async () => {
    reply = { status: 403, body: { Message: 'User: arn:aws:iam::123456789012:user/x is not authorized to perform: es:ESHttpGet' } };
    await expect(run()).rejects.toThrow(/OpenSearch denied GET \/ \(403\): User: .* not authorized .*domain access policy.*all_access/);
  });

  it('a server that is not OpenSearch 2.x/3.x is refused before anything is written', async () => {
    reply = { status: 200, body: { version: { number: '8.13.0', build_flavor: 'default' }, tagline: 'You Know, for Search' } };
    await expect(run()).rejects.toThrow(/reports version 8.13.0 without distribution "opensearch".*Elasticsearch is not supported/);
    reply = { status: 200, body: { version: { distribution: 'opensearch', number: '1.3.19' } } };
    await expect(run()).rejects.toThrow(/OpenSearch 1.3.19 is not supported: Albatross needs OpenSearch 2.x-3.x/);
  });

  it('accepts the supported range', () => {
    expect(parseVersion({ version: { distribution: 'opensearch', number: '2.0.0' } })).toBe('2.0.0');
    expect(parseVersion({ version: { distribution: 'opensearch', number: '3.3.1' } })).toBe('3.3.1');
    expect(() => parseVersion({ version: { distribution: 'opensearch', number: '4.0.0' } })).toThrow(/not supported/);
    expect(() => parseVersion({})).toThrow(/did not return a version/);
  });
});
