// The custom-resource handler against the real embedded OpenSearch (templates) and, for FGAC roles and role
// mappings (the embedded engine has no security plugin), against a loopback stand-in of the security REST API
// that forwards everything else to the engine.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { CloudFormationCustomResourceEvent } from 'aws-lambda';
import type { Client } from '@opensearch-project/opensearch';
import { createOpenSearchClient } from '../../../templates/opensearch-client.ts';
import { installTemplates, type InstallReport } from '../../../templates/install.ts';
import { forwardToEngine, readBody, startSecurityStandIn, type SecurityStandIn } from '../../http-stand-in.ts';
import { EMBEDDED_ENGINE } from '../../opensearch-mode.ts';
import {
  configureDomain,
  handler,
  isTransient,
  parseProperties,
  retryTransient,
  type TemplatesResourceProperties,
} from '../../../infra/handlers/templates-resource.ts';

const FIREHOSE_ROLE = 'arn:aws:iam::111122223333:role/Albatross-firehose';

function properties(overrides: Partial<TemplatesResourceProperties> = {}): TemplatesResourceProperties {
  return {
    Endpoint: 'search-x-y.eu-west-1.es.amazonaws.com',
    IndexPrefix: `cr-test-${randomUUID().slice(0, 8)}`,
    RetentionDays: '7',
    Replicas: '0',
    Shards: '',
    FirehoseRoleArn: FIREHOSE_ROLE,
    LoaderRoleArn: '',
    DashboardsRoleArn: '',
    DashboardsAdmin: 'false',
    CodeKey: 'abc.zip',
    ...overrides,
  };
}

/** configureDomain's report, where the test expects it to install. */
async function installed(client: Client, props: TemplatesResourceProperties): Promise<InstallReport> {
  const outcome = await configureDomain(client, props);
  if (outcome.status !== 'installed') throw new Error(`expected an installation, got ${outcome.status}`);
  return outcome.report;
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
    const report = await installed(client, props);
    const templates = (await client.indices.getIndexTemplate()).body.index_templates;
    const ours = templates.find((t) => [t.index_template.index_patterns].flat().includes(`${props.IndexPrefix}-*`));
    expect(ours, 'index template for the prefix').toBeDefined();
    // The embedded engine has neither the ISM nor the security plugin: the installer reports both steps as skipped
    // (on Amazon OpenSearch Service they run), which shows the handler asked for them.
    const steps = report.steps.map((s) => `${s.outcome} ${s.step}`);
    // (Against another cluster through OPENSEARCH_URL the plugins may be there: the steps exist either way.)
    const skipped = EMBEDDED_ENGINE ? 'skipped ' : '\\w+ ';
    expect(steps.some((s) => new RegExp(`^${skipped}ISM policy`).test(s)), steps.join('; ')).toBe(true);
    expect(steps.some((s) => new RegExp(`^${skipped}security role`).test(s)), steps.join('; ')).toBe(true);
    // Idempotent: CloudFormation updates run it again.
    const again = await installed(client, props);
    expect(again.changed).toBe(false);
  });

  it('creates new daily indices with the shard count of the Shards property (M-11)', async () => {
    const client = createOpenSearchClient({ endpoint: process.env.OPENSEARCH_URL! });
    const props = properties({ Shards: '3' });
    await installed(client, props);
    const index = `${props.IndexPrefix}-2026-12-03`;
    await client.indices.create({ index });
    const settings = (await client.indices.getSettings({ index })).body[index]!.settings as any;
    expect(settings.index.number_of_shards).toBe('3');
    await client.indices.delete({ index });
  });

  it('people administer the domain (ManageSecurity false) and the engine has no security plugin: it installs, with no security step', async () => {
    const client = createOpenSearchClient({ endpoint: process.env.OPENSEARCH_URL! });
    const props = properties({ ManageSecurity: 'false' });
    const report = await installed(client, props);
    expect(report.steps.filter((s) => /security role|role mapping/.test(s.step))).toEqual([]);
    expect(report.steps.some((s) => s.step.startsWith('index template'))).toBe(true);
  });

  it('rejects a bad retention before touching the domain', async () => {
    const client = createOpenSearchClient({ endpoint: process.env.OPENSEARCH_URL! });
    await expect(configureDomain(client, properties({ RetentionDays: '-1' }))).rejects.toThrow(/RetentionDays must be a non-negative integer/);
  });
});

describe('configureDomain with the security REST API (loopback stand-in in front of the embedded engine)', () => {
  const DASHBOARDS_ROLE = 'arn:aws:iam::111122223333:role/Albatross-DashboardsRole';
  const MASTER_ROLE = 'arn:aws:iam::111122223333:role/Albatross-templates';
  const INSTALLER_ROLE = 'arn:aws:iam::111122223333:role/Albatross-TemplatesInstallerRole';
  const engine = process.env.OPENSEARCH_URL!;
  let security: SecurityStandIn;
  let roles: SecurityStandIn['roles'];
  let mappings: SecurityStandIn['mappings'];
  let writes: string[];
  let endpoint: string;

  beforeAll(async () => {
    security = await startSecurityStandIn(engine);
    ({ roles, mappings, writes, endpoint } = security);
    security.caller.user = INSTALLER_ROLE;
  });
  afterAll(() => security.close());
  // Every test starts from a domain with no roles or mappings of ours, whatever ran before it.
  beforeEach(() => security.reset());

  it('people administer the domain (ManageSecurity false): before the security setup it waits, writing nothing', async () => {
    security.caller.roles = [];
    const props = properties({ ManageSecurity: 'false', DashboardsRoleArn: DASHBOARDS_ROLE });
    const client = createOpenSearchClient({ endpoint });
    const outcome = await configureDomain(client, props);
    expect(outcome).toEqual({ status: 'awaiting-security-setup', identity: INSTALLER_ROLE });
    expect(writes).toEqual([]);
    const templates = (await createOpenSearchClient({ endpoint: engine }).indices.getIndexTemplate()).body.index_templates;
    expect(templates.some((t) => [t.index_template.index_patterns].flat().includes(`${props.IndexPrefix}-*`))).toBe(false);
    // Mapped to another family's installer role only: still waiting for this family.
    security.caller.roles = ['other-prefix-installer'];
    expect((await configureDomain(client, props)).status).toBe('awaiting-security-setup');
  });

  it('people administer the domain: once mapped to <prefix>-installer it installs the templates and touches no role or mapping', async () => {
    const props = properties({ ManageSecurity: 'false', DashboardsRoleArn: DASHBOARDS_ROLE, ReplayerRoleArn: MASTER_ROLE, AdminRoleArns: MASTER_ROLE });
    security.caller.roles = [`${props.IndexPrefix}-installer`, 'own_index'];
    const report = await installed(createOpenSearchClient({ endpoint }), props);
    expect(writes).toEqual([]);
    expect(report.steps.some((s) => s.step.startsWith('security role') || s.step.startsWith('role mapping'))).toBe(false);
    const templates = (await createOpenSearchClient({ endpoint: engine }).indices.getIndexTemplate()).body.index_templates;
    expect(templates.some((t) => [t.index_template.index_patterns].flat().includes(`${props.IndexPrefix}-*`))).toBe(true);
    // Resources from before the property were made by an installer that is the master.
    const older: Record<string, unknown> = { ...properties() };
    delete older.ManageSecurity;
    expect(parseProperties(older).ManageSecurity).toBe('true');
    expect(() => parseProperties({ ...properties(), ManageSecurity: 'yes' })).toThrow(/ManageSecurity must be "true" or "false"/);
  });

  it('the security setup maps the installer to <prefix>-installer: templates, retention and mapping changes, no security API', async () => {
    const prefix = `cr-inst-${randomUUID().slice(0, 8)}`;
    await installTemplates(createOpenSearchClient({ endpoint }), { indexPrefix: prefix, replicas: 0, installerRoleArn: INSTALLER_ROLE });
    const role = roles.get(`${prefix}-installer`)!;
    expect(mappings.get(`${prefix}-installer`)!.backend_roles).toEqual([INSTALLER_ROLE]);
    expect(role.cluster_permissions).toEqual(['cluster_monitor', 'cluster_manage_index_templates', 'cluster:admin/opendistro/ism/*']);
    expect(role.index_permissions).toHaveLength(1);
    expect(role.index_permissions[0].index_patterns).toEqual([`${prefix}-*`]);
    const actions: string[] = [...role.cluster_permissions, ...role.index_permissions[0].allowed_actions];
    // Nothing that reaches the security plugin's API, reads or writes documents, or deletes: it cannot raise its own rights.
    for (const action of actions) expect(action, action).not.toMatch(/security|restapi|_all|^\*|all_access|data\/|delete|crud|manage$|^indices:admin\/\*/);
    // Mapped to nothing else.
    for (const [name, mapping] of mappings) if (name !== `${prefix}-installer`) expect(mapping.backend_roles, name).not.toContain(INSTALLER_ROLE);
  });

  it('maps the replayer role to the Firehose security role (what bulk writing needs), next to the Firehose role', async () => {
    const REPLAYER_ROLE = 'arn:aws:iam::111122223333:role/Albatross-replayer';
    const props = properties({ ReplayerRoleArn: REPLAYER_ROLE });
    const client = createOpenSearchClient({ endpoint });
    await installed(client, props);
    const firehoseRole = `${props.IndexPrefix}-firehose`;
    expect(mappings.get(firehoseRole)?.backend_roles).toEqual([FIREHOSE_ROLE, REPLAYER_ROLE]);
    expect(roles.get(firehoseRole)?.cluster_permissions).toEqual(['cluster_composite_ops', 'cluster_monitor']);
    // Mapped nowhere else.
    for (const [role, mapping] of mappings) if (role !== firehoseRole) expect(mapping.backend_roles, role).not.toContain(REPLAYER_ROLE);
    // Resources created before the property existed have none: nothing to map.
    const older: Record<string, unknown> = { ...properties() };
    delete older.ReplayerRoleArn;
    expect(parseProperties(older).ReplayerRoleArn).toBe('');
  });

  it('creates the read-only Dashboards reader role and maps the Dashboards role to it and to kibana_user, keeping existing mappings', async () => {
    // What a domain already has: the master user on all_access, another team's users on kibana_user.
    mappings.set('all_access', { backend_roles: [MASTER_ROLE], users: [], hosts: [], and_backend_roles: [] });
    mappings.set('kibana_user', { backend_roles: ['arn:aws:iam::111122223333:role/other-team'], users: ['analyst'], hosts: [], and_backend_roles: [] });
    const allAccessBefore = structuredClone(mappings.get('all_access'));
    const props = properties({ DashboardsRoleArn: DASHBOARDS_ROLE });
    const reader = `${props.IndexPrefix}-dashboards-reader`;
    const client = createOpenSearchClient({ endpoint });

    const report = await installed(client, props);

    expect(roles.get(reader)).toEqual({
      description: `Albatross: Dashboards users read ${props.IndexPrefix}-* (managed by albatross)`,
      cluster_permissions: ['cluster_composite_ops_ro'],
      index_permissions: [
        {
          index_patterns: [`${props.IndexPrefix}-*`],
          allowed_actions: ['read', 'indices:admin/resolve/index', 'indices:admin/mappings/get', 'indices:monitor/settings/get'],
        },
      ],
    });
    // Read-only whatever the list grows into: read action groups and read/metadata actions only, no wildcard.
    const readOnly = /^(read|cluster_composite_ops_ro|indices:data\/read\/[a-z_/]+|indices:admin\/(mappings\/get|resolve\/index)|indices:monitor\/settings\/get)$/;
    const body = roles.get(reader)!;
    const actions: string[] = [...body.cluster_permissions, ...body.index_permissions.flatMap((p: any) => p.allowed_actions)];
    for (const action of actions) {
      expect(action, action).toMatch(readOnly);
      expect(action, action).not.toMatch(/\*|write|delete|create|manage|crud|_all|^index$/);
    }
    for (const pattern of body.index_permissions.flatMap((p: any) => p.index_patterns)) expect(pattern).toMatch(new RegExp(`^${props.IndexPrefix}-`));

    expect(mappings.get(reader)).toEqual({ backend_roles: [DASHBOARDS_ROLE], users: [], hosts: [], and_backend_roles: [] });
    expect(mappings.get('kibana_user')).toEqual({
      backend_roles: ['arn:aws:iam::111122223333:role/other-team', DASHBOARDS_ROLE],
      users: ['analyst'],
      hosts: [],
      and_backend_roles: [],
    });
    // Nothing maps to an admin role.
    expect(mappings.get('all_access')).toEqual(allAccessBefore);
    expect(writes.filter((w) => /all_access|security_manager/.test(w))).toEqual([]);
    for (const [role, mapping] of mappings) if (role !== reader && role !== 'kibana_user' && !role.endsWith('-firehose')) expect(mapping.backend_roles, role).not.toContain(DASHBOARDS_ROLE);
    // The Firehose role is still mapped to its own role.
    expect(mappings.get(`${props.IndexPrefix}-firehose`)!.backend_roles).toEqual([FIREHOSE_ROLE]);
    const steps = report.steps.map((s) => `${s.outcome} ${s.step}`);
    expect(steps).toEqual(expect.arrayContaining([`created security role ${reader}`, `created role mapping ${reader} -> ${DASHBOARDS_ROLE}`, `updated role mapping kibana_user -> ${DASHBOARDS_ROLE}`]));

    // CloudFormation updates run it again: nothing is written twice.
    writes.length = 0;
    const again = await installed(client, props);
    expect(again.changed).toBe(false);
    expect(writes).toEqual([]);
    expect(mappings.get('kibana_user')!.backend_roles).toEqual(['arn:aws:iam::111122223333:role/other-team', DASHBOARDS_ROLE]);
  });

  it('direct delivery: maps the loader role to <prefix>-loader with exactly the bulk-indexing rights, and no Firehose role', async () => {
    const LOADER_ROLE = 'arn:aws:iam::111122223333:role/Albatross-loader';
    const props = properties({ FirehoseRoleArn: '', LoaderRoleArn: LOADER_ROLE });
    await installed(createOpenSearchClient({ endpoint }), props);
    expect(roles.get(`${props.IndexPrefix}-loader`)).toEqual({
      description: `Albatross: loader bulk-indexes into ${props.IndexPrefix}-* (managed by albatross)`,
      cluster_permissions: ['indices:data/write/bulk'],
      index_permissions: [{ index_patterns: [`${props.IndexPrefix}-*`], allowed_actions: ['create_index', 'indices:data/write/bulk*', 'indices:data/write/index'] }],
    });
    expect(mappings.get(`${props.IndexPrefix}-loader`)!.backend_roles).toEqual([LOADER_ROLE]);
    expect(roles.has(`${props.IndexPrefix}-firehose`)).toBe(false);
  });

  it('maps the backfill worker role to <prefix>-loader too (it indexes as the direct loader does), and older resources have none', async () => {
    const BACKFILL_ROLE = 'arn:aws:iam::111122223333:role/Albatross-backfill';
    const props = parseProperties({ ...properties(), BackfillRoleArn: BACKFILL_ROLE });
    expect(props.BackfillRoleArn).toBe(BACKFILL_ROLE);
    await installed(createOpenSearchClient({ endpoint }), props);
    expect(mappings.get(`${props.IndexPrefix}-loader`)!.backend_roles).toEqual([BACKFILL_ROLE]);
    expect(roles.get(`${props.IndexPrefix}-loader`)!.cluster_permissions).toEqual(['indices:data/write/bulk']);
    for (const [role, mapping] of mappings) if (role !== `${props.IndexPrefix}-loader`) expect(mapping.backend_roles, role).not.toContain(BACKFILL_ROLE);
    const older: Record<string, unknown> = { ...properties() };
    delete older.BackfillRoleArn;
    expect(parseProperties(older).BackfillRoleArn).toBe('');
  });

  it('updates a reader role someone widened back to read-only, keeping its other mappings', async () => {
    const props = properties({ DashboardsRoleArn: DASHBOARDS_ROLE });
    const reader = `${props.IndexPrefix}-dashboards-reader`;
    roles.set(reader, { description: 'edited', cluster_permissions: ['cluster_all'], index_permissions: [{ index_patterns: ['*'], allowed_actions: ['indices_all'] }] });
    mappings.set(reader, { backend_roles: ['arn:aws:iam::111122223333:role/auditor'], users: [], hosts: [], and_backend_roles: [] });
    await installed(createOpenSearchClient({ endpoint }), props);
    expect(roles.get(reader)!.cluster_permissions).toEqual(['cluster_composite_ops_ro']);
    expect(roles.get(reader)!.index_permissions[0].index_patterns).toEqual([`${props.IndexPrefix}-*`]);
    expect(mappings.get(reader)!.backend_roles).toEqual(['arn:aws:iam::111122223333:role/auditor', DASHBOARDS_ROLE]);
  });

  it('maps the Dashboards role to all_access only while the operator opts in (DashboardsAdmin=true); turning it off removes just that', async () => {
    mappings.set('all_access', { backend_roles: [MASTER_ROLE], users: ['admin'], hosts: [], and_backend_roles: [] });
    const props = properties({ DashboardsRoleArn: DASHBOARDS_ROLE, DashboardsAdmin: 'true' });
    const client = createOpenSearchClient({ endpoint });
    await installed(client, props);
    expect(mappings.get('all_access')).toEqual({ backend_roles: [MASTER_ROLE, DASHBOARDS_ROLE], users: ['admin'], hosts: [], and_backend_roles: [] });
    expect(mappings.get(`${props.IndexPrefix}-dashboards-reader`)!.backend_roles).toEqual([DASHBOARDS_ROLE]);

    const report = await installed(client, { ...props, DashboardsAdmin: 'false' });
    expect(mappings.get('all_access')).toEqual({ backend_roles: [MASTER_ROLE], users: ['admin'], hosts: [], and_backend_roles: [] });
    expect(report.steps.find((s) => s.step === `role mapping all_access without ${DASHBOARDS_ROLE}`)?.outcome).toBe('updated');
    expect(mappings.get('kibana_user')!.backend_roles).toContain(DASHBOARDS_ROLE);
  });

  it('rejects a Dashboards role that is not an IAM role ARN before touching the domain', async () => {
    writes.length = 0;
    await expect(configureDomain(createOpenSearchClient({ endpoint }), properties({ DashboardsRoleArn: 'arn:aws:iam::111122223333:user/x' }))).rejects.toThrow(/Dashboards role ARN .* is not an IAM role ARN/);
    expect(writes).toEqual([]);
  });
});

describe('retries while the domain answers 403, 429 or 5xx (L-5), through a loopback endpoint in front of the engine', () => {
  // Answers the first `failures` requests with `status` (as a new domain does while its access policy is applied
  // or it is busy), then forwards to the real engine.
  async function flakyEndpoint(status: number, failures: number): Promise<{ endpoint: string; refused: () => number; close: () => Promise<void> }> {
    let refused = 0;
    const server = createServer(async (request, response) => {
      const raw = await readBody(request);
      if (refused < failures) {
        refused += 1;
        response.writeHead(status, { 'content-type': 'application/json' });
        response.end(JSON.stringify({ error: { type: 'test', reason: `status ${status}` }, status }));
        return;
      }
      return forwardToEngine(process.env.OPENSEARCH_URL!, request, raw, response);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return {
      endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
      refused: () => refused,
      close: () => new Promise<void>((resolve) => server.close(() => resolve())),
    };
  }
  const quick = { budgetMs: 20_000, baseMs: 20, maxMs: 200 };

  it.each([429, 403, 503])('installs after %i answers and reports the templates', async (status) => {
    const flaky = await flakyEndpoint(status, 3);
    try {
      const client = createOpenSearchClient({ endpoint: flaky.endpoint });
      const props = properties();
      const report = await retryTransient(() => installed(client, props), quick);
      expect(flaky.refused()).toBe(3);
      expect(report.steps.length).toBeGreaterThan(0);
      const templates = (await createOpenSearchClient({ endpoint: process.env.OPENSEARCH_URL! }).indices.getIndexTemplate()).body.index_templates;
      expect(templates.some((t) => [t.index_template.index_patterns].flat().includes(`${props.IndexPrefix}-*`))).toBe(true);
    } finally {
      await flaky.close();
    }
  });

  it('gives up at once on a non-transient answer (400) and after its budget on a persistent 429', async () => {
    const bad = await flakyEndpoint(400, 100);
    try {
      await expect(retryTransient(() => configureDomain(createOpenSearchClient({ endpoint: bad.endpoint }), properties()), quick)).rejects.toThrow(/\(400\)/);
      expect(bad.refused()).toBe(1);
    } finally {
      await bad.close();
    }
    const busy = await flakyEndpoint(429, 1_000);
    try {
      const started = Date.now();
      await expect(retryTransient(() => configureDomain(createOpenSearchClient({ endpoint: busy.endpoint }), properties()), { ...quick, budgetMs: 1_000 }))
        .rejects.toThrow(/\(429\)/);
      expect(Date.now() - started).toBeLessThan(5_000);
      expect(busy.refused()).toBeGreaterThan(2);
    } finally {
      await busy.close();
    }
  });

  it('isTransient: 403, 429, 5xx and unreachable endpoints, not 400/404 or validation errors', () => {
    expect(isTransient(new Error('OpenSearch GET / failed (503): x'))).toBe(true);
    expect(isTransient({ meta: { statusCode: 429 } })).toBe(true);
    expect(isTransient(new Error('Cannot reach OpenSearch (GET /): ECONNREFUSED'))).toBe(true);
    expect(isTransient(new Error('OpenSearch PUT /x failed (400): mapper_parsing_exception'))).toBe(false);
    expect(isTransient({ meta: { statusCode: 404 } })).toBe(false);
    expect(isTransient(new Error('RetentionDays must be a non-negative integer, got "-1"'))).toBe(false);
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

  it('parseProperties reads an absent Shards (resources from before the property) as the installer default', () => {
    const { Shards: _absent, ...older } = properties();
    expect(parseProperties(older).Shards).toBe('');
    expect(parseProperties({ ...properties(), Shards: '4' }).Shards).toBe('4');
  });

  it('parseProperties reads the index family: absent or access = access, connection, health; anything else refused', () => {
    expect(parseProperties({ ...properties() }).LogType).toBeUndefined();
    expect(parseProperties({ ...properties(), LogType: 'access' }).LogType).toBeUndefined();
    expect(parseProperties({ ...properties(), LogType: 'health' }).LogType).toBe('health');
    expect(() => parseProperties({ ...properties(), LogType: 'nlb' })).toThrow(/LogType must be access, connection or health, got "nlb"/);
  });

  it('parseProperties accepts empty optional roles but not an empty endpoint', () => {
    expect(parseProperties({ ...properties(), DashboardsRoleArn: '', Replicas: '' }).DashboardsRoleArn).toBe('');
    expect(() => parseProperties({ ...properties(), Endpoint: '' })).toThrow(/Endpoint is missing/);
  });

  it('parseProperties reads DashboardsAdmin as off when absent (resources from before the property) and rejects other values', () => {
    const { DashboardsAdmin: _absent, ...older } = properties();
    expect(parseProperties(older).DashboardsAdmin).toBe('false');
    expect(parseProperties({ ...properties({ DashboardsAdmin: 'true' }) }).DashboardsAdmin).toBe('true');
    expect(() => parseProperties({ ...properties(), DashboardsAdmin: 'yes' })).toThrow(/DashboardsAdmin must be "true" or "false"/);
  });
});
