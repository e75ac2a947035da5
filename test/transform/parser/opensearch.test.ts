// Generated documents index under the strict schema mapping in the real embedded
// OpenSearch (process.env.OPENSEARCH_URL): every ip, date_nanos, integer and
// keyword value the parser can emit is one OpenSearch accepts.
import fc from 'fast-check';
import type { Client } from '@opensearch-project/opensearch';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createOpenSearchClient } from '../../../templates/opensearch-client.ts';
import { parseAlbLineToJson } from '../../../transform/parser/index.ts';
import { buildMappings } from '../../../transform/schema/mapping.ts';
import { line, render } from './line-arbitrary.ts';
import { allAccessLogLines } from '../../samples.ts';
import { corpusLine, LINE_36_FIELDS_IPV6 } from '../../corpus.ts';

const index = `t3-parser-${process.pid}`;
let client: Client;

beforeAll(async () => {
  client = createOpenSearchClient({ endpoint: process.env.OPENSEARCH_URL! });
  await client.transport.request({ method: 'DELETE', path: `/${index}` }, { ignore: [404] });
  await client.indices.create({ index, body: { settings: { number_of_replicas: 0 }, mappings: buildMappings() as never } });
});
afterAll(async () => {
  await client.transport.request({ method: 'DELETE', path: `/${index}` }, { ignore: [404] });
  await client.close();
});

interface BulkItem { index: { status: number; error?: { reason?: string } } }

async function indexAll(documents: string[]): Promise<BulkItem[]> {
  const body = documents.flatMap((document) => ['{"index":{}}', document]).join('\n') + '\n';
  const response = await client.transport.request({ method: 'POST', path: `/${index}/_bulk`, querystring: { refresh: 'true' }, body, bulkBody: undefined as never });
  return (response.body as { items: BulkItem[] }).items;
}

function json(lineText: string, offset: number): string {
  const result = parseAlbLineToJson(lineText, { source: { bucket: 'b', key: 'k.log.gz', offset }, original: true });
  if (result.kind !== 'document') throw new Error(`${result.kind}: ${result.reason}`);
  return result.json;
}

describe('parser documents in OpenSearch (strict mapping)', () => {
  it('indexes every corpus and sample line and 400 generated lines (IPv6, escapes, 20-36 fields) without a rejection', async () => {
    const generated = fc.sample(line, { numRuns: 400, seed: 3 }).map(render);
    const lines = [...allAccessLogLines().map(({ line: text }) => text), LINE_36_FIELDS_IPV6, ...generated];
    const items = await indexAll(lines.map(json));
    const rejected = items
      .map((item, i) => ({ status: item.index.status, reason: item.index.error?.reason, line: lines[i] }))
      .filter((item) => item.status >= 300);
    expect(rejected).toEqual([]);
    expect(items).toHaveLength(lines.length);
  });

  it('keeps microseconds in @timestamp and sorts by them', async () => {
    const base = corpusLine('http');
    const time = base.split(' ')[1]!;
    const early = base.replace(time, '2030-01-01T00:00:00.000001Z');
    const late = base.replace(time, '2030-01-01T00:00:00.000002Z');
    expect(early).not.toBe(base);
    await indexAll([json(late, 1), json(early, 2)]);
    const response = await client.search({
      index,
      body: { query: { range: { '@timestamp': { gte: '2030-01-01T00:00:00.000001Z', lte: '2030-01-01T00:00:00.000002Z' } } }, sort: [{ '@timestamp': 'asc' }] } as never,
    });
    const hits = (response.body as { hits: { hits: { _source: { '@timestamp': string }; sort: unknown[] }[] } }).hits.hits;
    expect(hits.map((hit) => hit._source['@timestamp'])).toEqual(['2030-01-01T00:00:00.000001Z', '2030-01-01T00:00:00.000002Z']);
  });
});
