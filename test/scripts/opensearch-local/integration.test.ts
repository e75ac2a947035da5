// Proof that the engine from test/global-setup.ts is a real OpenSearch: a composable
// index template, typed documents bulk-indexed into two daily indices it matches, and a
// search plus terms and percentiles aggregations across both, checked against the
// values computed from the same documents.
import { randomUUID } from 'node:crypto';
import { Client, type API } from '@opensearch-project/opensearch';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';

interface LogDoc {
  '@timestamp': string;
  client: { ip: string };
  http: { request: { method: string }; response: { body: { bytes: number } } };
  aws: { elb: { name: string } };
}

const url = process.env.OPENSEARCH_URL!;
const client = new Client({ node: url });
// Unique per run: other test files and the shared dev engine may hold indices too.
const prefix = `it-${randomUUID().slice(0, 8)}`;
const templateName = `${prefix}-template`;
const days = ['2026-11-25', '2026-11-26'] as const;
const methods = ['GET', 'GET', 'GET', 'POST', 'PUT'] as const;

/** 60 documents, alternating between the two days, with nanosecond timestamps that only differ in the last digits. */
const docs: LogDoc[] = Array.from({ length: 60 }, (_, i) => {
  const day = days[i % 2]!;
  const seconds = String(i % 60).padStart(2, '0');
  const nanos = String((i * 7_654_321 + 123) % 1_000_000_000).padStart(9, '0');
  return {
    '@timestamp': `${day}T23:59:${seconds}.${nanos}Z`,
    client: { ip: i % 6 === 0 ? `2001:db8::${i.toString(16)}` : `10.0.${i % 4}.${i}` },
    http: { request: { method: methods[i % methods.length]! }, response: { body: { bytes: ((i * 37) % 1000) + 1 } } },
    aws: { elb: { name: `app/alb-${i % 3}/0123456789abcdef` } },
  };
});
/** Nanoseconds since the epoch of an RFC 3339 UTC timestamp (OpenSearch drops trailing zeros of the fraction). */
function epochNanos(timestamp: string): bigint {
  const match = /^(.+T\d\d:\d\d:\d\d)(?:\.(\d{1,9}))?Z$/.exec(timestamp);
  if (!match) throw new Error(`not a UTC timestamp: ${timestamp}`);
  return BigInt(Date.parse(`${match[1]}Z`)) * 1_000_000n + BigInt((match[2] ?? '').padEnd(9, '0'));
}
const indexOf = (doc: LogDoc) => `${prefix}-${doc['@timestamp'].slice(0, 10)}`;

beforeAll(async () => {
  await client.indices.putIndexTemplate({
    name: templateName,
    body: {
      index_patterns: [`${prefix}-*`],
      template: {
        settings: { number_of_shards: 1 },
        mappings: {
          dynamic: 'strict',
          properties: {
            '@timestamp': { type: 'date_nanos' },
            client: { properties: { ip: { type: 'ip' } } },
            http: {
              properties: {
                request: { properties: { method: { type: 'keyword' } } },
                response: { properties: { body: { properties: { bytes: { type: 'long' } } } } },
              },
            },
            aws: { properties: { elb: { properties: { name: { type: 'keyword' } } } } },
          },
        },
      },
    },
  });
  const body = docs.flatMap((doc) => [{ create: { _index: indexOf(doc) } }, doc]);
  const response = await client.bulk({ body, refresh: true });
  expect(response.body.errors).toBe(false);
});

afterAll(async () => {
  await client.indices.delete({ index: `${prefix}-*` });
  await client.indices.deleteIndexTemplate({ name: templateName });
});

describe('embedded OpenSearch', () => {
  test('the template created both daily indices with its mapping', async () => {
    const { body } = await client.indices.getMapping({ index: `${prefix}-*` });
    expect(Object.keys(body).sort()).toEqual(days.map((day) => `${prefix}-${day}`));
    for (const index of Object.values(body)) {
      const properties = index.mappings.properties!;
      expect(properties['@timestamp']).toEqual({ type: 'date_nanos' });
      expect(index.mappings.dynamic).toBe('strict');
    }
  });

  test('a strict mapping rejects a field the template does not know', async () => {
    const response = await client.index(
      { index: `${prefix}-${days[0]}`, body: { ...docs[0], unknown_field: 1 } },
      { ignore: [400] },
    );
    expect(response.statusCode).toBe(400);
    expect(JSON.stringify(response.body)).toContain('strict_dynamic_mapping_exception');
  });

  test('a search across both indices keeps nanosecond precision and filters on ip and time', async () => {
    const expected = docs
      .filter((doc) => doc.client.ip.startsWith('10.0.') && doc['@timestamp'] >= '2026-11-25T23:59:30.000000001Z')
      .sort((a, b) => (a['@timestamp'] < b['@timestamp'] ? -1 : 1));
    expect(expected.length).toBeGreaterThan(5);

    const { body } = await client.search({
      index: `${prefix}-*`,
      body: {
        size: 100,
        track_total_hits: true,
        query: {
          bool: {
            filter: [
              { term: { 'client.ip': '10.0.0.0/16' } },
              { range: { '@timestamp': { gte: '2026-11-25T23:59:30.000000001Z' } } },
            ],
          },
        },
        sort: [{ '@timestamp': 'asc' }],
        docvalue_fields: [{ field: '@timestamp', format: 'strict_date_optional_time_nanos' }],
        _source: false,
      },
    });
    const total = body.hits.total;
    expect(typeof total === 'number' ? total : total?.value).toBe(expected.length);
    const timestamps = body.hits.hits.map((hit) => (hit.fields as Record<string, string[]>)['@timestamp']![0]!);
    expect(timestamps.map(epochNanos)).toEqual(expected.map((doc) => epochNanos(doc['@timestamp'])));
    expect(new Set(body.hits.hits.map((hit) => hit._index))).toEqual(new Set(days.map((day) => `${prefix}-${day}`)));
  });

  test('terms and percentiles aggregations over both indices match the documents', async () => {
    // The client's typings (3.x) leave `field` out of the terms and percentiles aggregation types.
    const aggs = {
      methods: { terms: { field: 'http.request.method' } },
      per_index: { terms: { field: '_index' } },
      bytes: { percentiles: { field: 'http.response.body.bytes', percents: [0, 50, 100] } },
    } as API.Search_RequestBody['aggs'];
    const request: API.Search_Request = { index: `${prefix}-*`, body: { size: 0, aggs } };
    const { body } = await client.search(request);
    const aggregations = body.aggregations as Record<string, any>;

    const methodCounts = new Map<string, number>();
    for (const doc of docs) methodCounts.set(doc.http.request.method, (methodCounts.get(doc.http.request.method) ?? 0) + 1);
    const buckets = aggregations.methods.buckets as Array<{ key: string; doc_count: number }>;
    expect(new Map(buckets.map((bucket) => [bucket.key, bucket.doc_count]))).toEqual(methodCounts);
    expect(buckets[0]!.key).toBe('GET'); // ordered by count

    const indexBuckets = aggregations.per_index.buckets as Array<{ key: string; doc_count: number }>;
    expect(indexBuckets.map((bucket) => [bucket.key, bucket.doc_count]).sort()).toEqual(
      days.map((day) => [`${prefix}-${day}`, docs.filter((doc) => doc['@timestamp'].startsWith(day)).length]),
    );

    const bytes = docs.map((doc) => doc.http.response.body.bytes).sort((a, b) => a - b);
    const values = aggregations.bytes.values as Record<string, number>;
    expect(values['0.0']).toBe(bytes[0]);
    expect(values['100.0']).toBe(bytes.at(-1));
    // t-digest interpolates between neighbouring samples around the median.
    expect(values['50.0']).toBeGreaterThanOrEqual(bytes[Math.floor(bytes.length * 0.45)]!);
    expect(values['50.0']).toBeLessThanOrEqual(bytes[Math.ceil(bytes.length * 0.55)]!);
  });
});
