// The Dashboards saved objects: structure, references, and every field they use
// checked against the mapping a real daily index gets; the field aggregations of
// each visualization are run on the embedded engine over the parsed corpus (and sample) lines.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Client } from '@opensearch-project/opensearch';
import { createOpenSearchClient } from '../../templates/opensearch-client.ts';
import { installTemplates } from '../../templates/install.ts';
import {
  checkSavedObjects,
  fieldsUsedBy,
  kqlFields,
  parseNdjson,
  renderSavedObjects,
  toNdjson,
  type SavedObject,
} from '../../templates/dashboards.ts';
import { dashboardsTarget } from '../../templates/dashboards-import.ts';
import { flattenMappingTypes } from '../../transform/schema/mapping.ts';
import { sharedEnricher } from '../../transform/enrich/data.ts';
import { parseAlbLine } from '../../transform/parser/index.ts';
import { allLogFileLines } from '../samples.ts';
import { removeIndicesAndTemplates } from '../opensearch-cleanup.ts';
import { readBody } from '../http-stand-in.ts';

const url = process.env.OPENSEARCH_URL!;
const prefix = `t7-dash-${process.pid}`;
const index = `${prefix}-2031-03-01`;
let client: Client;
let mappingTypes: Map<string, string>;
const objects = renderSavedObjects({ indexPrefix: prefix, slowRequestSeconds: 1 });

beforeAll(async () => {
  client = createOpenSearchClient({ endpoint: url });
  await installTemplates(client, { indexPrefix: prefix, replicas: 0 });
  // The mapping a new daily index really gets, as OpenSearch reports it.
  const simulated = await client.transport.request({ method: 'POST', path: `/_index_template/_simulate_index/${index}` });
  mappingTypes = flattenMappingTypes(simulated.body.template.mappings.properties);
  const body: object[] = [];
  for (const { line } of allLogFileLines()) {
    const result = parseAlbLine(line, { enrich: sharedEnricher('all') });   // as the transform does
    if (result.kind === 'document') body.push({ index: { _index: index } }, result.document);
  }
  await client.bulk({ refresh: true, body });
});

afterAll(async () => {
  await removeIndicesAndTemplates(client, prefix);
  await client.close();
});

describe('Dashboards saved objects', () => {
  it('round-trip through NDJSON, one object per line', () => {
    const ndjson = toNdjson(objects);
    expect(ndjson.trimEnd().split('\n')).toHaveLength(objects.length);
    expect(parseNdjson(ndjson)).toEqual(objects);
  });

  it('hold the index pattern, four saved searches, fifteen visualizations and one dashboard', () => {
    const byType = (type: SavedObject['type']) => objects.filter((o) => o.type === type);
    const [pattern] = byType('index-pattern');
    expect(pattern!.attributes).toMatchObject({ title: `${prefix}-*`, timeFieldName: '@timestamp' });
    const formats = JSON.parse(pattern!.attributes.fieldFormatMap as string);
    expect(formats['http.response.bytes'].id).toBe('bytes');
    expect(formats['event.duration']).toMatchObject({ id: 'duration', params: { inputFormat: 'nanoseconds' } });
    expect(byType('search').map((s) => s.attributes.title)).toEqual([
      '[ALB] 5xx errors',
      '[ALB] Slow requests (over 1 s)',
      '[ALB] Traffic from cloud and hosting networks',
      '[ALB] Rejected or ambiguous requests (desync classification)',
    ]);
    expect(byType('visualization')).toHaveLength(15);
    expect(byType('visualization').map((v) => JSON.parse(v.attributes.visState as string).type)).toContain('tile_map');
    const [dashboard] = byType('dashboard');
    expect(dashboard!.references.map((r) => r.id).sort()).toEqual([...byType('visualization'), ...byType('search')].map((o) => o.id).sort());
  });

  it('are consistent: every reference resolves and every field exists in the real mapping, aggregated ones with doc values', () => {
    expect(mappingTypes.get('@timestamp')).toBe('date_nanos');
    expect(checkSavedObjects(objects, mappingTypes)).toEqual([]);
  });

  it('the check catches broken references, unmapped and non-aggregatable fields', () => {
    const broken = structuredClone(objects);
    const vis = broken.find((o) => o.type === 'visualization')!;
    vis.references[0]!.id = 'missing-pattern';
    const visState = JSON.parse(vis.attributes.visState as string);
    visState.aggs.push({ id: '9', enabled: true, type: 'terms', schema: 'bucket', params: { field: 'url.original.text' } });
    visState.aggs.push({ id: '10', enabled: true, type: 'terms', schema: 'bucket', params: { field: 'no.such.field' } });
    vis.attributes.visState = JSON.stringify(visState);
    const dashboard = broken.find((o) => o.type === 'dashboard')!;
    const removed = dashboard.references.pop()!;
    const problems = checkSavedObjects(broken, mappingTypes);
    expect(problems).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/reference kibanaSavedObjectMeta.searchSourceJSON.index -> index-pattern:missing-pattern does not resolve/),
        expect.stringMatching(/aggregates url.original.text of non-aggregatable type text/),
        expect.stringMatching(/aggregates unmapped field no.such.field/),
        expect.stringMatching(new RegExp(`panel ${removed.name} has no reference`)),
      ]),
    );
  });

  it('reads the fields of its KQL queries', () => {
    expect(kqlFields('http.response.status_code >= 400 and http.response.status_code < 500')).toEqual(['http.response.status_code', 'http.response.status_code']);
    expect(kqlFields('aws.elb.classification:(Ambiguous or Severe)')).toEqual(['aws.elb.classification']);
    expect(kqlFields('not http.response.status_code:*')).toEqual(['http.response.status_code']);
  });

  it("every visualization's field aggregations run on the engine and find data in the sample documents", async () => {
    const translate = (agg: { type: string; params: Record<string, any> }): Record<string, unknown> | undefined => {
      const field = agg.params.field as string | undefined;
      switch (agg.type) {
        case 'terms':
          return { terms: { field, size: agg.params.size } };
        case 'geohash_grid':
          return { geohash_grid: { field, precision: agg.params.precision } };
        case 'date_histogram':
          return { date_histogram: { field, fixed_interval: '1d', min_doc_count: 1 } };
        case 'sum':
          return { sum: { field } };
        case 'median':
          return { percentiles: { field, percents: [50] } };
        case 'percentiles':
          return { percentiles: { field, percents: agg.params.percents } };
        default:
          return undefined; // count, filters (KQL): no field aggregation to run
      }
    };
    let ran = 0;
    for (const vis of objects.filter((o) => o.type === 'visualization')) {
      const { aggs } = JSON.parse(vis.attributes.visState as string) as { aggs: { id: string; type: string; params: Record<string, any> }[] };
      const body: Record<string, unknown> = {};
      for (const agg of aggs) {
        const translated = translate(agg);
        if (translated) body[`a${agg.id}`] = translated;
      }
      const response = await client.transport.request({ method: 'POST', path: `/${index}/_search`, body: { size: 0, aggs: body } });
      for (const [name, result] of Object.entries(response.body.aggregations as Record<string, any>)) {
        ran++;
        const hasData = result.buckets ? result.buckets.length > 0 : result.values ? Object.values(result.values).some((v) => v !== null) : result.value > 0;
        expect(hasData, `${vis.id} ${name}`).toBe(true);
      }
    }
    expect(ran).toBeGreaterThanOrEqual(19);
  });

  it('every searched or displayed field of the saved searches exists', () => {
    for (const search of objects.filter((o) => o.type === 'search')) {
      const used = fieldsUsedBy(search);
      expect(used.queried.length).toBeGreaterThan(0);
      for (const field of [...used.queried, ...used.displayed]) expect(mappingTypes.has(field), `${search.id}: ${field}`).toBe(true);
    }
  });
});

// OpenSearch Dashboards is not part of the embedded engine. This loopback server speaks
// the two saved-objects endpoints the installer uses (_bulk_get and multipart _import),
// keeps what was imported, and rejects requests without osd-xsrf, like Dashboards does.
describe('Dashboards import over HTTP', () => {
  let server: Server;
  let dashboardsUrl: string;
  const stored = new Map<string, SavedObject>();
  const calls: { path: string; xsrf: string | undefined; tenant: string | undefined; authorization: string | undefined }[] = [];

  beforeAll(async () => {
    server = createServer(async (req, res) => {
      const body = await readBody(req);
      const requestUrl = new URL(req.url!, 'http://localhost');
      calls.push({ path: requestUrl.pathname + requestUrl.search, xsrf: req.headers['osd-xsrf'] as string, tenant: req.headers.securitytenant as string, authorization: req.headers.authorization });
      res.setHeader('content-type', 'application/json');
      if (req.headers['osd-xsrf'] !== 'true') {
        res.statusCode = 400;
        return res.end(JSON.stringify({ statusCode: 400, error: 'Bad Request', message: 'Request must contain a osd-xsrf header.' }));
      }
      if (requestUrl.pathname === '/base/api/saved_objects/_bulk_get') {
        const wanted = JSON.parse(body.toString()) as { id: string; type: string }[];
        return res.end(JSON.stringify({ saved_objects: wanted.map((w) => stored.get(`${w.type}:${w.id}`) ?? { ...w, error: { statusCode: 404 } }) }));
      }
      if (requestUrl.pathname === '/base/api/saved_objects/_import' && requestUrl.searchParams.get('overwrite') === 'true') {
        const form = await new Request('http://localhost/', { method: 'POST', headers: { 'content-type': req.headers['content-type']! }, body }).formData();
        const file = form.get('file') as File;
        const imported = parseNdjson(await file.text());
        for (const o of imported) stored.set(`${o.type}:${o.id}`, o);
        return res.end(JSON.stringify({ success: true, successCount: imported.length, successResults: [] }));
      }
      res.statusCode = 404;
      res.end('{}');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    dashboardsUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/base/`;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  it('imports once with osd-xsrf and overwrite, then finds everything up to date', async () => {
    const target = dashboardsTarget(dashboardsUrl, url, { username: 'admin', password: 'secret' });
    expect(target.kind).toBe('http');
    const first = await installTemplates(client, { indexPrefix: prefix, replicas: 0, dashboards: target });
    const step = (r: typeof first) => r.steps.find((s) => s.step.startsWith('Dashboards'))!;
    expect(step(first)).toMatchObject({ outcome: 'updated', detail: `imported ${objects.length} objects (overwrite)` });
    expect([...stored.values()]).toEqual(objects);
    const second = await installTemplates(client, { indexPrefix: prefix, replicas: 0, dashboards: target });
    expect(step(second).outcome).toBe('unchanged');
    expect(second.changed).toBe(false);
    expect(calls.map((c) => c.path)).toEqual([
      '/base/api/saved_objects/_bulk_get',
      '/base/api/saved_objects/_import?overwrite=true',
      '/base/api/saved_objects/_bulk_get',
    ]);
    expect(calls.every((c) => c.xsrf === 'true' && c.tenant === 'global' && c.authorization === `Basic ${Buffer.from('admin:secret').toString('base64')}`)).toBe(true);
  });

  it('uses the OpenSearch client (and its SigV4 signing) when Dashboards is on the OpenSearch host', () => {
    expect(dashboardsTarget('https://search-x.eu-west-1.es.amazonaws.com/_dashboards', 'https://search-x.eu-west-1.es.amazonaws.com', {})).toEqual({
      kind: 'opensearch-client',
      basePath: '/_dashboards',
      url: 'https://search-x.eu-west-1.es.amazonaws.com/_dashboards',
    });
  });
});
