// Enrichment cost: transform records per CPU-second with and without enrichment in the same run
// (interleaved rounds, same batch), on two mixes: the shared sample lines (the transform bench's
// realistic mix: few distinct clients, most of them a documentation address) and the generator's
// traffic (3,000 clients from public networks, Zipf-distributed, 15 user agents). Also: cache hit
// rates, the Lambda bundle (esbuild, as the stack builds it) and its data files, the cold start the
// enrichment adds (fresh processes running the bundle's first invocation), and the peak RSS.
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import { build } from 'esbuild';
import type { FirehoseTransformationEvent } from 'aws-lambda';
import { BUNDLED_DATA_FILES, BUNDLED_DATA_FOLDER, bundledDataPath, enricherFromEnvironment, type BundledDataFile } from '../../transform/enrich/data.ts';
import type { Enricher } from '../../transform/enrich/index.ts';
import { processRecords } from '../../transform/firehose-transform/process.ts';
import { REPO_ROOT } from '../../infra/constructs/bundled-function.ts';
import { generateObjects } from '../local/generator.ts';
import { accessLogSampleLines, batchOfSize, firehoseEvent } from '../transform-fixtures.ts';
import type { Bench, BenchFigure, BenchResult } from './index.ts';

/** The target of the enrichment issue: at most +30 % CPU per record. */
const MAX_ADDED_CPU = 0.3;

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** Records per CPU-second of processRecords over `event` for at least `minMs`. */
function cpuRate(event: FirehoseTransformationEvent, enrich: Enricher | undefined, minMs: number): number {
  let batches = 0;
  const cpuStart = process.cpuUsage();
  const start = performance.now();
  while (performance.now() - start < minMs) {
    processRecords(event.records, { enrich });
    batches++;
  }
  const cpu = process.cpuUsage(cpuStart);
  return (batches * event.records.length) / ((cpu.user + cpu.system) / 1e6);
}

function generatorLines(count: number): string[] {
  const objects = [...generateObjects({ lines: count, days: 1, seed: 7, files: 1 })];
  return objects.flatMap((object) => gunzipSync(object.body).toString('utf8').split('\n').filter((line) => line !== ''));
}

interface ColdStart { importMs: number; firstBatchMs: number; maxRssMB: number }

/** Runs the bundle's handler once on `eventFile` in a fresh process; times the import and the first invocation. */
function coldStart(bundle: string, eventFile: string, enrich: string, batches = 1): ColdStart {
  const script = `
    const { readFileSync } = await import('node:fs');
    const event = JSON.parse(readFileSync(${JSON.stringify(eventFile)}, 'utf8'));
    const t0 = performance.now();
    const { handler } = await import(${JSON.stringify(bundle)});
    const t1 = performance.now();
    await handler(event);
    const t2 = performance.now();
    for (let i = 1; i < ${batches}; i++) await handler(event);
    process.stdout.write(JSON.stringify({ importMs: t1 - t0, firstBatchMs: t2 - t1, maxRssMB: process.resourceUsage().maxRSS / 1024 }));`;
  const output = execFileSync(process.execPath, ['--max-semi-space-size=64', '--input-type=module', '-e', script], {
    env: { ...process.env, ALBATROSS_ENRICH: enrich, POWERTOOLS_LOG_LEVEL: 'SILENT', POWERTOOLS_METRICS_DISABLED: 'true' },
    encoding: 'utf8',
    maxBuffer: 64 * 2 ** 20,
  });
  return JSON.parse(output) as ColdStart;
}

export const bench: Bench = {
  name: 'enrichment',
  async run(): Promise<BenchResult> {
    const rounds = Number(process.env.ALBATROSS_BENCH_ROUNDS ?? 5);
    const roundMs = Number(process.env.ALBATROSS_BENCH_ROUND_MS ?? 1000);
    const mixes = {
      samples: firehoseEvent(batchOfSize(accessLogSampleLines(), 1024 * 1024)),
      generator: firehoseEvent(batchOfSize(generatorLines(6000), 1024 * 1024)),
    };
    const figures: BenchFigure[] = [];
    const notes: string[] = [];
    for (const [name, event] of Object.entries(mixes)) {
      // a fresh enricher (empty caches) per mix: the hit rates are this mix's
      const enricher = enricherFromEnvironment({}, {})!;
      processRecords(event.records, { enrich: enricher });   // opens the data files; first lookups
      const afterFirst = enricher.stats();
      cpuRate(event, undefined, roundMs);                      // JIT warm-up of both paths
      cpuRate(event, enricher, roundMs);
      const plain: number[] = [];
      const enriched: number[] = [];
      for (let r = 0; r < rounds; r++) {
        plain.push(cpuRate(event, undefined, roundMs));
        enriched.push(cpuRate(event, enricher, roundMs));
      }
      const withRate = median(enriched);
      const withoutRate = median(plain);
      const added = withoutRate / withRate - 1;
      figures.push({
        metric: `transform records per CPU-second with enrichment (${name} mix)`,
        value: withRate,
        unit: 'records/s',
        baseline: withoutRate,
        baselineName: 'same records without enrichment',
        target: `<= +${MAX_ADDED_CPU * 100} % CPU per record`,
        met: added <= MAX_ADDED_CPU,
      });
      figures.push({ metric: `CPU per record added by enrichment (${name} mix)`, value: added * 100, unit: '%' });
      const stats = enricher.stats();
      figures.push({ metric: `address cache hit rate, first batch / steady (${name} mix)`, value: (100 * afterFirst.ipCacheHits) / Math.max(1, afterFirst.ipLookups), unit: '%' });
      figures.push({ metric: `user-agent cache hit rate, first batch (${name} mix)`, value: (100 * afterFirst.userAgentCacheHits) / Math.max(1, afterFirst.userAgentLookups), unit: '%' });
      notes.push(`${name} mix: ${event.records.length} records; rounds with / without: ${enriched.map(Math.round).join(', ')} / ${plain.map(Math.round).join(', ')}; ` +
        `lookups over the run: ${stats.ipLookups} addresses (${((100 * stats.ipCacheHits) / Math.max(1, stats.ipLookups)).toFixed(1)} % hits), ` +
        `${stats.userAgentLookups} user agents (${((100 * stats.userAgentCacheHits) / Math.max(1, stats.userAgentLookups)).toFixed(1)} % hits), ${stats.errors} errors`);
    }

    // The Lambda bundle as the stack builds it (esbuild, ESM, minified) with the data beside it.
    const dir = mkdtempSync(path.join(os.tmpdir(), 'albatross-enrich-bench-'));
    try {
      const bundle = path.join(dir, 'index.mjs');
      await build({
        entryPoints: [path.join(REPO_ROOT, 'transform/firehose-transform/handler.ts')],
        outfile: bundle,
        bundle: true,
        platform: 'node',
        format: 'esm',
        target: 'node20',
        minify: true,
        logLevel: 'silent',
        // The same banner as the stack's bundles; split so the CLI bundler's import.meta.url rewrite leaves the string alone.
        banner: { js: "import { createRequire as __albatrossCreateRequire } from 'node:module'; const require = __albatrossCreateRequire(import.meta" + '.url);' },
      });
      mkdirSync(path.join(dir, BUNDLED_DATA_FOLDER));
      let dataBytes = 0;
      let dataGzipBytes = 0;
      for (const file of Object.keys(BUNDLED_DATA_FILES) as BundledDataFile[]) {
        const source = bundledDataPath(file);
        symlinkSync(source, path.join(dir, BUNDLED_DATA_FOLDER, file));
        dataBytes += statSync(source).size;
        // the deployment package is a zip (deflate): gzip level 6 approximates its size
        dataGzipBytes += gzipSync(readFileSync(source)).length;
      }
      const codeBytes = statSync(bundle).size;
      figures.push({ metric: 'transform bundle: code (index.mjs)', value: codeBytes / 2 ** 20, unit: 'MB' });
      figures.push({ metric: 'transform bundle: enrichment data (enrich-data/), unzipped / compressed', value: dataBytes / 2 ** 20, unit: 'MB', target: `unzipped package <= 250 MB (compressed ${(dataGzipBytes / 2 ** 20).toFixed(0)} MB)`, met: (dataBytes + codeBytes) / 2 ** 20 <= 250 });

      const eventFile = path.join(dir, 'event.json');
      writeFileSync(eventFile, JSON.stringify(mixes.generator));
      const colds = { none: [] as ColdStart[], all: [] as ColdStart[] };
      for (let r = 0; r < 3; r++) {
        colds.none.push(coldStart(bundle, eventFile, 'none'));
        colds.all.push(coldStart(bundle, eventFile, 'all'));
      }
      const first = (list: ColdStart[]) => median(list.map((c) => c.importMs + c.firstBatchMs));
      figures.push({
        metric: 'cold start + first 1 MB batch, with enrichment',
        value: first(colds.all),
        unit: 'ms',
        baseline: first(colds.none),
        baselineName: 'ALBATROSS_ENRICH=none',
      });
      figures.push({ metric: 'cold start added by enrichment (data opened on first lookup)', value: first(colds.all) - first(colds.none), unit: 'ms' });
      const steady = coldStart(bundle, eventFile, 'all', 20);
      const plainSteady = coldStart(bundle, eventFile, 'none', 20);
      figures.push({
        metric: 'peak RSS of the bundled transform after 20 batches (1 MB, generator mix)',
        value: steady.maxRssMB,
        unit: 'MB',
        baseline: plainSteady.maxRssMB,
        baselineName: 'without enrichment',
        target: '<= 75 % of the 512 MB transform Lambda',
        met: steady.maxRssMB <= 384,
      });
      notes.push(`cold starts (import ms + first batch ms), with: ${colds.all.map((c) => `${c.importMs.toFixed(0)}+${c.firstBatchMs.toFixed(0)}`).join(', ')}; without: ${colds.none.map((c) => `${c.importMs.toFixed(0)}+${c.firstBatchMs.toFixed(0)}`).join(', ')}`);
      notes.push('the cold start is measured on this machine\'s disk and CPU; Lambda reads the package from its own storage');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    notes.push(`1-minute load average ${os.loadavg()[0]!.toFixed(1)} on ${os.cpus().length} cores: compare the ratios within this run`);
    return { name: 'enrichment', figures, notes };
  },
};
