// Every document the transform emits must index under the project's templates (dynamic: strict)
// in the real embedded OpenSearch (process.env.OPENSEARCH_URL), so no emitted field can be
// rejected in production.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Client } from '@opensearch-project/opensearch';
import type { Bulk_RequestBody } from '@opensearch-project/opensearch/api/_core/bulk.js';
import { createOpenSearchClient } from '../../../templates/opensearch-client.ts';
import { dailyIndexName, installTemplates } from '../../../templates/install.ts';
import { processRecords } from '../../../transform/firehose-transform/process.ts';
import { adversarialLines, envelopedLines, firehoseEvent } from '../../../scripts/transform-fixtures.ts';
import { accessLogLines } from '../../samples.ts';
import { removeIndicesAndTemplates } from '../../opensearch-cleanup.ts';

const prefix = `t4-transform-${process.pid}`;
// Each test writes to its own daily index, so tests run in any order (and at any hour).
const dayIndex = (day: number): string => dailyIndexName(prefix, new Date(Date.UTC(2030, 0, day)));
let client: Client;

/** Decoded documents of the Ok records, as Firehose would send them to _bulk. */
function emittedDocuments(data: ReadonlyArray<Buffer | string>, original: boolean): string[] {
  const { records, stats } = processRecords(firehoseEvent(data).records, { original });
  expect(stats.ok).toBe(data.length);
  return records.map((r) => Buffer.from(r.data!, 'base64').toString('utf8'));
}

interface BulkItem { index: { status: number; error?: unknown } }

async function bulkIndex(index: string, documents: string[]): Promise<BulkItem[]> {
  // Strings in a bulk body are sent verbatim: OpenSearch sees the exact bytes the transform emitted.
  const body = documents.flatMap((d) => ['{"index":{}}', d]) as unknown as Bulk_RequestBody;
  const response = await client.bulk({ index, refresh: 'true', body });
  return (response.body as { items: BulkItem[] }).items;
}

beforeAll(async () => {
  client = createOpenSearchClient({ endpoint: process.env.OPENSEARCH_URL! });
  await removeIndicesAndTemplates(client, prefix);
  await installTemplates(client, { indexPrefix: prefix, replicas: 0 });
});
afterAll(async () => {
  await removeIndicesAndTemplates(client, prefix);
  await client.close();
});

describe('emitted documents in OpenSearch', () => {
  const samples = accessLogLines();
  const adversarial = adversarialLines();

  it('the daily index gets the strict schema mapping from the templates', async () => {
    const index = dayIndex(1);
    await client.indices.create({ index });
    const mapping = await client.indices.getMapping({ index });
    const mappings = (mapping.body as Record<string, { mappings: { dynamic: string; properties: Record<string, unknown> } }>)[index]!.mappings;
    expect(mappings.dynamic).toBe('strict');
    expect(Object.keys(mappings.properties)).toContain('aws');
  });

  it('rejects a document with a field outside the schema (so the next assertion means something)', async () => {
    const [item] = await bulkIndex(dayIndex(2), [JSON.stringify({ '@timestamp': '2024-01-01T00:00:00Z', unknown_field: 1 })]);
    expect(item!.index.status).toBe(400);
    expect(JSON.stringify(item!.index.error)).toContain('strict_dynamic_mapping_exception');
  });

  it.each([
    ['every corpus and sample line, bare', 3, () => emittedDocuments(samples, false)],
    ['every corpus and sample line, enveloped, with event.original', 4, () => emittedDocuments(envelopedLines(samples), true)],
    ['adversarial lines, bare and enveloped, with event.original', 5, () => [
      ...emittedDocuments(adversarial, true),
      ...emittedDocuments(envelopedLines(adversarial), true),
    ]],
  ] as const)('indexes %s with zero item errors', async (_, day, documents) => {
    const docs = documents();
    const items = await bulkIndex(dayIndex(day), docs);
    expect(items).toHaveLength(docs.length);
    const errors = items.filter((item) => item.index.error !== undefined || item.index.status !== 201);
    expect(errors.map((e) => JSON.stringify(e.index.error))).toEqual([]);
  });

  it('keeps log.offset as a number in _source (a locator: not indexed, docs/cost.md)', async () => {
    const index = dayIndex(6);
    const items = await bulkIndex(index, emittedDocuments(envelopedLines([samples[0]!, adversarial[0]!]), false));
    expect(items.map((item) => item.index.status)).toEqual([201, 201]);
    await client.indices.refresh({ index });
    const response = await client.search({ index, body: { size: 10, _source: ['log.offset'], query: { match_all: {} } } });
    const offsets = response.body.hits.hits.map((hit: any) => hit._source?.log?.offset).sort((a: number, b: number) => a - b);
    // Offsets 0 and 1 + the first line's length, as numbers.
    expect(offsets).toEqual([0, Buffer.byteLength(samples[0]!) + 1]);
  });
});
