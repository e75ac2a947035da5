// Indexing benchmark, on the realistic generated mix: the direct loader's CPU per line (what its
// Lambda bills) and the bytes on disk per document, next to the raw line's bytes. The objects are
// indexed by the direct delivery's per-object core with the installed templates, force-merged to
// one segment, then `_stats` store size / doc count. The baseline of the same run: the same lines as a flat,
// dynamically mapped document with every value a string (what the old walkthrough indexed).
// ALBATROSS_BENCH_INDEXING_LINES (default 100,000).
import { randomBytes } from 'node:crypto';
import { createGunzip, gunzipSync } from 'node:zlib';
import type { Client } from '@opensearch-project/opensearch';
import { parseAlbLineToJson } from '../../transform/parser/index.ts';
import type { Bench, BenchResult } from './index.ts';

/** Fields of the old walkthrough's flat document, in log order (every value a string). */
const FLAT_FIELDS = [
  'type', 'time', 'elb', 'client', 'target', 'request_processing_time', 'target_processing_time', 'response_processing_time',
  'elb_status_code', 'target_status_code', 'received_bytes', 'sent_bytes', 'request', 'user_agent', 'ssl_cipher', 'ssl_protocol',
  'target_group_arn', 'trace_id', 'domain_name', 'chosen_cert_arn', 'matched_rule_priority', 'request_creation_time',
  'actions_executed', 'redirect_url', 'error_reason', 'target_port_list', 'target_status_code_list', 'classification',
  'classification_reason', 'conn_trace_id',
];

/** ALB's space-separated fields, quotes respected (the old walkthrough's split). */
function flatDocument(line: string): string {
  const values = line.match(/"[^"]*"|\S+/g) ?? [];
  const document: Record<string, string> = {};
  FLAT_FIELDS.forEach((name, i) => {
    const value = values[i];
    if (value !== undefined) document[name] = value.replace(/^"|"$/g, '');
  });
  return JSON.stringify(document);
}

export interface StoredSize { docs: number; bytes: number }

/**
 * Force-merges `index` (a name or pattern) to one segment per shard and measures it; with `sources`, first
 * indexes them into a fresh index of that name (settings/mappings from its templates, or `body`).
 */
export async function storedSize(client: Client, index: string, sources?: string[], body?: Record<string, unknown>): Promise<StoredSize> {
  if (sources) await client.indices.create({ index, body: { ...body, settings: { ...(body?.['settings'] as object), number_of_replicas: 0, refresh_interval: -1 } } as never });
  try {
    for (let i = 0; i < (sources?.length ?? 0); i += 5000) {
      const chunk = sources!.slice(i, i + 5000);
      const ndjson = chunk.map((source, j) => `{"index":{"_index":${JSON.stringify(index)},"_id":"${i + j}"}}\n${source}\n`).join('');
      const response = await client.bulk({ body: ndjson, filter_path: 'errors,items.*.error' } as never);
      if ((response.body as { errors?: boolean }).errors) throw new Error(`bulk into ${index} had item errors: ${JSON.stringify(response.body).slice(0, 500)}`);
    }
    await client.indices.refresh({ index });
    await client.indices.forcemerge({ index, max_num_segments: 1 } as never, { requestTimeout: 600_000 });
    // The merged-away segments' files go once a commit no longer references them.
    await client.indices.flush({ index, force: true } as never);
    await client.indices.refresh({ index });
    const segments = await client.indices.segments({ index } as never);
    const shards = Object.values((segments.body as any).indices as Record<string, { shards: Record<string, { num_search_segments: number }[]> }>)
      .flatMap((i) => Object.values(i.shards).flat());
    if (shards.some((s) => s.num_search_segments !== 1)) throw new Error(`${index} has more than one segment per shard after the force merge`);
    const stats = await client.indices.stats({ index, metric: ['store', 'docs'] } as never);
    const primaries = (stats.body as any)._all.primaries;
    return { docs: primaries.docs.count, bytes: primaries.store.size_in_bytes };
  } finally {
    await client.indices.delete({ index }).catch(() => undefined);
  }
}

/** The generated mix (one day of traffic), as gzip objects. */
async function generatedMix(lines: number) {
  const { generateObjects } = await import('../local/generator.ts');
  return [...generateObjects({ lines, days: 1, seed: 7, badLines: 0, end: new Date('2026-06-01T00:00:00Z') })];
}

export const bench: Bench = {
  name: 'indexing',
  async run(): Promise<BenchResult> {
    const { getOpenSearch } = await import('../opensearch-local/engine.ts');
    const { createOpenSearchClient } = await import('../../templates/opensearch-client.ts');
    const { installTemplates } = await import('../../templates/install.ts');
    const { indexLines } = await import('../../transform/bulk-index/index-lines.ts');
    const { Semaphore } = await import('../../transform/semaphore.ts');
    const { lambdaMs, MEASURED } = await import('../cost/model.ts');
    const count = Number(process.env.ALBATROSS_BENCH_INDEXING_LINES ?? 100_000);
    const engine = await getOpenSearch();
    const client = createOpenSearchClient({ endpoint: engine.url });
    const prefix = `bench-indexing-${randomBytes(4).toString('hex')}`;
    try {
      await installTemplates(client, { indexPrefix: prefix, replicas: 0, log: () => undefined });
      const objects = await generatedMix(count);
      const texts = objects.map((o) => gunzipSync(o.body).toString('utf8'));
      const lines = texts.flatMap((t) => t.split('\n').filter(Boolean));
      const rawBytes = lines.reduce((sum, l) => sum + Buffer.byteLength(l) + 1, 0);
      const lineBytes = rawBytes / lines.length;

      // The parser alone on the same lines: the floor of any delivery's CPU per line.
      const parseStart = process.cpuUsage();
      for (const line of lines) parseAlbLineToJson(line, { source: { bucket: 'albatross-bench', key: 'k', offset: 0 } });
      const parseCpu = process.cpuUsage(parseStart);
      // The direct loader's per-object work (gunzip, split, parse, `_bulk` bodies, the HTTP round
      // trips) on this process's CPU; the engine is another process and is not counted.
      const bulkSlots = new Semaphore(2);
      const directStart = process.cpuUsage();
      const results = await Promise.all(objects.map(async (object) => {
        const gunzip = createGunzip({ chunkSize: 256 * 1024 });
        gunzip.end(object.body);
        return indexLines(gunzip, { client, indexPrefix: prefix, lineSource: { bucket: 'albatross-bench', key: object.key }, bulkSlots });
      }));
      const directCpu = process.cpuUsage(directStart);
      const indexed = results.reduce((sum, r) => sum + r.indexed, 0);
      if (indexed !== lines.length) throw new Error(`indexed ${indexed} of ${lines.length} lines`);
      const msPerMillion = (cpu: NodeJS.CpuUsage) => (cpu.user + cpu.system) / 1000 / lines.length * 1e6;

      const typed = await storedSize(client, `${prefix}-*`);
      const flat = await storedSize(client, `flat-${prefix}`, lines.map(flatDocument));
      const perDoc = typed.bytes / typed.docs;
      const loaderMemory = 1024;
      return {
        name: 'indexing',
        figures: [
          { metric: 'bytes on disk per document after force merge', value: perDoc, unit: 'B', baseline: lineBytes, baselineName: 'raw line', target: '<= 0.5x raw line', met: perDoc <= 0.5 * lineBytes },
          { metric: 'flat all-string document, dynamic mapping (old walkthrough)', value: flat.bytes / flat.docs, unit: 'B', baseline: lineBytes, baselineName: 'raw line' },
          { metric: 'direct loader CPU per million lines (engine excluded)', value: msPerMillion(directCpu), unit: 'ms', baseline: msPerMillion(parseCpu), baselineName: 'parser alone' },
          { metric: `direct loader Lambda ms per million lines at ${loaderMemory} MB`, value: lambdaMs(msPerMillion(directCpu), loaderMemory), unit: 'ms', baseline: MEASURED.loaderDirectCpuMsPerMillion / Math.min(1, loaderMemory / 1769), baselineName: 'cost model (scripts/cost/model.ts)' },
        ],
        notes: [`${typed.docs.toLocaleString('en-US')} documents of the generated mix, mean raw line ${lineBytes.toFixed(0)} bytes`],
      };
    } finally {
      await client.close();
      await engine.stop();
    }
  },
};
