// Upgrading onto existing daily indices (real embedded engine): an index created with the mapping
// of an older schema (here: without the enrichment fields, and its smaller total_fields limit)
// rejects documents carrying the new fields until setup adds them; after setup it accepts them.
import type { Client } from '@opensearch-project/opensearch';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createOpenSearchClient } from '../../templates/opensearch-client.ts';
import { installTemplates } from '../../templates/install.ts';
import { countMappedFields, TOTAL_FIELDS_HEADROOM } from '../../templates/render.ts';
import { sharedEnricher } from '../../transform/enrich/data.ts';
import { parseAlbLineToJson } from '../../transform/parser/index.ts';
import { SCHEMA_FIELDS } from '../../transform/schema/fields.ts';
import { buildMappings } from '../../transform/schema/mapping.ts';
import { removeIndicesAndTemplates } from '../opensearch-cleanup.ts';

const prefix = `t7-upgrade-${process.pid}`;
const oldIndex = `${prefix}-2026-01-01`;
let client: Client;

const ENRICHED = /^(source\.geo\.|source\.as\.|user_agent\.(name|version|os\.|device\.))/;
const oldFields = SCHEMA_FIELDS.filter((field) => !ENRICHED.test(field.path));
const line = 'https 2026-01-01T10:00:00.123456Z app/my-alb/0123456789abcdef 81.2.69.193:50718 10.0.0.5:80 0.001 0.002 0.000 200 200 512 1024 ' +
  '"GET https://example.com:443/a HTTP/1.1" "curl/8.5.0" - - arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/tg/0123456789abcdef ' +
  '"Root=1-6566e3a0-0123456789abcdef01234567" "-" "-" 0';

async function indexDocument(): Promise<{ status: number; error?: { type: string } }> {
  const parsed = parseAlbLineToJson(line, { enrich: sharedEnricher('all') });
  if (parsed.kind !== 'document') throw new Error(parsed.kind);
  const response = await client.transport.request({ method: 'POST', path: `/${oldIndex}/_doc`, body: parsed.json }, { ignore: [400] });
  return { status: response.statusCode!, error: (response.body as { error?: { type: string } }).error };
}

beforeAll(async () => {
  client = createOpenSearchClient({ endpoint: process.env.OPENSEARCH_URL! });
  await removeIndicesAndTemplates(client, prefix);
  const limit = countMappedFields(buildMappings(oldFields)) + TOTAL_FIELDS_HEADROOM;
  await client.indices.create({
    index: oldIndex,
    body: { settings: { number_of_replicas: 0, 'index.mapping.total_fields.limit': limit }, mappings: buildMappings(oldFields) as never },
  });
});
afterAll(async () => {
  await removeIndicesAndTemplates(client, prefix);
  await client.close();
});

describe('setup on existing indices of an older schema', () => {
  it('adds the new fields to them, so enriched documents are accepted there; a second run changes nothing', async () => {
    const before = await indexDocument();
    expect(before.status).toBe(400);
    expect(before.error?.type).toBe('strict_dynamic_mapping_exception');

    const report = await installTemplates(client, { indexPrefix: prefix, replicas: 0 });
    const step = report.steps.find((s) => s.step.startsWith('mappings of existing'));
    expect(step).toMatchObject({ outcome: 'updated' });
    expect(step!.detail).toContain(oldIndex);

    const after = await indexDocument();
    expect(after).toEqual({ status: 201, error: undefined });
    const mapping = await client.indices.getFieldMapping({ index: oldIndex, fields: 'source.geo.location' });
    expect(JSON.stringify(mapping.body)).toContain('"type":"geo_point"');

    const again = await installTemplates(client, { indexPrefix: prefix, replicas: 0 });
    expect(again.steps.find((s) => s.step.startsWith('mappings of existing'))).toMatchObject({ outcome: 'unchanged' });
  });
});
