// The custom-resource handler against the real embedded OpenSearch (templates) and, for FGAC role mappings
// (the embedded engine has no security plugin), against a loopback stand-in of the security REST API.
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CloudFormationCustomResourceEvent } from 'aws-lambda';
import { createOpenSearchClient } from '../../templates/opensearch-client.ts';
import {
  addBackendRole,
  configureDomain,
  handler,
  parseProperties,
  type TemplatesResourceProperties,
} from '../../infra/handlers/templates-resource.ts';

const FIREHOSE_ROLE = 'arn:aws:iam::111122223333:role/Albatross-firehose';

function properties(overrides: Partial<TemplatesResourceProperties> = {}): TemplatesResourceProperties {
  return {
    Endpoint: 'search-x-y.eu-west-1.es.amazonaws.com',
    IndexPrefix: `cr-test-${randomUUID().slice(0, 8)}`,
    RetentionDays: '7',
    Replicas: '0',
    FirehoseRoleArn: FIREHOSE_ROLE,
    DashboardsRoleArn: '',
    CodeKey: 'abc.zip',
    ...overrides,
  };
}

function event(requestType: 'Create' | 'Update' | 'Delete', props: TemplatesResourceProperties): CloudFormationCustomResourceEvent {
  const base = {
    ServiceToken: 'arn:aws:lambda:eu-west-1:111122223333:function:provider',
    ResponseURL: 'https://example.invalid/response',
    StackId: 'arn:aws:cloudformation:eu-west-1:111122223333:stack/Albatross/1',
    RequestId: randomUUID(),
    LogicalResourceId: 'Templates',
    ResourceType: 'Custom::AlbatrossTemplates',
    ResourceProperties: { ServiceToken: 'x', ...props },
  };
  if (requestType === 'Create') return { ...base, RequestType: 'Create' };
  if (requestType === 'Update') return { ...base, RequestType: 'Update', PhysicalResourceId: 'old', OldResourceProperties: { ServiceToken: 'x' } };
  return { ...base, RequestType: 'Delete', PhysicalResourceId: 'kept-id' };
}

describe('configureDomain on the embedded OpenSearch', () => {
  it('installs the index template for <prefix>-* and asks for the Firehose role mapping and the ISM policy', async () => {
    const client = createOpenSearchClient({ endpoint: process.env.OPENSEARCH_URL! });
    const props = properties();
    const report = await configureDomain(client, props);
    const templates = (await client.indices.getIndexTemplate()).body.index_templates;
    const ours = templates.find((t) => [t.index_template.index_patterns].flat().includes(`${props.IndexPrefix}-*`));
    expect(ours, 'index template for the prefix').toBeDefined();
    // The embedded engine has neither the ISM nor the security plugin: the installer reports both steps as skipped
    // (on Amazon OpenSearch Service they run), which shows the handler asked for them.
    const steps = report.steps.map((s) => `${s.outcome} ${s.step}`);
    expect(steps.some((s) => /^skipped ISM policy/.test(s)), steps.join('; ')).toBe(true);
    expect(steps.some((s) => /^skipped security role/.test(s)), steps.join('; ')).toBe(true);
    // Idempotent: CloudFormation updates run it again.
    const again = await configureDomain(client, props);
    expect(again.changed).toBe(false);
  });

  it('rejects a bad retention before touching the domain', async () => {
    const client = createOpenSearchClient({ endpoint: process.env.OPENSEARCH_URL! });
    await expect(configureDomain(client, properties({ RetentionDays: '-1' }))).rejects.toThrow(/RetentionDays must be a non-negative integer/);
  });
});

describe('addBackendRole (security REST API stand-in on loopback)', () => {
  // Holds role mappings like the security plugin: GET returns {role: mapping} or 404, PUT replaces.
  const mappings = new Map<string, Record<string, unknown>>();
  const puts: Array<{ role: string; body: any }> = [];
  let server: Server;
  let endpoint: string;

  const readBody = async (request: IncomingMessage): Promise<string> => {
    let body = '';
    for await (const chunk of request) body += chunk;
    return body;
  };

  beforeAll(async () => {
    server = createServer(async (request, response) => {
      const match = /^\/_plugins\/_security\/api\/rolesmapping\/([^/?]+)$/.exec(request.url ?? '');
      response.setHeader('content-type', 'application/json');
      if (!match) {
        response.statusCode = 400;
        response.end(JSON.stringify({ error: `unexpected ${request.method} ${request.url}` }));
        return;
      }
      const role = decodeURIComponent(match[1]!);
      if (request.method === 'GET') {
        const mapping = mappings.get(role);
        response.statusCode = mapping ? 200 : 404;
        response.end(JSON.stringify(mapping ? { [role]: { ...mapping, reserved: false, hidden: false } } : { status: 'NOT_FOUND' }));
      } else if (request.method === 'PUT') {
        const body = JSON.parse(await readBody(request));
        puts.push({ role, body });
        mappings.set(role, body);
        response.end(JSON.stringify({ status: 'OK' }));
      } else {
        response.statusCode = 405;
        response.end('{}');
      }
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  it('creates a missing mapping', async () => {
    const client = createOpenSearchClient({ endpoint });
    expect(await addBackendRole(client, 'new_role', 'arn:aws:iam::1:role/a')).toBe('added');
    expect(mappings.get('new_role')).toEqual({ backend_roles: ['arn:aws:iam::1:role/a'], users: [], hosts: [], and_backend_roles: [] });
  });

  it('keeps existing backend roles and users (PUT replaces the whole mapping) and never sends reserved fields', async () => {
    mappings.set('all_access', { backend_roles: ['arn:aws:iam::1:role/master'], users: ['admin'], hosts: [], and_backend_roles: [] });
    const client = createOpenSearchClient({ endpoint });
    expect(await addBackendRole(client, 'all_access', 'arn:aws:iam::1:role/dashboards')).toBe('added');
    expect(mappings.get('all_access')).toEqual({
      backend_roles: ['arn:aws:iam::1:role/master', 'arn:aws:iam::1:role/dashboards'],
      users: ['admin'],
      hosts: [],
      and_backend_roles: [],
    });
    expect(Object.keys(puts.at(-1)!.body).sort()).toEqual(['and_backend_roles', 'backend_roles', 'hosts', 'users']);
  });

  it('does not write when the role is already mapped', async () => {
    const client = createOpenSearchClient({ endpoint });
    const before = puts.length;
    expect(await addBackendRole(client, 'all_access', 'arn:aws:iam::1:role/dashboards')).toBe('unchanged');
    expect(puts.length).toBe(before);
  });
});

describe('handler', () => {
  it('keeps templates and data on Delete and reports the existing physical id, without calling the domain', async () => {
    // The endpoint does not resolve: any request would fail the test.
    await expect(handler(event('Delete', properties({ Endpoint: 'does-not-exist.invalid' })))).resolves.toEqual({ PhysicalResourceId: 'kept-id' });
  });

  it('rejects events with missing properties', async () => {
    const props = properties() as Partial<TemplatesResourceProperties>;
    delete props.FirehoseRoleArn;
    await expect(handler(event('Create', props as TemplatesResourceProperties))).rejects.toThrow(/FirehoseRoleArn is missing/);
  });

  it('parseProperties accepts empty optional roles but not an empty endpoint', () => {
    expect(parseProperties({ ...properties(), DashboardsRoleArn: '', Replicas: '' }).DashboardsRoleArn).toBe('');
    expect(() => parseProperties({ ...properties(), Endpoint: '' })).toThrow(/Endpoint is missing/);
  });
});
