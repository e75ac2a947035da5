// Pipeline benchmark: end-to-end documents/s of the demo pipeline (local S3 -> loader -> local
// Firehose -> transform -> _bulk) and of the backfill (folder -> parse -> _bulk), next to the
// ceiling measured in the same run on the same engine: `_bulk` of the already-rendered documents,
// with the same request size and parallelism and nothing in front. Ceiling, pipeline and backfill
// runs alternate over several rounds and each figure is a total rate over its runs, so a drifting
// machine load (shared 2-core hosts) weighs on both sides of the ratio alike. Two layouts, one
// after the other: "shared cores" (engine and pipeline on every CPU, as `npm run demo` runs) and,
// with the embedded engine on Linux, "separate cores" (engine and pipeline each pinned to half of
// the CPUs), which tells whether the pipeline keeps the engine fed when it does not also take the
// engine's CPU time (in AWS, Firehose and Lambda do not run on the OpenSearch nodes).
// ALBATROSS_BENCH_PIPELINE_LINES (default 50,000 per run) and ALBATROSS_BENCH_PIPELINE_ROUNDS (3).
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import type { Client } from '@opensearch-project/opensearch';
import type { EmbeddedEngine } from '../opensearch-local/engine.ts';
import type { Bench, BenchFigure, BenchResult } from './index.ts';
import { allowedCpus, pinProcess, splitCpus } from './cpu-affinity.ts';

const BULK_BYTES = 5 * 2 ** 20;     // the delivery stream's and backfill's request size
const PARALLEL = 2;                 // deliveries / objects in flight in both runs

interface Rendered { index: string; id: string; source: string }
interface Total { docs: number; seconds: number; runs: number[] }
interface Measured { totals: Record<'ceilingFirehose' | 'ceilingEventId' | 'pipeline' | 'backfill', Total>; nodeMicrosPerDoc: number }

const zero = (): Total => ({ docs: 0, seconds: 0, runs: [] });
const add = (total: Total, docs: number, seconds: number): void => {
  total.docs += docs;
  total.seconds += seconds;
  total.runs.push(Math.round(docs / seconds));
};
const rate = (t: Total): number => t.docs / t.seconds;
const figure = (metric: string, value: number, ceiling: number): BenchFigure => ({
  metric,
  value,
  unit: 'docs/s',
  baseline: ceiling,
  baselineName: '_bulk ceiling',
  target: '>= 0.85x ceiling',
  met: value >= 0.85 * ceiling,
});

/**
 * The ceiling's request bodies: the documents rendered and UTF-8 encoded beforehand, cut at
 * BULK_BYTES like the runs cut theirs. Kept as Buffers (outside the JS heap), so holding them
 * does not slow the garbage collector of the runs measured in between.
 */
function renderBodies(documents: Rendered[]): Buffer[] {
  const bodies: Buffer[] = [];
  let body = '';
  for (const d of documents) {
    body += `{"index":{"_index":${JSON.stringify(d.index)},"_id":${JSON.stringify(d.id)}}}\n${d.source}\n`;
    if (body.length >= BULK_BYTES) {
      bodies.push(Buffer.from(body));
      body = '';
    }
  }
  if (body) bodies.push(Buffer.from(body));
  return bodies;
}

/** The ceiling: the rendered bodies `_bulk`ed with PARALLEL requests in flight. Returns the seconds it took. */
async function bulkCeiling(client: Client, bodies: Buffer[]): Promise<number> {
  const started = performance.now();
  let next = 0;
  const worker = async () => {
    while (next < bodies.length) {
      const response = await client.bulk({ body: bodies[next++]!, filter_path: 'errors' } as never);
      if ((response.body as { errors?: boolean }).errors) throw new Error('ceiling _bulk had item errors');
    }
  };
  await Promise.all(Array.from({ length: PARALLEL }, worker));
  return (performance.now() - started) / 1000;
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
    const { recordId } = await import('../local/delivery-stream.ts');
    const { runBackfill } = await import('../backfill/run.ts');
    const { folderSource } = await import('../backfill/sources.ts');
    const { parseAlbLine } = await import('../../transform/parser/index.ts');

    const lines = Number(process.env.ALBATROSS_BENCH_PIPELINE_LINES ?? 50_000);
    const rounds = Number(process.env.ALBATROSS_BENCH_PIPELINE_ROUNDS ?? 3);
    // Objects of 10,000 lines, so the backfill has more objects than its concurrency.
    const generate = { lines, days: 1, seed: 99, files: Math.max(2, Math.ceil(lines / 10_000)), end: new Date('2026-01-01T00:00:00Z') };
    const engine = await getOpenSearch();
    const client = createOpenSearchClient({ endpoint: engine.url });
    const stamp = Date.now();
    const prefixes = { ceiling: `bench-ceiling-${stamp}`, pipeline: `bench-pipeline-${stamp}`, backfill: `bench-backfill-${stamp}` };
    const work = await mkdtemp(path.join(tmpdir(), 'albatross-bench-pipeline-'));
    try {
      for (const prefix of Object.values(prefixes)) await installTemplates(client, { indexPrefix: prefix, replicas: 0, log: () => undefined });
      // The documents the runs produce, rendered once for the ceiling runs, with the ids each run
      // uses: the delivery stream's Firehose-style record ids (a prefix and a sequence, which
      // Lucene looks up faster) and the backfill's event.id (a hash).
      const rendered: Rendered[] = [];
      const renderedFirehose: Rendered[] = [];
      const idPrefix = randomBytes(6).toString('base64url');
      for (const object of generateObjects(generate)) {
        let offset = 0;
        for (const line of gunzipSync(object.body).toString('utf8').split('\n')) {
          if (line) {
            const parsed = parseAlbLine(line, { source: { bucket: 'bench', key: object.key, offset } });
            if (parsed.kind === 'document') {
              const doc = parsed.document as unknown as { event: { id: string } };
              const source = JSON.stringify(parsed.document);
              rendered.push({ index: `${prefixes.ceiling}-2026-01-01`, id: doc.event.id, source });
              renderedFirehose.push({ index: `${prefixes.ceiling}-2026-01-01`, id: recordId(idPrefix, renderedFirehose.length), source });
            }
          }
          offset += Buffer.byteLength(line) + 1;
        }
      }
      const documents = rendered.length;
      const ceilingBodies = { eventId: renderBodies(rendered), firehose: renderBodies(renderedFirehose) };
      rendered.length = 0;          // from here on only the encoded bodies are kept
      renderedFirehose.length = 0;
      const measureCeiling = async (bodies: Buffer[], total: Total) => {
        add(total, documents, await bulkCeiling(client, bodies));
        await client.indices.delete({ index: `${prefixes.ceiling}-*` });
      };
      // A fresh embedded JVM indexes far slower until its JIT has warmed up, and keeps speeding up
      // for several runs after the first (8,000 -> 11,000 docs/s over a run with one warm-up
      // round): three discarded rounds.
      for (let warmUpRound = 0; warmUpRound < 3; warmUpRound++) {
        await bulkCeiling(client, warmUpRound % 2 === 0 ? ceilingBodies.eventId : ceilingBodies.firehose);
        await client.indices.delete({ index: `${prefixes.ceiling}-*` });
      }

      const folder = path.join(work, 'logs');
      await generateToDirectory(folder, generate);
      // The same for Node's JIT: one discarded full-size run of each, so no measured round pays
      // for compiling (and re-optimising) the loader, transform and backfill code.
      const warmUp = { ...generate, seed: generate.seed + 1 };
      await runPipeline({ client, indexPrefix: prefixes.pipeline, generate: warmUp, workDirectory: path.join(work, 'warm-up'), deliveryConcurrency: PARALLEL });
      await client.indices.delete({ index: `${prefixes.pipeline}-*` });
      const warmUpFolder = path.join(work, 'warm-up-logs');
      await generateToDirectory(warmUpFolder, warmUp);
      await runBackfill({
        client,
        source: folderSource(warmUpFolder),
        indexPrefix: prefixes.backfill,
        stateFile: path.join(work, 'warm-up.state.json'),
        failuresFile: path.join(work, 'warm-up.failures.ndjson'),
        concurrency: PARALLEL + 1,
        bulkConcurrency: PARALLEL,
      });
      await client.indices.delete({ index: `${prefixes.backfill}-*` });

      // Rates are totals over interleaved rounds (ceiling, pipeline, ceiling, backfill, ...,
      // ceiling), so a machine load that drifts during the run weighs on both sides alike.
      const measure = async (layout: string): Promise<Measured> => {
        const totals = { ceilingFirehose: zero(), ceilingEventId: zero(), pipeline: zero(), backfill: zero() };
        let pipelineCpuSeconds = 0;
        for (let round = 0; round < rounds; round++) {
          await measureCeiling(ceilingBodies.firehose, totals.ceilingFirehose);
          const pipeline = await runPipeline({
            client,
            indexPrefix: prefixes.pipeline,
            generate,
            workDirectory: path.join(work, `pipeline-${layout}-${round}`),
            deliveryConcurrency: PARALLEL,
          });
          if (pipeline.unaccounted !== 0 || pipeline.indexed !== documents) {
            throw new Error(`pipeline bench: indexed ${pipeline.indexed} of ${documents} documents`);
          }
          add(totals.pipeline, pipeline.indexed, pipeline.seconds);
          pipelineCpuSeconds += pipeline.cpuSeconds;
          // Every run starts from the same engine state: no earlier index still merging in the background.
          await client.indices.delete({ index: `${prefixes.pipeline}-*` });

          await measureCeiling(ceilingBodies.eventId, totals.ceilingEventId);
          const backfill = await runBackfill({
            client,
            source: folderSource(folder),
            indexPrefix: prefixes.backfill,
            stateFile: path.join(work, `backfill-${layout}-${round}.state.json`),
            failuresFile: path.join(work, `backfill-${layout}-${round}.failures.ndjson`),
            concurrency: PARALLEL + 1,
            bulkConcurrency: PARALLEL,
          });
          if (backfill.indexed !== documents) throw new Error(`backfill bench: indexed ${backfill.indexed} of ${documents} documents`);
          add(totals.backfill, backfill.indexed, backfill.seconds);
          await client.indices.delete({ index: `${prefixes.backfill}-*` });
        }
        await measureCeiling(ceilingBodies.firehose, totals.ceilingFirehose);
        await measureCeiling(ceilingBodies.eventId, totals.ceilingEventId);
        return { totals, nodeMicrosPerDoc: (pipelineCpuSeconds * 1e6) / totals.pipeline.docs };
      };

      const figures: BenchFigure[] = [];
      const notes = [
        `${rounds} interleaved rounds of ${documents.toLocaleString('en-US')} documents (${generate.files} objects) per layout; _bulk of ~${BULK_BYTES / 2 ** 20} MiB, ${PARALLEL} in flight, in every run`,
        `engine ${engine.embedded ? 'embedded (fresh)' : engine.url}`,
        'ceiling for the pipeline: its Firehose-style document ids; for the backfill: event.id',
        'engine and Node code warmed up first: three discarded ceiling runs, one discarded full-size pipeline and backfill run',
      ];
      const report = (layout: string, description: string, measured: Measured) => {
        const { totals } = measured;
        figures.push(
          figure(`demo pipeline end to end, ${layout}`, rate(totals.pipeline), rate(totals.ceilingFirehose)),
          figure(`backfill end to end, ${layout}`, rate(totals.backfill), rate(totals.ceilingEventId)),
        );
        notes.push(
          `${layout}: ${description}; the pipeline spent ${measured.nodeMicrosPerDoc.toFixed(0)} µs of Node CPU per document (loader, stand-ins, transform, bulk)`,
          ...Object.entries(totals).map(([name, t]) => `${layout}, ${name}: runs at ${t.runs.join(', ')} docs/s (${t.seconds.toFixed(1)} s in all)`),
        );
      };

      report('shared cores', 'engine and pipeline on all CPUs, taking CPU time from each other (the ceiling pays none of the pipeline\'s)', await measure('shared'));

      // The same on separate halves of the CPUs: does the pipeline keep the engine fed when it does
      // not take the engine's CPU time, as in AWS, where Firehose and Lambda run elsewhere?
      const jvm = 'pid' in engine ? (engine as EmbeddedEngine).pid : undefined;
      const cpus = jvm === undefined ? undefined : allowedCpus(process.pid);
      const halves = cpus === undefined ? undefined : splitCpus(cpus);
      if (jvm === undefined || cpus === undefined || halves === undefined) {
        notes.push(`separate cores: not measured (${jvm === undefined ? 'the engine is not embedded' : cpus === undefined ? 'needs Linux and taskset' : 'needs 2 or more CPUs'})`);
      } else {
        const [pipelineCpus, engineCpus] = halves;
        const unpin = () => {
          // Best effort: after a failure the JVM may be gone, and the failure is what to report.
          for (const pid of [jvm, process.pid]) {
            try {
              pinProcess(pid, cpus);
            } catch {
              // nothing to restore
            }
          }
        };
        try {
          pinProcess(jvm, engineCpus);
          pinProcess(process.pid, pipelineCpus);
          // One discarded ceiling run each: the JVM's threads settle on their fewer CPUs.
          for (const bodies of [ceilingBodies.firehose, ceilingBodies.eventId]) {
            await bulkCeiling(client, bodies);
            await client.indices.delete({ index: `${prefixes.ceiling}-*` });
          }
          report('separate cores', `engine on CPU ${engineCpus.join(',')}, pipeline (this Node process) on CPU ${pipelineCpus.join(',')}`, await measure('separate'));
        } finally {
          unpin();
        }
      }
      return { name: 'pipeline', figures, notes };
    } finally {
      // Leave a shared engine (OPENSEARCH_URL) as it was: no indices, no templates of this run.
      const { names } = await import('../../templates/render.ts');
      for (const prefix of Object.values(prefixes)) {
        const n = names(prefix);
        await client.indices.delete({ index: n.indexPattern }, { ignore: [404] }).catch(() => undefined);
        await client.indices.deleteIndexTemplate({ name: n.indexTemplate }, { ignore: [404] }).catch(() => undefined);
        for (const name of [n.settingsComponent, n.mappingsComponent]) {
          await client.cluster.deleteComponentTemplate({ name }, { ignore: [404] }).catch(() => undefined);
        }
      }
      await client.close();
      await engine.stop();
      await rm(work, { recursive: true, force: true });
    }
  },
};
