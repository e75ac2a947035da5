// Queries that account for a run and answer a few questions from the indexed data; shared by
// `npm run demo` and `albatross backfill`. Every query can be scoped to the documents of one
// run (e.g. one bucket) so earlier data in the same indices does not blur the accounting.
import type { Client } from '@opensearch-project/opensearch';

export type Query = Record<string, unknown>;

export interface IndexCount { index: string; docs: number }
export interface Bucket { key: string; count: number }
export interface DataAnswers {
  statusClasses: Bucket[];             // 1xx..5xx (load balancer status), plus 'none'
  latencyMs: { p50: number | null; p99: number | null };  // event.duration
  topPaths: Bucket[];
  topClients: Bucket[];
  /** source.geo.country_name (enrichment; empty when it was off). */
  topCountries: Bucket[];
  /** source.as.organization.name and user_agent.name (enrichment; empty when it was off). */
  topNetworks: Bucket[];
  topUserAgents: Bucket[];
}

/** Documents whose log.file.path starts with `pathPrefix` (e.g. `s3://bucket/`). */
export function fromSource(pathPrefix: string): Query {
  return { prefix: { 'log.file.path': pathPrefix } };
}

/** OpenSearch's default `index.max_terms_count`: the most values one `terms` query may carry. */
export const MAX_TERMS = 65_536;

/**
 * Documents whose log.file.path is one of `paths` exactly (e.g. a replay's original objects). Past
 * MAX_TERMS paths the values are split over several `terms` queries, any of which may match, so
 * the engine's per-query limit is never hit.
 */
export function fromPaths(paths: readonly string[]): Query {
  if (paths.length <= MAX_TERMS) return { terms: { 'log.file.path': paths } };
  const should: Query[] = [];
  for (let start = 0; start < paths.length; start += MAX_TERMS) should.push({ terms: { 'log.file.path': paths.slice(start, start + MAX_TERMS) } });
  return { bool: { should, minimum_should_match: 1 } };
}

interface SearchBody {
  hits?: { total?: { value: number } | number };
  aggregations?: Record<string, any>;
  count?: number;
}

async function search(client: Client, index: string, body: Query): Promise<SearchBody> {
  const response = await client.search({ index, body, ignore_unavailable: true, allow_no_indices: true } as never);
  return response.body as SearchBody;
}

export async function refresh(client: Client, index: string): Promise<void> {
  await client.indices.refresh({ index, ignore_unavailable: true, allow_no_indices: true } as never);
}

export async function countDocuments(client: Client, index: string, query: Query = { match_all: {} }): Promise<number> {
  const response = await client.count({ index, body: { query }, ignore_unavailable: true, allow_no_indices: true } as never);
  return (response.body as { count: number }).count;
}

/** Indices matching `index` that hold documents of `query`, with their counts. */
export async function indexCounts(client: Client, index: string, query: Query = { match_all: {} }): Promise<IndexCount[]> {
  const body = await search(client, index, {
    size: 0,
    query,
    aggs: { indices: { terms: { field: '_index', size: 1000, order: { _key: 'asc' } } } },
  });
  return (body.aggregations?.indices?.buckets ?? []).map((b: { key: string; doc_count: number }) => ({ index: b.key, docs: b.doc_count }));
}

/**
 * Extra documents sharing an event.id (sum of count-1 over ids seen more than once). Exact: a
 * composite aggregation pages through every id, unlike `cardinality`, which is approximate.
 */
export async function countDuplicates(client: Client, index: string, query: Query = { match_all: {} }): Promise<number> {
  let duplicates = 0;
  let after: Record<string, unknown> | undefined;
  for (;;) {
    const body = await search(client, index, {
      size: 0,
      query,
      aggs: {
        ids: {
          composite: { size: 10_000, sources: [{ id: { terms: { field: 'event.id' } } }], ...(after ? { after } : {}) },
        },
      },
    });
    const ids = body.aggregations?.ids;
    const buckets: { doc_count: number }[] = ids?.buckets ?? [];
    for (const b of buckets) if (b.doc_count > 1) duplicates += b.doc_count - 1;
    if (buckets.length === 0 || !ids.after_key) return duplicates;
    after = ids.after_key;
  }
}

export async function answersFromData(client: Client, index: string, query: Query = { match_all: {} }, top = 5): Promise<DataAnswers> {
  const body = await search(client, index, {
    size: 0,
    query,
    aggs: {
      status: {
        range: {
          field: 'http.response.status_code',
          ranges: [
            { key: '1xx', from: 100, to: 200 },
            { key: '2xx', from: 200, to: 300 },
            { key: '3xx', from: 300, to: 400 },
            { key: '4xx', from: 400, to: 500 },
            { key: '5xx', from: 500, to: 600 },
          ],
        },
      },
      noStatus: { missing: { field: 'http.response.status_code' } },
      latency: { percentiles: { field: 'event.duration', percents: [50, 99] } },
      paths: { terms: { field: 'url.path', size: top } },
      clients: { terms: { field: 'source.ip', size: top } },
      countries: { terms: { field: 'source.geo.country_name', size: top } },
      networks: { terms: { field: 'source.as.organization.name', size: top } },
      userAgents: { terms: { field: 'user_agent.name', size: top } },
    },
  });
  const aggs = body.aggregations ?? {};
  const statusClasses: Bucket[] = (aggs.status?.buckets ?? []).map((b: { key: string; doc_count: number }) => ({ key: b.key, count: b.doc_count }));
  if ((aggs.noStatus?.doc_count ?? 0) > 0) statusClasses.push({ key: 'none', count: aggs.noStatus.doc_count });
  const percentile = (p: string): number | null => {
    const v = aggs.latency?.values?.[p];
    return typeof v === 'number' ? v / 1e6 : null; // nanoseconds -> ms
  };
  const buckets = (agg: { buckets?: { key: string | number; key_as_string?: string; doc_count: number }[] } | undefined): Bucket[] =>
    (agg?.buckets ?? []).map((b) => ({ key: b.key_as_string ?? String(b.key), count: b.doc_count }));
  return {
    statusClasses,
    latencyMs: { p50: percentile('50.0'), p99: percentile('99.0') },
    topPaths: buckets(aggs.paths),
    topClients: buckets(aggs.clients),
    topCountries: buckets(aggs.countries),
    topNetworks: buckets(aggs.networks),
    topUserAgents: buckets(aggs.userAgents),
  };
}

/** What the connection and health-check families say: failed handshakes and failing targets, by reason. */
export interface OtherAnswers {
  handshakeFailures: Bucket[];      // connection logs by aws.elb.error.reason
  failingTargets: Bucket[];         // health-check failures by destination.address
  healthFailureReasons: Bucket[];   // health-check failures by aws.elb.error.reason
}

export async function otherAnswersFromData(client: Client, connectionIndex: string, healthIndex: string, query: Query = { match_all: {} }, top = 5): Promise<OtherAnswers> {
  const failures = { bool: { filter: [query, { term: { 'event.outcome': 'failure' } }] } };
  const buckets = (agg: { buckets?: { key: string | number; doc_count: number }[] } | undefined): Bucket[] =>
    (agg?.buckets ?? []).map((b) => ({ key: String(b.key), count: b.doc_count }));
  const connection = await search(client, connectionIndex, { size: 0, query: failures, aggs: { reasons: { terms: { field: 'aws.elb.error.reason', size: top } } } });
  const health = await search(client, healthIndex, {
    size: 0, query: failures,
    aggs: { targets: { terms: { field: 'destination.address', size: top } }, reasons: { terms: { field: 'aws.elb.error.reason', size: top } } },
  });
  return {
    handshakeFailures: buckets(connection.aggregations?.reasons),
    failingTargets: buckets(health.aggregations?.targets),
    healthFailureReasons: buckets(health.aggregations?.reasons),
  };
}

function number(n: number): string {
  return n.toLocaleString('en-US');
}

/** Human-readable lines for the answers block of a summary. */
export function formatAnswers(answers: DataAnswers): string[] {
  const total = answers.statusClasses.reduce((sum, b) => sum + b.count, 0) || 1;
  const ms = (v: number | null) => (v === null ? 'n/a' : `${v.toFixed(1)} ms`);
  const list = (buckets: Bucket[]) => buckets.map((b) => `    ${b.key.padEnd(40)} ${number(b.count).padStart(10)}`);
  return [
    'status classes (load balancer):',
    ...answers.statusClasses.map((b) => `    ${b.key.padEnd(6)} ${number(b.count).padStart(10)}  ${((100 * b.count) / total).toFixed(1).padStart(5)} %`),
    `latency (event.duration): p50 ${ms(answers.latencyMs.p50)}, p99 ${ms(answers.latencyMs.p99)}`,
    'top paths:',
    ...list(answers.topPaths),
    'top clients:',
    ...list(answers.topClients),
    // enrichment breakdowns, when the documents carry them
    ...(answers.topCountries.length > 0 ? ['top countries:', ...list(answers.topCountries)] : []),
    ...(answers.topNetworks.length > 0 ? ['top networks:', ...list(answers.topNetworks)] : []),
    ...(answers.topUserAgents.length > 0 ? ['top browsers and clients:', ...list(answers.topUserAgents)] : []),
  ];
}

/** Human-readable lines for the connection and health-check answers. */
export function formatOtherAnswers(answers: OtherAnswers): string[] {
  const list = (buckets: Bucket[]) => (buckets.length === 0 ? ['    (none)'] : buckets.map((b) => `    ${b.key.padEnd(40)} ${number(b.count).padStart(10)}`));
  return [
    'failed TLS handshakes by reason (connection logs):',
    ...list(answers.handshakeFailures),
    'failing health-check targets:',
    ...list(answers.failingTargets),
    'health-check failures by reason:',
    ...list(answers.healthFailureReasons),
  ];
}
