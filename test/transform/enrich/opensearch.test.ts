// Enriched documents in the real embedded OpenSearch with the real strict mapping: the issue's
// "done when" checks, queried the way Dashboards does (geo_bounding_box on the geo_point, terms).
import type { Client } from '@opensearch-project/opensearch';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createOpenSearchClient } from '../../../templates/opensearch-client.ts';
import { sharedEnricher } from '../../../transform/enrich/data.ts';
import { parseAlbLineToJson } from '../../../transform/parser/index.ts';
import { buildMappings } from '../../../transform/schema/mapping.ts';

const index = `t3-enrich-${process.pid}`;
let client: Client;

const CHROME = 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36';
function albLine(client: string, userAgent: string): string {
  return `https 2026-11-26T10:00:00.123456Z app/my-alb/0123456789abcdef ${client}:50718 10.0.0.5:80 0.001 0.002 0.000 200 200 512 1024 ` +
    `"GET https://example.com:443/a HTTP/1.1" "${userAgent}" TLS_AES_128_GCM_SHA256 TLSv1.3 ` +
    'arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/tg/0123456789abcdef "Root=1-6566e3a0-0123456789abcdef01234567" ' +
    '"example.com" "session-reused" 0 2026-11-26T10:00:00.120000Z "forward" "-" "-" "10.0.0.5:80" "200" "-" "-"';
}

interface Hit { _id: string; _source: Record<string, any> }

async function search(body: object): Promise<{ hits: Hit[]; aggregations?: any }> {
  const response = await client.search({ index, body: body as never });
  const result = response.body as { hits: { hits: Hit[] }; aggregations?: unknown };
  return { hits: result.hits.hits, aggregations: result.aggregations };
}

beforeAll(async () => {
  client = createOpenSearchClient({ endpoint: process.env.OPENSEARCH_URL! });
  await client.transport.request({ method: 'DELETE', path: `/${index}` }, { ignore: [404] });
  await client.indices.create({ index, body: { settings: { number_of_replicas: 0 }, mappings: buildMappings() as never } });
  const enricher = sharedEnricher('all');
  const lines: [string, string][] = [
    ['london-chrome', albLine('81.2.69.193', CHROME)],
    ['tokyo-curl', albLine('20.78.123.34', 'curl/8.5.0')],
    ['private-healthcheck', albLine('10.0.0.140', 'ELB-HealthChecker/2.0')],
    ['ipv6-googlebot', albLine('2001:4860:4860::8888', 'Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)')],
  ];
  const body = lines.flatMap(([id, line]) => {
    const parsed = parseAlbLineToJson(line, { enrich: enricher });
    if (parsed.kind !== 'document') throw new Error(`${id}: ${parsed.kind}`);
    return [JSON.stringify({ index: { _id: id } }), parsed.json];
  }).join('\n') + '\n';
  const response = await client.transport.request({ method: 'POST', path: `/${index}/_bulk`, querystring: { refresh: 'true' }, body, bulkBody: undefined as never });
  const items = (response.body as { items: { index: { status: number; error?: unknown } }[] }).items;
  expect(items.filter((item) => item.index.status >= 300)).toEqual([]);
});
afterAll(async () => {
  await client.transport.request({ method: 'DELETE', path: `/${index}` }, { ignore: [404] });
  await client.close();
});

describe('enriched documents in OpenSearch (strict mapping)', () => {
  it('maps source.geo.location as geo_point and finds the London client inside a box around Great Britain only', async () => {
    const mapping = await client.indices.getFieldMapping({ index, fields: 'source.geo.location' });
    expect(JSON.stringify(mapping.body)).toContain('"type":"geo_point"');
    const britain = await search({ query: { geo_bounding_box: { 'source.geo.location': { top_left: { lat: 59, lon: -8 }, bottom_right: { lat: 50, lon: 2 } } } } });
    expect(britain.hits.map((hit) => hit._id)).toEqual(['london-chrome']);
    const japan = await search({ query: { geo_bounding_box: { 'source.geo.location': { top_left: { lat: 46, lon: 129 }, bottom_right: { lat: 30, lon: 146 } } } } });
    expect(japan.hits.map((hit) => hit._id)).toEqual(['tokyo-curl']);
  });

  it('has country, location and AS number for public clients, and no geo or AS fields for the private one', async () => {
    const withGeo = await search({ query: { exists: { field: 'source.geo.country_iso_code' } }, size: 10, sort: [{ 'source.geo.country_iso_code': 'asc' }] });
    expect(withGeo.hits.map((hit) => [hit._id, hit._source.source.geo.country_iso_code, typeof hit._source.source.as.number]))
      .toEqual([['ipv6-googlebot', 'CA', 'number'], ['london-chrome', 'GB', 'number'], ['tokyo-curl', 'JP', 'number']]);
    const privateOne = await search({ query: { ids: { values: ['private-healthcheck'] } } });
    expect(privateOne.hits[0]!._source.source).toEqual({ address: '10.0.0.140', ip: '10.0.0.140', port: 50718 });
  });

  it('aggregates browsers, devices and AS organisations as keywords; Chrome has an OS, the health checker is recognisable', async () => {
    const { aggregations } = await search({
      size: 0,
      aggs: {
        browsers: { terms: { field: 'user_agent.name', size: 10 } },
        devices: { terms: { field: 'user_agent.device.name', size: 10 } },
        networks: { terms: { field: 'source.as.organization.name', size: 10 } },
        chromeOs: { filter: { term: { 'user_agent.name': 'Chrome' } }, aggs: { os: { terms: { field: 'user_agent.os.name' } } } },
      },
    });
    const keys = (agg: { buckets: { key: string }[] }) => agg.buckets.map((bucket) => bucket.key).sort();
    expect(keys(aggregations.browsers)).toEqual(['Chrome', 'ELB-HealthChecker', 'Googlebot', 'curl']);
    expect(keys(aggregations.devices)).toEqual(['Desktop', 'Spider']);
    expect(keys(aggregations.networks)).toEqual(['Andrews & Arnold Ltd', 'Google LLC', 'Microsoft Corporation']);
    expect(keys(aggregations.chromeOs.os)).toEqual(['Windows']);
    const text = await search({ query: { match: { 'source.as.organization.name.text': 'microsoft' } } });
    expect(text.hits.map((hit) => hit._id)).toEqual(['tokyo-curl']);
  });
});
