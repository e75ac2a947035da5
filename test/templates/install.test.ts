// installTemplates against the real embedded OpenSearch (process.env.OPENSEARCH_URL).
// The embedded engine has no ISM and no security plugin, so those steps must report
// "skipped" with a reason; everything else is installed and checked for real.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Client } from '@opensearch-project/opensearch';
import { createOpenSearchClient } from '../../templates/opensearch-client.ts';
import { InstallError, installTemplates, type InstallReport } from '../../templates/install.ts';
import { renderTemplates, DEFAULT_TEMPLATE_OPTIONS } from '../../templates/render.ts';
import { buildMappings, flattenMappingTypes } from '../../transform/schema/mapping.ts';
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
// Own prefixes for the tests that change templates, so they run in any order and one failure stays one.
const verifyPrefix = `t7-verify-${process.pid}`;
const stalePrefix = `t7-stale-${process.pid}`;
const allPrefixes = [prefix, otherPrefix, warnPrefix, verifyPrefix, stalePrefix];
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
    // As if created before the template existed: explicit create-index mappings win over the template.
    await client.indices.create({ index: stale, body: { mappings: { properties: { '@timestamp': { type: 'date' } } } } });
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
