// The FGAC roles of templates/render.ts against the real security plugin: the secure embedded engine
// (scripts/opensearch-local/secure-engine.ts, its own JVM for this file). The real installer creates
// the roles and maps IAM role ARNs to them as the FGAC admin; then internal users carrying those
// ARNs as backend roles (what Amazon OpenSearch Service makes of a SigV4-signed IAM role) show with
// real requests that each role can do its job and nothing more.
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { Client } from '@opensearch-project/opensearch';
import { createOpenSearchClient, sendBulk } from '../../templates/opensearch-client.ts';
import { installTemplates, mayInstall, securityIdentity, type InstallReport } from '../../templates/install.ts';
import { countMappedFields, names, TOTAL_FIELDS_HEADROOM } from '../../templates/render.ts';
import { configureDomain } from '../../infra/handlers/templates-resource.ts';
import { SCHEMA_FIELDS } from '../../transform/schema/fields.ts';
import { buildMappings } from '../../transform/schema/mapping.ts';
import { BulkBatch, bulkIndex } from '../../transform/bulk-index/bulk.ts';
import { parseAlbLineToJson } from '../../transform/parser/index.ts';
import { startSecureOpenSearch, type Credentials, type SecureEngine } from '../../scripts/opensearch-local/secure-engine.ts';
import { corpusAccessLines } from '../corpus.ts';
import { describeEmbedded } from '../opensearch-mode.ts';

const prefix = 'fgac-alb';
// Not under `<prefix>*`, which the Firehose role covers (its pattern has no dash, as in the Firehose guide).
const otherIndex = 'other-logs';
const arn = (name: string) => `arn:aws:iam::123456789012:role/${name}`;
const ROLE_ARNS = {
  firehose: arn('albatross-firehose'), loader: arn('albatross-loader'), dashboards: arn('albatross-dashboards'), installer: arn('albatross-installer'),
};

let engine: SecureEngine;
const clients: Client[] = [];
let admin: Client;
let firehose: Client;
let loader: Client;
let reader: Client;
let unmapped: Client;
let installer: Client;
let firstInstall: InstallReport;
let secondInstall: InstallReport;

function clientFor(user: Credentials): Client {
  const client = createOpenSearchClient({ endpoint: engine.url, username: user.username, password: user.password });
  clients.push(client);
  return client;
}

/** The HTTP status of a request that is expected to fail (a success fails the test). */
async function refusal(request: Promise<unknown>): Promise<number> {
  try {
    await request;
  } catch (error) {
    const status = (error as { meta?: { statusCode?: number } }).meta?.statusCode;
    if (status !== undefined) return status;
    throw error;
  }
  throw new Error('the request succeeded');
}

/** NDJSON of `count` real documents (parsed corpus lines) into `index`, without ids (as Firehose sends them). */
function documents(index: string, count: number): Buffer {
  const lines = corpusAccessLines().slice(0, count).flatMap((line) => {
    const parsed = parseAlbLineToJson(line);
    if (parsed.kind !== 'document') throw new Error(`corpus line did not parse: ${parsed.kind}`);
    return [JSON.stringify({ index: { _index: index } }), parsed.json];
  });
  return Buffer.from(`${lines.join('\n')}\n`);
}

async function count(index: string): Promise<number> {
  await admin.indices.refresh({ index });
  return (await admin.count({ index })).body.count;
}

describeEmbedded('FGAC roles on the secure engine', 'the secure engine is embedded only (Java and Maven, as the default one)', () => {
  beforeAll(async () => {
    engine = await startSecureOpenSearch();
    admin = clientFor(engine.admin);
    firehose = clientFor(await engine.addUser('firehose', [ROLE_ARNS.firehose]));
    loader = clientFor(await engine.addUser('loader', [ROLE_ARNS.loader]));
    reader = clientFor(await engine.addUser('dashboards', [ROLE_ARNS.dashboards]));
    unmapped = clientFor(await engine.addUser('stranger', [arn('someone-else')]));
    installer = clientFor(await engine.addUser('installer', [ROLE_ARNS.installer]));
    const options = {
      indexPrefix: prefix, replicas: 0, firehoseRoleArn: ROLE_ARNS.firehose, loaderRoleArn: ROLE_ARNS.loader, dashboardsRoleArn: ROLE_ARNS.dashboards,
      installerRoleArn: ROLE_ARNS.installer,
    };
    firstInstall = await installTemplates(admin, options);
    secondInstall = await installTemplates(admin, options);
    // What the reader reads and the others must not reach, written by the admin.
    await sendBulk(admin, documents(`${prefix}-2026-01-01`, 3), 3);
    await sendBulk(admin, documents(otherIndex, 1), 1);
    await admin.indices.refresh({ index: `${prefix}-2026-01-01,${otherIndex}` });
  }, 240_000);

  afterAll(async () => {
    for (const client of clients) await client.close();
    await engine?.stop();
  });

  it('installs the four roles and maps the role ARNs to them, and a second run finds them unchanged', async () => {
    const n = names(prefix);
    const created = firstInstall.steps.filter((s) => s.outcome === 'created').map((s) => s.step);
    expect(created).toEqual(
      expect.arrayContaining([
        `security role ${n.securityRole}`,
        `role mapping ${n.securityRole} -> ${ROLE_ARNS.firehose}`,
        `security role ${n.loaderRole}`,
        `role mapping ${n.loaderRole} -> ${ROLE_ARNS.loader}`,
        `security role ${n.dashboardsReaderRole}`,
        `role mapping ${n.dashboardsReaderRole} -> ${ROLE_ARNS.dashboards}`,
        `role mapping kibana_user -> ${ROLE_ARNS.dashboards}`,
        `security role ${n.installerRole}`,
        `role mapping ${n.installerRole} -> ${ROLE_ARNS.installer}`,
      ]),
    );
    // The plugin answers the roles as they were written, so the installer's comparison holds.
    expect(secondInstall.steps.filter((s) => s.step.startsWith('security role') || s.step.startsWith('role mapping')).map((s) => s.outcome)).toEqual(
      Array(10).fill('unchanged'),
    );
    const authinfo = (await firehose.transport.request({ method: 'GET', path: '/_plugins/_security/authinfo' })).body;
    expect(authinfo.backend_roles).toEqual([ROLE_ARNS.firehose]);
    expect(authinfo.roles).toEqual([n.securityRole]);
  });

  it('lets Firehose create a daily index and bulk-write to it, and nothing outside its prefix', async () => {
    const index = `${prefix}-2026-02-01`;
    await firehose.indices.create({ index: `${prefix}-2026-02-02` });
    // A new day: the index is created by the bulk request itself, from the installed template.
    const items = await sendBulk(firehose, documents(index, 4), 4);
    expect(items.map((i) => i.status)).toEqual([201, 201, 201, 201]);
    expect(await count(index)).toBe(4);
    // The reads the Firehose developer guide lists for its role, on its own indices and the cluster.
    // (`GET _all/_settings` and `GET _stats` also cover other indices: 403 here, where
    // do_not_fail_on_forbidden is off as the plugin ships; with it on they answer with <prefix>* only.)
    for (const path of [`/${prefix}*/_mapping`, `/${prefix}*/_settings`, `/${prefix}*/_stats`, '/_cluster/stats', '/_nodes', '/_nodes/stats']) {
      expect((await firehose.transport.request({ method: 'GET', path })).statusCode, path).toBe(200);
    }

    const other = await sendBulk(firehose, documents(otherIndex, 2), 2).then(
      (answers) => answers.map((i) => i.status),
      (error) => [(error as { meta?: { statusCode?: number } }).meta?.statusCode],
    );
    expect(other.length > 0 && other.every((status) => status === 403)).toBe(true);
    expect(await count(otherIndex)).toBe(1);
    expect(await refusal(firehose.indices.create({ index: 'not-albatross-2026-02-01' }))).toBe(403);
  });

  it('keeps Firehose out of the security configuration', async () => {
    expect(await refusal(firehose.transport.request({ method: 'GET', path: '/_plugins/_security/api/roles' }))).toBe(403);
    expect(await refusal(firehose.transport.request({ method: 'GET', path: '/_plugins/_security/api/internalusers' }))).toBe(403);
    expect(await refusal(firehose.transport.request({ method: 'PUT', path: `/_plugins/_security/api/rolesmapping/all_access`, body: { backend_roles: [ROLE_ARNS.firehose] } }))).toBe(403);
  });

  it('lets the loader bulk-index into a new daily index (re-runs overwrite), and nothing more', async () => {
    const index = `${prefix}-2026-03-01`;
    const batch = new BulkBatch();
    corpusAccessLines().slice(0, 5).forEach((line, i) => {
      const parsed = parseAlbLineToJson(line);
      if (parsed.kind !== 'document') throw new Error(`corpus line did not parse: ${parsed.kind}`);
      batch.add(index, `event-${i}`, parsed.json);
    });
    const first = await bulkIndex(loader, batch, { retryWindowMs: 0 });
    expect(first).toMatchObject({ indexed: 5, overwritten: 0, failures: [] });
    const again = await bulkIndex(loader, batch, { retryWindowMs: 0 });
    expect(again).toMatchObject({ indexed: 5, overwritten: 5, failures: [] });
    expect(await count(index)).toBe(5);

    const outside = new BulkBatch();
    outside.add(otherIndex, 'event-x', (parseAlbLineToJson(corpusAccessLines()[0]!) as { json: string }).json);
    const refused = await bulkIndex(loader, outside, { retryWindowMs: 0 }).then(
      (outcome) => outcome.failures.map((f) => f.reason.slice(0, 3)),
      (error) => [String((error as { meta?: { statusCode?: number } }).meta?.statusCode)],
    );
    expect(refused).toEqual(['403']);
    expect(await count(otherIndex)).toBe(1);
    // It writes; it does not read, delete or manage.
    expect(await refusal(loader.search({ index }))).toBe(403);
    expect(await refusal(loader.indices.delete({ index }))).toBe(403);
    expect(await refusal(loader.indices.putSettings({ index, body: { index: { number_of_replicas: 0 } } }))).toBe(403);
    expect(await refusal(loader.transport.request({ method: 'GET', path: '/_plugins/_security/api/roles' }))).toBe(403);
  });

  it('lets Dashboards users search the daily indices and read their fields, but not write or delete', async () => {
    const pattern = names(prefix).indexPattern;
    const index = `${prefix}-2026-01-01`;
    const hits = (await reader.search({ index: index, body: { query: { match_all: {} }, size: 10 } })).body.hits.hits;
    expect(hits.map((hit) => hit._index)).toEqual([index, index, index]);
    const aggregated = await reader.transport.request({ method: 'POST', path: `/${pattern}/_search`, body: { size: 0, aggs: { status: { terms: { field: 'http.response.status_code' } } } } });
    expect(aggregated.body.aggregations.status.buckets.length).toBeGreaterThan(0);
    expect((await reader.count({ index })).body.count).toBe(3);
    await reader.fieldCaps({ index: pattern, fields: '*' });
    await reader.transport.request({ method: 'GET', path: `/_resolve/index/${pattern}` });
    await reader.indices.getMapping({ index: pattern });
    await reader.indices.getSettings({ index: pattern });
    await reader.msearch({ body: [{ index: pattern }, { query: { match_all: {} } }] });

    expect(await refusal(reader.index({ index, body: { '@timestamp': '2026-01-01T00:00:00Z' } }))).toBe(403);
    const bulk = await sendBulk(reader, documents(index, 1), 1).then(
      (answers) => answers.map((i) => i.status),
      (error) => [(error as { meta?: { statusCode?: number } }).meta?.statusCode],
    );
    expect(bulk).toEqual([403]);
    expect(await refusal(reader.indices.delete({ index }))).toBe(403);
    expect(await refusal(reader.deleteByQuery({ index, body: { query: { match_all: {} } } }))).toBe(403);
    expect(await refusal(reader.search({ index: otherIndex }))).toBe(403);
    expect(await count(index)).toBe(3);
  });

  it('lets the installer, mapped to <prefix>-installer, install the templates and add new schema fields to existing indices', async () => {
    const n = names(prefix);
    expect((await securityIdentity(installer)).roles).toEqual([n.installerRole]);
    expect(mayInstall(await securityIdentity(installer), prefix)).toBe(true);
    expect(mayInstall(await securityIdentity(unmapped), prefix)).toBe(false);
    // A daily index of an older schema (no enrichment fields), and no index template yet: all of it the installer's to do.
    const old = `${prefix}-2025-12-31`;
    await admin.indices.deleteIndexTemplate({ name: n.indexTemplate });
    const oldFields = SCHEMA_FIELDS.filter((field) => !/^(source\.geo\.|source\.as\.|user_agent\.(name|version|os\.|device\.))/.test(field.path));
    await admin.indices.create({
      index: old,
      body: { settings: { number_of_replicas: 0, 'index.mapping.total_fields.limit': countMappedFields(buildMappings(oldFields)) + TOTAL_FIELDS_HEADROOM }, mappings: buildMappings(oldFields) as never },
    });
    const report = await installTemplates(installer, { indexPrefix: prefix, replicas: 0 });
    const outcome = (prefixOfStep: string) => report.steps.find((s) => s.step.startsWith(prefixOfStep))?.outcome;
    expect(outcome('index template')).toBe('created');
    expect(outcome('mappings of existing')).toBe('updated');
    expect(report.mappingUpdates.map((u) => u.index)).toEqual([old]);
    expect(report.verification?.mismatches).toEqual([]);
    expect(report.steps.filter((s) => /security role|role mapping/.test(s.step))).toEqual([]);
    // What the stack's custom resource does with it (people administer the domain): install once mapped, else wait.
    const resource = { Endpoint: 'x', IndexPrefix: prefix, RetentionDays: '30', Replicas: '0', Shards: '', FirehoseRoleArn: ROLE_ARNS.firehose, LoaderRoleArn: '', DashboardsRoleArn: '', DashboardsAdmin: 'false', ManageSecurity: 'false', CodeKey: 'k' };
    expect((await configureDomain(installer, resource)).status).toBe('installed');
    expect(await configureDomain(unmapped, resource)).toEqual({ status: 'awaiting-security-setup', identity: 'stranger' });
  });

  it('keeps the installer out of documents, index deletion and the security configuration: it cannot raise its own rights', async () => {
    const index = `${prefix}-2026-01-01`;
    const bulk = await sendBulk(installer, documents(index, 1), 1).then(
      (answers) => answers.map((i) => i.status),
      (error) => [(error as { meta?: { statusCode?: number } }).meta?.statusCode],
    );
    expect(bulk).toEqual([403]);
    expect(await refusal(installer.search({ index }))).toBe(403);
    expect(await refusal(installer.indices.delete({ index }))).toBe(403);
    expect(await refusal(installer.indices.create({ index: `${prefix}-2026-05-01` }))).toBe(403);
    expect(await refusal(installer.transport.request({ method: 'GET', path: '/_plugins/_security/api/roles' }))).toBe(403);
    expect(await refusal(installer.transport.request({ method: 'PUT', path: '/_plugins/_security/api/rolesmapping/all_access', body: { backend_roles: [ROLE_ARNS.installer] } }))).toBe(403);
    expect(await refusal(installer.transport.request({ method: 'PUT', path: `/_plugins/_security/api/roles/${names(prefix).installerRole}`, body: { cluster_permissions: ['*'] } }))).toBe(403);
    expect(await count(index)).toBe(3);
  });

  it('refuses a signed-in user whose backend role is mapped to nothing (403), and a request without credentials (401)', async () => {
    expect(await refusal(unmapped.search({ index: names(prefix).indexPattern }))).toBe(403);
    expect(await refusal(unmapped.transport.request({ method: 'POST', path: '/_bulk', body: documents(`${prefix}-2026-04-01`, 1) }))).toBe(403);
    expect((await fetch(`${engine.url}/${prefix}-2026-01-01/_search`)).status).toBe(401);
  });
});
