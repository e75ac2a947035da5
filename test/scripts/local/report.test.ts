// The accounting queries against the real engine: scoping a summary to a set of object paths.
import { Client } from '@opensearch-project/opensearch';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { countDocuments, countDuplicates, fromPaths, MAX_TERMS, refresh } from '../../../scripts/local/report.ts';

const client = new Client({ node: process.env.OPENSEARCH_URL! });
const index = `report-test-${Date.now()}`;
const paths = ['s3://logs/a.log.gz', 's3://logs/b.log.gz', 's3://logs/c.log.gz'];

beforeAll(async () => {
  await client.indices.create({ index, body: { mappings: { properties: { log: { properties: { file: { properties: { path: { type: 'keyword' } } } } }, event: { properties: { id: { type: 'keyword' } } } } } } });
  const docs = [
    { log: { file: { path: paths[0] } }, event: { id: 'x' } },
    { log: { file: { path: paths[0] } }, event: { id: 'x' } }, // a duplicate inside the scope
    { log: { file: { path: paths[1] } }, event: { id: 'y' } },
    { log: { file: { path: paths[2] } }, event: { id: 'z' } },
  ];
  await client.bulk({ body: docs.flatMap((d) => [{ index: { _index: index } }, d]) });
  await refresh(client, index);
});

afterAll(async () => {
  await client.indices.delete({ index }, { ignore: [404] });
  await client.close();
});

describe('fromPaths', () => {
  it('scopes to the exact paths given', async () => {
    expect(await countDocuments(client, index, fromPaths([paths[0]!, paths[2]!]))).toBe(3);
    expect(await countDuplicates(client, index, fromPaths([paths[0]!]))).toBe(1);
    expect(await countDuplicates(client, index, fromPaths([paths[1]!, paths[2]!]))).toBe(0);
  });

  it('accepts more paths than one terms query may carry (the engine refuses a single terms query of that size)', async () => {
    const many = Array.from({ length: MAX_TERMS + 10 }, (_, i) => `s3://logs/other-${i}.log.gz`);
    many.splice(MAX_TERMS + 3, 0, paths[1]!); // one real path past the first chunk
    many.splice(5, 0, paths[2]!);             // and one inside it
    await expect(countDocuments(client, index, { terms: { 'log.file.path': many } })).rejects.toThrow(/terms/i);
    expect(await countDocuments(client, index, fromPaths(many))).toBe(2);
    expect(await countDuplicates(client, index, fromPaths(many))).toBe(0);
  });
});
