// Pipeline benchmark: end-to-end documents/s of the demo pipeline (local S3 -> loader -> local
// Firehose -> transform -> _bulk) and of the backfill (folder -> parse -> _bulk), next to the
// ceiling measured in the same run on the same engine: `_bulk` of the already-rendered documents,
// with the same request size and parallelism and nothing in front. The ceiling is measured before,
// between and after the two runs; each run is compared with the mean of the two ceilings around
// it, so a drifting machine load (shared 2-core hosts) hits both sides of the ratio alike.
// ALBATROSS_BENCH_PIPELINE_LINES sets the size (default 100,000 lines).
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import type { Client } from '@opensearch-project/opensearch';
import type { Bench, BenchResult } from './index.ts';

const BULK_BYTES = 5 * 2 ** 20;     // the delivery stream's and backfill's request size
const PARALLEL = 2;                 // deliveries / objects in flight in both runs

interface Rendered { index: string; id: string; source: string }

/** The ceiling: the same documents, rendered beforehand, `_bulk`ed with PARALLEL requests in flight. */
async function bulkCeiling(client: Client, documents: Rendered[]): Promise<number> {
  const bodies: string[] = [];
  let body = '';
  for (const d of documents) {
    body += `{"index":{"_index":${JSON.stringify(d.index)},"_id":${JSON.stringify(d.id)}}}\n${d.source}\n`;
    if (body.length >= BULK_BYTES) {
      bodies.push(body);
      body = '';
    }
  }
  if (body) bodies.push(body);
  const started = performance.now();
  let next = 0;
  const worker = async () => {
    while (next < bodies.length) {
      const response = await client.bulk({ body: bodies[next++]!, filter_path: 'errors' } as never);
      if ((response.body as { errors?: boolean }).errors) throw new Error('ceiling _bulk had item errors');
    }
  };
  await Promise.all(Array.from({ length: PARALLEL }, worker));
  return documents.length / ((performance.now() - started) / 1000);
}

export const bench: Bench = {
  name: 'pipeline',
  async run(): Promise<BenchResult> {
    process.env.POWERTOOLS_LOG_LEVEL = 'SILENT';
    process.env.POWERTOOLS_METRICS_DISABLED = 'true';
    const { getOpenSearch } = await import('../opensearch-local/engine.ts');
    const { createOpenSearchClient } = await import('../../templates/opensearch-client.ts');
    const { installTemplates } = await import('../../templates/install.ts');
    const { generateObjects, generateToDirectory } = await import('../local/generator.ts');
    const { runPipeline } = await import('../local/pipeline.ts');
    const { runBackfill } = await import('../backfill/run.ts');
    const { folderSource } = await import('../backfill/sources.ts');
    const { parseAlbLine } = await import('../../transform/parser/index.ts');

    const lines = Number(process.env.ALBATROSS_BENCH_PIPELINE_LINES ?? 100_000);
    const generate = { lines, days: 1, seed: 99, files: Math.max(2, Math.ceil(lines / 25_000)), end: new Date('2026-01-01T00:00:00Z') };
    const engine = await getOpenSearch();
    const client = createOpenSearchClient({ endpoint: engine.url });
    const stamp = Date.now();
    const prefixes = { ceiling: `bench-ceiling-${stamp}`, pipeline: `bench-pipeline-${stamp}`, backfill: `bench-backfill-${stamp}` };
    const work = await mkdtemp(path.join(tmpdir(), 'albatross-bench-pipeline-'));
    try {
      for (const prefix of Object.values(prefixes)) await installTemplates(client, { indexPrefix: prefix, replicas: 0, log: () => undefined });
      // The documents the pipeline would produce, rendered once for the ceiling runs.
      const rendered: Rendered[] = [];
      for (const object of generateObjects(generate)) {
        let offset = 0;
        for (const line of gunzipSync(object.body).toString('utf8').split('\n')) {
          if (line) {
            const parsed = parseAlbLine(line, { source: { bucket: 'bench', key: object.key, offset } });
            if (parsed.kind === 'document') {
              const doc = parsed.document as unknown as { event: { id: string } };
              rendered.push({ index: `${prefixes.ceiling}-2026-01-01`, id: doc.event.id, source: JSON.stringify(parsed.document) });
            }
          }
          offset += Buffer.byteLength(line) + 1;
        }
      }
      const ceilings: number[] = [];
      const measureCeiling = async () => {
        ceilings.push(await bulkCeiling(client, rendered));
        await client.indices.delete({ index: `${prefixes.ceiling}-*` });
      };
      // A fresh embedded JVM indexes far slower until its JIT has warmed up: one discarded round.
      await measureCeiling();
      ceilings.length = 0;
      await measureCeiling();

      const pipeline = await runPipeline({
        client,
        indexPrefix: prefixes.pipeline,
        generate,
        workDirectory: path.join(work, 'pipeline'),
        deliveryConcurrency: PARALLEL,
      });
      if (pipeline.unaccounted !== 0 || pipeline.indexed !== rendered.length) {
        throw new Error(`pipeline bench: indexed ${pipeline.indexed} of ${rendered.length} documents`);
      }
      const pipelineRate = pipeline.indexed / pipeline.seconds;
      // Every run starts from the same engine state: no earlier index still merging in the background.
      await client.indices.delete({ index: `${prefixes.pipeline}-*` });
      await measureCeiling();

      const folder = path.join(work, 'logs');
      await generateToDirectory(folder, generate);
      const backfill = await runBackfill({
        client,
        source: folderSource(folder),
        indexPrefix: prefixes.backfill,
        stateFile: path.join(work, 'backfill.state.json'),
        failuresFile: path.join(work, 'backfill.failures.ndjson'),
        concurrency: PARALLEL + 1,
        bulkConcurrency: PARALLEL,
      });
      if (backfill.indexed !== rendered.length) throw new Error(`backfill bench: indexed ${backfill.indexed} of ${rendered.length} documents`);
      const backfillRate = backfill.indexed / backfill.seconds;
      await client.indices.delete({ index: `${prefixes.backfill}-*` });

      await measureCeiling();
      const [c0, c1, c2] = ceilings as [number, number, number];
      const figure = (metric: string, value: number, ceiling: number) => ({
        metric,
        value,
        unit: 'docs/s',
        baseline: ceiling,
        baselineName: '_bulk ceiling',
        target: '>= 0.85x ceiling',
        met: value >= 0.85 * ceiling,
      });
      return {
        name: 'pipeline',
        figures: [figure('demo pipeline end to end', pipelineRate, (c0 + c1) / 2), figure('backfill end to end', backfillRate, (c1 + c2) / 2)],
        notes: [
          `${rendered.length.toLocaleString('en-US')} documents (${generate.files} objects); _bulk of ~${BULK_BYTES / 2 ** 20} MiB, ${PARALLEL} in flight, in every run`,
          `ceilings before / between / after: ${ceilings.map((c) => Math.round(c)).join(' / ')} docs/s; engine ${engine.embedded ? 'embedded' : engine.url}`,
          `pipeline ${pipeline.seconds.toFixed(1)} s, backfill ${backfill.seconds.toFixed(1)} s`,
        ],
      };
    } finally {
      for (const prefix of Object.values(prefixes)) await client.indices.delete({ index: `${prefix}-*` }).catch(() => undefined);
      await client.close();
      await engine.stop();
      await rm(work, { recursive: true, force: true });
    }
  },
};
