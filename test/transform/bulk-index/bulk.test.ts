// The backfill's `_bulk` body and outcome against the real engine: documents are encoded once into
// one NDJSON buffer (multi-byte UTF-8, buffer growth), a retry body holds exactly the pending
// documents, and a document the engine refuses is reported by its position with the engine's reason.
import { Client } from '@opensearch-project/opensearch';
import { afterAll, describe, expect, it } from 'vitest';
import { BulkBatch, bulkIndex } from '../../../transform/bulk-index/bulk.ts';
import { faultyBulkSender } from '../../../scripts/local/bulk-faults.ts';

const client = new Client({ node: process.env.OPENSEARCH_URL! });
const index = `bulk-test-${Date.now()}`;

afterAll(async () => {
  await client.indices.delete({ index: `${index},${index}-throttles` }, { ignore: [404] });
  await client.close();
});

function lines(body: Buffer): unknown[] {
  return body.toString('utf8').trimEnd().split('\n').map((l) => JSON.parse(l));
}

describe('BulkBatch', () => {
  const documents = [
    { id: 'a-0', source: JSON.stringify({ n: 1, text: 'plain' }) },
    { id: 'b-1', source: JSON.stringify({ n: 2, text: 'zürich → 東京 😀' }) },
    { id: 'c-2', source: JSON.stringify({ n: 3, text: 'x'.repeat(5000) }) },
  ];

  it('encodes every document once into one NDJSON body, growing past its first size', () => {
    const batch = new BulkBatch(16);
    const positions = documents.map((d) => batch.add(index, d.id, d.source));
    expect(positions).toEqual([0, 1, 2]);
    expect(batch.size).toBe(3);
    const expected = documents.flatMap((d) => [{ index: { _index: index, _id: d.id } }, JSON.parse(d.source)]);
    expect(lines(batch.body())).toEqual(expected);
    expect(batch.bytes).toBe(batch.body().length);
    expect(batch.bytes).toBe(documents.reduce((sum, d) => sum + Buffer.byteLength(`{"index":{"_index":"${index}","_id":"${d.id}"}}\n${d.source}\n`), 0));
  });

  it('a retry body holds exactly the pending documents', () => {
    const batch = new BulkBatch();
    for (const d of documents) batch.add(index, d.id, d.source);
    expect(lines(batch.body([2, 1]))).toEqual([
      { index: { _index: index, _id: 'c-2' } }, JSON.parse(documents[2]!.source),
      { index: { _index: index, _id: 'b-1' } }, JSON.parse(documents[1]!.source),
    ]);
  });
});

describe('bulkIndex', () => {
  it('indexes with _id, counts overwrites, and reports a refused document by position with the reason', async () => {
    await client.indices.create({ index, body: { mappings: { properties: { n: { type: 'integer' } } } } });
    const batch = new BulkBatch();
    batch.add(index, 'one', JSON.stringify({ n: 1 }));
    batch.add(index, 'bad', JSON.stringify({ n: 'not a number' }));
    batch.add(index, 'two', JSON.stringify({ n: 2 }));
    const first = await bulkIndex(client, batch);
    expect(first).toMatchObject({ indexed: 2, overwritten: 0, retries: 0 });
    expect(first.failures).toHaveLength(1);
    expect(first.failures[0]!.document).toBe(1);
    expect(first.failures[0]!.reason).toMatch(/^400 mapper_parsing_exception: /);

    const again = new BulkBatch();
    again.add(index, 'two', JSON.stringify({ n: 22 }));
    expect(await bulkIndex(client, again)).toEqual({ indexed: 1, overwritten: 1, failures: [], retries: 0, throttles: 0 });
    const stored = await client.get({ index, id: 'two' });
    expect((stored.body as { _source: unknown })._source).toEqual({ n: 22 });
  });

  it('counts the 429 answers it backs off from, whole requests and items alike (the worker\'s Throttles metric)', async () => {
    // The engine's 429s are injected (the local demo's fault sender around the real `_bulk`): the
    // embedded engine cannot be made to throttle on demand.
    const { send, stats } = faultyBulkSender({ throttleRate: 0.5, rejectRate: 0.3, seed: 7 });
    const batch = new BulkBatch();
    // its own index, so the test before it (which creates `index` with a mapping) may run in any order
    for (let i = 0; i < 20; i++) batch.add(`${index}-throttles`, `t-${i}`, JSON.stringify({ n: i }));
    const outcome = await bulkIndex(client, batch, { send, retryWindowMs: 60_000 });
    expect(outcome.indexed).toBe(20);
    expect(outcome.failures).toEqual([]);
    expect(stats.throttled + stats.rejectedItems).toBeGreaterThan(0);
    expect(outcome.throttles).toBe(stats.throttled + stats.rejectedItems);
    expect(outcome.retries).toBeGreaterThan(0);
  }, 120_000);
});
