// installTemplates against the real embedded OpenSearch (process.env.OPENSEARCH_URL).
// The embedded engine has no ISM and no security plugin, so those steps must report
// "skipped" with a reason; everything else is installed and checked for real.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Client } from '@opensearch-project/opensearch';
import { createOpenSearchClient } from '../../templates/opensearch-client.ts';
import { InstallError, installTemplates, type InstallReport } from '../../templates/install.ts';
import { renderTemplates, DEFAULT_TEMPLATE_OPTIONS } from '../../templates/render.ts';
import { buildMappings, flattenMappingTypes } from '../../transform/schema/mapping.ts';
import { SCHEMA_FIELDS } from '../../transform/schema/fields.ts';
import { parseAlbLine } from '../../transform/parser/index.ts';
import { corpusAccessLines } from '../corpus.ts';
import { allLogFileLines } from '../samples.ts';
import { removeIndicesAndTemplates } from '../opensearch-cleanup.ts';
import { withUtcDays } from '../utc-days.ts';
import { itEmbedded } from '../opensearch-mode.ts';

const url = process.env.OPENSEARCH_URL!;
const prefix = `t7-install-${process.pid}`;
const otherPrefix = `t7-other-${process.pid}`;
const warnPrefix = `t7-warn-${process.pid}`;
const upgradePrefix = `t7-upgrade-${process.pid}`;
const conflictPrefix = `t7-conflict-${process.pid}`;
// Own prefixes for the tests that change templates, so they run in any order and one failure stays one.
const verifyPrefix = `t7-verify-${process.pid}`;
const stalePrefix = `t7-stale-${process.pid}`;
const allPrefixes = [prefix, otherPrefix, warnPrefix, upgradePrefix, conflictPrefix, verifyPrefix, stalePrefix];
let client: Client;

async function cleanup(p: string): Promise<void> {
  await client.transport.request({ method: 'DELETE', path: `/_index_template/${p}-override` }, { ignore: [404] });
  await removeIndicesAndTemplates(client, p);
}

beforeAll(async () => {
  client = createOpenSearchClient({ endpoint: url });
  for (const p of allPrefixes) await cleanup(p);
});
afterAll(async () => {
  for (const p of allPrefixes) await cleanup(p);
  await client.close();
});

describe('installTemplates on the embedded engine', () => {
  let first: InstallReport;
  let second: InstallReport;
  let firstDays: string[];
  const lines: string[] = [];

  beforeAll(async () => {
    ({ result: first, days: firstDays } = await withUtcDays(() => installTemplates(client, { indexPrefix: prefix, replicas: 0, firehoseRoleArn: 'arn:aws:iam::123456789012:role/firehose', log: (l) => lines.push(l) })));
    second = await installTemplates(client, { indexPrefix: prefix, replicas: 0, firehoseRoleArn: 'arn:aws:iam::123456789012:role/firehose' });
  });

  itEmbedded('creates the component and index templates on the first run', 'the embedded engine has no ISM or security plugin; another cluster may have them, and its steps differ', () => {
    expect(first.version).toMatch(/^2\./);
    expect(first.changed).toBe(true);
    expect(first.steps.filter((s) => s.outcome === 'created').map((s) => s.step)).toEqual([
      `component template ${prefix}-settings`,
      `component template ${prefix}-mappings`,
      `index template ${prefix} (${prefix}-*, priority 200)`,
    ]);
  });

  it('warns when the replicas cannot be placed on the cluster', async () => {
    expect(first.warnings).toEqual([]);
    const nodes = (await client.cluster.health()).body.number_of_data_nodes;
    const yellow = await installTemplates(client, { indexPrefix: warnPrefix, replicas: nodes });
    expect(yellow.warnings).toEqual([`${nodes} replicas need ${nodes + 1} data nodes but the cluster has ${nodes}: new indices will stay yellow (use --replicas ${nodes - 1})`]);
  });

  itEmbedded('changes nothing on the second run and says so', 'the embedded engine has no ISM or security plugin; another cluster may have them, and its steps differ', () => {
    expect(second.changed).toBe(false);
    expect(second.steps.filter((s) => s.outcome !== 'skipped').every((s) => s.outcome === 'unchanged')).toBe(true);
    expect(second.steps.filter((s) => s.outcome === 'unchanged')).toHaveLength(3);
  });

  itEmbedded('reports the missing ISM and security plugins instead of failing', 'the embedded engine has no ISM or security plugin; another cluster may have them, and its steps differ', () => {
    const ism = first.steps.find((s) => s.step.startsWith('ISM policy'))!;
    expect(ism.outcome).toBe('skipped');
    expect(ism.detail).toMatch(/no ISM plugin.*NOT deleted automatically/);
    const security = first.steps.find((s) => s.step.startsWith('security role'))!;
    expect(security.outcome).toBe('skipped');
    expect(security.detail).toMatch(/no security plugin/);
    expect(lines.some((l) => l.startsWith('skipped') && l.includes('ISM'))).toBe(true);
  });

  it('verifies every schema field with _simulate_index on a new daily index', () => {
    const v = first.verification!;
    // the day the install ran (either day, if it crossed midnight)
    expect(firstDays.map((day) => `${prefix}-${day}`)).toContain(v.index);
    expect(v.mismatches).toEqual([]);
    expect(v.fieldsChecked).toBe(flattenMappingTypes(buildMappings().properties).size);
    expect(Object.fromEntries(v.keyFields.map((f) => [f.path, f.actual]))).toMatchObject({
      '@timestamp': 'date_nanos',
      'source.ip': 'ip',
      'http.response.status_code': 'integer',
      'http.response.bytes': 'long',
      'url.original.text': 'text',
    });
  });

  it('a created daily index gets the schema types and settings', async () => {
    const index = `${prefix}-2031-01-02`;
    await client.indices.create({ index });
    const mapping = (await client.indices.getMapping({ index })).body[index]!.mappings as { dynamic: string; properties: Record<string, unknown> };
    expect(mapping.dynamic).toBe('strict');
    const types = flattenMappingTypes(mapping.properties);
    expect(types.get('@timestamp')).toBe('date_nanos');
    expect(types.get('source.ip')).toBe('ip');
    expect(types.get('http.response.status_code')).toBe('integer');
    expect(types.get('http.response.bytes')).toBe('long');
    expect(types.get('aws.elb.backend.ip')).toBe('ip');
    expect(types.get('aws.elb.request_processing_time.sec')).toBe('float');
    expect(types.get('user_agent.original.text')).toBe('text');
    const settings = (await client.indices.getSettings({ index })).body[index]!.settings as { index: Record<string, any> };
    expect(settings.index.number_of_replicas).toBe('0');
    expect(settings.index.refresh_interval).toBe('30s');
    expect(settings.index.codec).toBe('best_compression');
    expect(Number(settings.index.mapping.total_fields.limit)).toBeGreaterThan(types.size);
  });

  it('rejects a document with an unknown field (dynamic: strict) and keeps a bad IP from rejecting the document', async () => {
    const index = `${prefix}-2031-01-03`;
    const bulk = await client.bulk({
      refresh: true,
      body: [
        { index: { _index: index } },
        { '@timestamp': '2031-01-03T00:00:00.123456Z', surprise: 'field' },
        { index: { _index: index } },
        { '@timestamp': '2031-01-03T00:00:00.123456Z', source: { ip: 'not-an-ip' }, http: { response: { status_code: 200 } } },
      ],
    });
    const items = bulk.body.items.map((i: any) => i.index);
    expect(items[0].status).toBe(400);
    expect(items[0].error.type).toBe('strict_dynamic_mapping_exception');
    expect(items[1].status).toBe(201);
    const hit = (await client.get({ index, id: items[1]._id })).body as { _source: any };
    expect(hit._source.source.ip).toBe('not-an-ip');
  });

  it('indexes the parser output of every corpus and sample line with zero item errors', async () => {
    const body: object[] = [];
    let documents = 0;
    // The other log types in the folders fail to parse and are left out; every access-log line is a document.
    for (const { file, index, line } of allLogFileLines()) {
      const result = parseAlbLine(line, { source: { key: file, offset: index }, original: true });
      if (result.kind !== 'document') continue;
      documents++;
      body.push({ index: { _index: `${prefix}-2031-02-01` } }, result.document);
    }
    expect(documents).toBeGreaterThanOrEqual(corpusAccessLines().length);
    const bulk = await client.bulk({ refresh: true, body });
    const errors = bulk.body.items.map((i: any) => i.index).filter((i: any) => i.error).map((i: any) => JSON.stringify(i.error));
    expect(errors).toEqual([]);
    const count = await client.count({ index: `${prefix}-2031-02-01` });
    expect(count.body.count).toBe(documents);
    // The typed fields work as typed fields: an IP range query and a numeric range query.
    const errors5xx = await client.count({ index: `${prefix}-2031-02-01`, body: { query: { range: { 'http.response.status_code': { gte: 500 } } } } });
    expect(errors5xx.body.count).toBeGreaterThan(0);
    const ipv4 = await client.count({ index: `${prefix}-2031-02-01`, body: { query: { term: { 'source.ip': '0.0.0.0/0' } } } });
    expect(ipv4.body.count).toBeGreaterThan(0);
    const ignored = await client.count({ index: `${prefix}-2031-02-01`, body: { query: { exists: { field: '_ignored' } } } });
    expect(ignored.body.count).toBe(0);
  });
});

describe('installTemplates: updates, dry run, failures', () => {
  it('updates only what changed when an option changes', async () => {
    await installTemplates(client, { indexPrefix: otherPrefix, replicas: 0 });
    const report = await installTemplates(client, { indexPrefix: otherPrefix, replicas: 0, shards: 2 });
    expect(report.steps.map((s) => [s.step.split(' (')[0], s.outcome])).toEqual([
      [`component template ${otherPrefix}-settings`, 'updated'],
      [`component template ${otherPrefix}-mappings`, 'unchanged'],
      [`index template ${otherPrefix}`, 'unchanged'],
      [`ISM policy ${otherPrefix}-retention`, 'skipped'],
    ]);
    const simulated = await client.transport.request({ method: 'POST', path: `/_index_template/_simulate_index/${otherPrefix}-2031-01-01` });
    expect(simulated.body.template.settings.index.number_of_shards).toBe('2');
  });

  it('fails verification when a higher-priority template would win for the daily indices', async () => {
    await installTemplates(client, { indexPrefix: verifyPrefix, replicas: 0, shards: 2 });
    await client.transport.request({
      method: 'PUT',
      path: `/_index_template/${verifyPrefix}-override`,
      body: { index_patterns: [`${verifyPrefix}-2*`], priority: 500, template: { mappings: { properties: { '@timestamp': { type: 'date' } } } } },
    });
    const run = installTemplates(client, { indexPrefix: verifyPrefix, replicas: 0, shards: 2 });
    await expect(run).rejects.toThrow(InstallError);
    await expect(installTemplates(client, { indexPrefix: verifyPrefix, replicas: 0, shards: 2 })).rejects.toThrow(
      new RegExp(`Verification failed.*@timestamp: date instead of date_nanos.*Templates that win over ${verifyPrefix}: ${verifyPrefix}-override \\(${verifyPrefix}-2\\*, priority 500\\)`),
    );
    await client.transport.request({ method: 'DELETE', path: `/_index_template/${verifyPrefix}-override` });
    // With the override gone, the same install verifies again.
    await expect(installTemplates(client, { indexPrefix: verifyPrefix, replicas: 0, shards: 2 })).resolves.toMatchObject({ changed: false });
  });

  it('warns about existing indices created without the templates', async () => {
    const stale = `${stalePrefix}-1999-01-01`;
    await installTemplates(client, { indexPrefix: stalePrefix, replicas: 0 });
    // As if created before the template existed (dynamic mapping): explicit create-index mappings win over the template.
    await client.indices.create({ index: stale, body: { mappings: { dynamic: true, properties: { '@timestamp': { type: 'date' } } } } });
    const report = await installTemplates(client, { indexPrefix: stalePrefix, replicas: 0, shards: 2 });
    expect(report.staleIndices).toEqual([`${stale} (@timestamp)`]);
  });

  it('--dry-run prints every request and sends nothing', async () => {
    const dryPrefix = `t7-dry-${process.pid}`;
    const printed: string[] = [];
    // An endpoint nothing listens on: any request would fail the run.
    const dead = createOpenSearchClient({ endpoint: 'http://127.0.0.1:1' });
    const { result: dryReport, days } = await withUtcDays(() =>
      installTemplates(dead, { indexPrefix: dryPrefix, dryRun: true, firehoseRoleArn: 'arn:aws:iam::123456789012:role/fh', log: (l) => printed.push(l) }));
    expect(dryReport.steps.every((s) => s.outcome === 'planned')).toBe(true);
    const requests = printed.filter((l) => /^(PUT|POST|GET) /.test(l)).map((l) => l.split('\n')[0]);
    const simulated = requests.at(-1)!;
    expect(days.map((day) => `POST /_index_template/_simulate_index/${dryPrefix}-${day}`)).toContain(simulated);
    expect(requests).toEqual([
      `PUT /_component_template/${dryPrefix}-settings`,
      `PUT /_component_template/${dryPrefix}-mappings`,
      `PUT /_index_template/${dryPrefix}`,
      `PUT /_plugins/_ism/policies/${dryPrefix}-retention`,
      `POST /_plugins/_ism/add/${dryPrefix}-*`,
      `PUT /<each strict ${dryPrefix}-* index missing schema fields>/_mapping`,
      `PUT /_plugins/_security/api/roles/${dryPrefix}-firehose`,
      `PUT /_plugins/_security/api/rolesmapping/${dryPrefix}-firehose`,
      simulated,
    ]);
    const mappingsRequest = printed.find((l) => l.startsWith(`PUT /_component_template/${dryPrefix}-mappings`))!;
    const t = renderTemplates({ ...DEFAULT_TEMPLATE_OPTIONS, indexPrefix: dryPrefix });
    expect(JSON.parse(mappingsRequest.slice(mappingsRequest.indexOf('\n') + 1))).toEqual(t.mappings.body);
    await dead.close();
    // And nothing reached the real engine either.
    const exists = await client.transport.request({ method: 'GET', path: `/_index_template/${dryPrefix}` }, { ignore: [404] });
    expect(exists.statusCode).toBe(404);
  }, 120_000);

  it('explains an unreachable endpoint', async () => {
    const dead = createOpenSearchClient({ endpoint: 'http://127.0.0.1:1' });
    await expect(installTemplates(dead, { indexPrefix: 'x' })).rejects.toThrow(/Cannot reach OpenSearch \(GET \/\): .*ECONNREFUSED.*Check the endpoint URL/);
    await dead.close();
    const unresolvable = createOpenSearchClient({ endpoint: 'http://albatross-no-such-host.invalid:9200' });
    await expect(installTemplates(unresolvable, { indexPrefix: 'x' })).rejects.toThrow(/Cannot reach OpenSearch .*ENOTFOUND/);
    await unresolvable.close();
  }, 120_000);

  it('rejects bad options before sending anything', async () => {
    await expect(installTemplates(client, { indexPrefix: 'Bad Prefix' })).rejects.toThrow(/prefix "Bad Prefix" must be lowercase/);
    await expect(installTemplates(client, { indexPrefix: 'ok', retentionDays: 0 })).rejects.toThrow(/retention days/);
    await expect(installTemplates(client, { indexPrefix: 'ok', firehoseRoleArn: 'arn:aws:iam::123:user/x' })).rejects.toThrow(/not an IAM role ARN/);
  });
});

describe('installTemplates: a release that adds schema fields, on existing indices', () => {
  // The previous release's schema: without the newest ALB fields (a new object, node.ip, among
  // them) and without the text sub-field of user_agent.original.
  const NEW_FIELDS = ['aws.elb.transformed_host', 'aws.elb.transformed_uri', 'aws.elb.request_transform_status', 'aws.elb.node.ip'];
  const oldFields = SCHEMA_FIELDS.filter((f) => !NEW_FIELDS.includes(f.path)).map((f) => {
    if (f.path !== 'user_agent.original') return f;
    const { text: _text, ...withoutText } = f as typeof f & { text?: unknown };
    return withoutText as typeof f;
  });
  const today = `${upgradePrefix}-2026-12-03`;
  const document = {
    '@timestamp': '2026-12-03T10:00:00.123456Z',
    user_agent: { original: 'curl/8.5.0' },
    aws: { elb: { transformed_host: 'example.com', transformed_uri: '/rewritten', request_transform_status: 'ok', node: { ip: '10.0.1.7' } } },
  };
  const mappingOf = async (name: string): Promise<any> => (await client.transport.request({ method: 'GET', path: `/${name}/_mapping` })).body[name].mappings;
  const settingsOf = async (name: string): Promise<any> => (await client.transport.request({ method: 'GET', path: `/${name}/_settings` })).body[name].settings.index;
  const index = (name: string) => client.transport.request({ method: 'PUT', path: `/${name}/_doc/1`, querystring: { refresh: 'true' }, body: document }, { ignore: [400] });

  it('adds the new fields to an index made with the old mapping, so documents with them are accepted, and keeps its settings', async () => {
    await client.indices.create({ index: today, body: { settings: { number_of_shards: 1, number_of_replicas: 0 }, mappings: buildMappings(oldFields) } });
    // An operator's tuning of the existing index.
    await client.indices.putSettings({ index: today, body: { index: { number_of_replicas: 1, refresh_interval: '5s' } } });
    const before = await index(today);
    expect(before.statusCode).toBe(400);
    expect(JSON.stringify(before.body)).toMatch(/strict_dynamic_mapping_exception/);

    const lines: string[] = [];
    const report = await installTemplates(client, { indexPrefix: upgradePrefix, replicas: 0, shards: 2, log: (l) => lines.push(l) });
    expect(report.mappingUpdates).toEqual([{ index: today, added: [...NEW_FIELDS, 'user_agent.original.text'] }]);
    const step = report.steps.find((s) => s.step === `mappings of existing ${upgradePrefix}-* indices`);
    expect(step?.outcome).toBe('updated');
    expect(step?.detail).toContain(`to ${today}`);

    const after = await index(today);
    expect(after.statusCode).toBe(201);
    const byNewFields = await client.count({ index: today, body: { query: { bool: { filter: [
      { term: { 'aws.elb.node.ip': '10.0.0.0/16' } }, { term: { 'aws.elb.request_transform_status': 'ok' } }, { match: { 'user_agent.original.text': 'curl' } },
    ] } } } });
    expect(byNewFields.body.count).toBe(1);
    const mapping = await mappingOf(today);
    expect(flattenMappingTypes(mapping.properties)).toEqual(flattenMappingTypes(buildMappings(SCHEMA_FIELDS).properties));
    expect(mapping.dynamic).toBe('strict');

    // The operator's settings survive; the option's shards and replicas only reach new indices.
    const settings = await settingsOf(today);
    expect([settings.number_of_shards, settings.number_of_replicas, settings.refresh_interval]).toEqual(['1', '1', '5s']);
    const simulated = await client.transport.request({ method: 'POST', path: `/_index_template/_simulate_index/${upgradePrefix}-2026-12-04` });
    expect([simulated.body.template.settings.index.number_of_shards, simulated.body.template.settings.index.number_of_replicas]).toEqual(['2', '0']);

    const again = await installTemplates(client, { indexPrefix: upgradePrefix, replicas: 0, shards: 2 });
    expect(again.mappingUpdates).toEqual([]);
    expect(again.steps.find((s) => s.step === `mappings of existing ${upgradePrefix}-* indices`)?.outcome).toBe('unchanged');
    expect(again.changed).toBe(false);
  });

  it('refuses a type change with the index and field named, and changes nothing', async () => {
    // Its own prefix: no template yet, so the indices keep exactly the mappings they are created with.
    const changed = `${conflictPrefix}-2026-11-30`;
    const behind = `${conflictPrefix}-2026-11-29`;
    const conflicting = buildMappings(oldFields.map((f) => (f.path === 'http.response.status_code' ? { ...f, type: 'keyword' as const } : f)));
    await client.indices.create({ index: changed, body: { settings: { number_of_replicas: 0 }, mappings: conflicting } });
    await client.indices.create({ index: behind, body: { settings: { number_of_replicas: 0 }, mappings: buildMappings(oldFields) } });
    const run = installTemplates(client, { indexPrefix: conflictPrefix, replicas: 0 });
    await expect(run).rejects.toThrow(InstallError);
    await expect(run).rejects.toThrow(`index ${changed} maps http.response.status_code as keyword, the schema as integer`);
    // Not half-written: the other index did not get the new fields, and no template was written.
    const behindMapping = flattenMappingTypes((await mappingOf(behind)).properties);
    expect(behindMapping.has('aws.elb.node.ip')).toBe(false);
    const template = await client.transport.request({ method: 'GET', path: `/_index_template/${conflictPrefix}` }, { ignore: [404] });
    expect(template.statusCode).toBe(404);
    await client.indices.delete({ index: changed });
    // With the conflict gone, the index that was behind is brought up to date.
    const fixed = await installTemplates(client, { indexPrefix: conflictPrefix, replicas: 0 });
    expect(fixed.mappingUpdates).toEqual([{ index: behind, added: [...NEW_FIELDS, 'user_agent.original.text'] }]);
  });
});
