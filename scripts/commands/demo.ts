// `npm run demo` / `albatross demo`: the whole pipeline on this machine. Starts the embedded
// OpenSearch (or uses OPENSEARCH_URL), installs the templates, generates ALB logs into a local S3,
// delivers S3-style notifications to the real loader, lets the local Firehose run the real transform
// and `_bulk` into daily indices, then accounts for every line and answers a few questions.
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Option, type Command } from 'commander';
import { count, fraction, port, positiveCount } from './option-values.ts';

interface DemoOptions {
  delivery: 'firehose' | 'direct';
  lines: number;
  connectionLines?: number;
  healthLines?: number;
  connectionPrefix: string;
  healthPrefix: string;
  files?: number;
  badLines: number;
  days: number;
  seed: number;
  prefix: string;
  throttleRate: number;
  partialFailureRate: number;
  bulkRejectRate: number;
  engineOutage?: number;
  workDir?: string;
  port?: number;
  json?: boolean;
  keepRunning?: boolean;
  lambdaLogs?: boolean;
}

const n = (value: number) => value.toLocaleString('en-US');

export function register(program: Command): void {
  program
    .command('demo')
    .description('run the whole pipeline locally (embedded OpenSearch, local S3 and Firehose, the real Lambda handlers) and account for every line')
    .addOption(new Option('--delivery <mode>', 'firehose: loader -> Firehose -> transform -> OpenSearch; direct: the loader bulk-indexes itself').choices(['firehose', 'direct']).default('firehose'))
    .option('--lines <n>', 'access-log lines to generate', count, 200_000)
    .option('--connection-lines <n>', 'connection-log lines to generate (default: a tenth of --lines)', count)
    .option('--health-lines <n>', 'health-check-log lines to generate (default: a twentieth of --lines)', count)
    .option('--files <n>', 'log objects to spread them over (default: one per 25,000 lines)', positiveCount)
    .option('--bad-lines <n>', 'malformed lines mixed in (they end as preserved failures)', count, 25)
    .option('--days <n>', 'days of traffic, ending now', positiveCount, 3)
    .option('--seed <n>', 'generator seed', count, 1)
    .option('--prefix <prefix>', 'access-log index prefix: documents go to <prefix>-YYYY-MM-DD', 'alb-logs')
    .option('--connection-prefix <prefix>', 'connection-log index prefix', 'alb-connection')
    .option('--health-prefix <prefix>', 'health-check-log index prefix', 'alb-health')
    .option('--throttle-rate <r>', 'fraction of PutRecordBatch calls the local Firehose throttles (direct: of _bulk requests answered 429)', fraction, 0)
    .option('--partial-failure-rate <r>', 'fraction of PutRecordBatch calls that partially fail', fraction, 0)
    .option('--bulk-reject-rate <r>', 'fraction of bulk items rejected with 429', fraction, 0)
    .option('--engine-outage <seconds>', 'the engine refuses every _bulk for this long, starting while documents flow; the backed-up documents are replayed afterwards', positiveCount)
    .option('--work-dir <dir>', 'where the local S3 data and the failure backups go (default: a new temporary folder)')
    .option('--port <n>', 'HTTP port of the embedded engine (default: a free one)', port)
    .option('--json', 'print the result as one JSON object on the last line of stdout')
    .option('--keep-running', 'keep the engine running afterwards (Ctrl-C stops it) and print how to query it')
    .option('--lambda-logs', "show the Lambda handlers' structured logs and metrics")
    .action(async (options: DemoOptions) => {
      const say = (line: string) => process.stderr.write(`${line}\n`);
      // The SDK's notice that Node 20 support ends in 2027 would repeat in every demo run.
      process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
      // Powertools reads these when the handlers' modules load: keep the demo's output readable.
      if (!options.lambdaLogs) {
        process.env.POWERTOOLS_LOG_LEVEL = 'SILENT';
        process.env.POWERTOOLS_METRICS_DISABLED = 'true';
      }
      const { runPipeline } = await import('../local/pipeline.ts');
      const { answersFromData, formatAnswers, formatOtherAnswers, fromSource, otherAnswersFromData } = await import('../local/report.ts');
      const { getOpenSearch, startOpenSearch } = await import('../opensearch-local/engine.ts');
      const { createOpenSearchClient } = await import('../../templates/opensearch-client.ts');
      const { default: cliProgress } = await import('cli-progress');
      const { installAllTemplates } = await import('../../templates/install.ts');
      const { LOG_TYPES, LOG_TYPE_SPECS } = await import('../../transform/log-types.ts');
      const connectionLines = options.connectionLines ?? Math.floor(options.lines / 10);
      const healthLines = options.healthLines ?? Math.floor(options.lines / 20);
      const prefixes = { access: options.prefix, connection: options.connectionPrefix, health: options.healthPrefix };

      const external = Boolean(process.env.OPENSEARCH_URL?.trim());
      say(external ? `Using OpenSearch at ${process.env.OPENSEARCH_URL}` : 'Starting the embedded OpenSearch (the first run builds its launcher)...');
      const engine = !external && options.port ? await startOpenSearch({ port: options.port }) : await getOpenSearch();
      let keepEngine = false;
      const client = createOpenSearchClient({ endpoint: engine.url });
      try {
        say(`OpenSearch ${engine.url}; installing the templates for ${LOG_TYPES.map((type) => `${prefixes[type]}-*`).join(', ')}`);
        await installAllTemplates(client, { indexPrefixes: prefixes, replicas: 0, log: () => undefined });

        const workDirectory = options.workDir ?? (await mkdtemp(path.join(tmpdir(), 'albatross-demo-')));
        const end = new Date(Math.floor(Date.now() / 300_000) * 300_000);
        const bar = !options.json && process.stderr.isTTY
          ? new cliProgress.SingleBar({ format: 'objects {value}/{total} | lines sent {sent} | indexed {indexed}', stream: process.stderr, hideCursor: true }, cliProgress.Presets.shades_classic)
          : undefined;
        say(`Generating ${n(options.lines)} access-log, ${n(connectionLines)} connection-log and ${n(healthLines)} health-check-log lines (${options.badLines} malformed access-log lines, others in proportion) and running the pipeline...`);
        const objectCount = Math.max(1, options.files ?? Math.ceil(options.lines / 25_000)) +
          (connectionLines > 0 ? Math.ceil(connectionLines / 25_000) : 0) + (healthLines > 0 ? Math.ceil(healthLines / 25_000) : 0);
        if (options.engineOutage) say(`Engine outage: writes to ${options.prefix}-* blocked for ${options.engineOutage} s once documents flow; the local Firehose retries for ${Math.max(1, options.engineOutage / 4)} s, then backs up; the replay runs after the outage.`);
        bar?.start(objectCount, 0, { sent: 0, indexed: 0 });
        const result = await runPipeline({
          client,
          delivery: options.delivery,
          indexPrefix: options.prefix,
          indexPrefixes: { connection: options.connectionPrefix, health: options.healthPrefix },
          workDirectory,
          generate: {
            lines: options.lines, connectionLines, healthLines, days: options.days, seed: options.seed, badLines: options.badLines, end,
            ...(options.files ? { files: options.files } : {}),
          },
          throttleRate: options.throttleRate,
          partialFailureRate: options.partialFailureRate,
          bulkRejectRate: options.bulkRejectRate,
          ...(options.engineOutage ? { engineOutageMs: options.engineOutage * 1000 } : {}),
          onProgress: (p) => bar?.update(p.objectsLoaded, { sent: n(p.linesSent), indexed: n(p.indexed) }),
        });
        bar?.stop();
        const pattern = `${options.prefix}-*`;
        const scope = fromSource(`s3://${result.bucket}/`);
        const answers = await answersFromData(client, pattern, scope);
        const otherAnswers = await otherAnswersFromData(client, `${options.connectionPrefix}-*`, `${options.healthPrefix}-*`, scope);
        const docsPerSecond = result.seconds > 0 ? result.indexed / result.seconds : 0;
        const billing = result.firehoseBilling;
        const summary = {
          url: engine.url,
          delivery: result.mode,
          objects: result.objects,
          lines: result.lines,
          indexed: result.indexed,
          failed: result.failed,
          replayed: result.replayed,
          skipped: result.skipped,
          unaccounted: result.unaccounted,
          duplicates: result.duplicates,
          indices: result.indices,
          seconds: Number(result.seconds.toFixed(3)),
          docsPerSecond: Math.round(docsPerSecond),
          failures: result.failures,
          byType: result.byType,
          faults: {
            ...(result.mode === 'direct'
              ? { throttledCalls: result.bulkFaults.throttled, partiallyFailedRecords: 0, rejectedBulkItems: result.bulkFaults.rejectedItems }
              : { throttledCalls: result.firehose.throttled, partiallyFailedRecords: result.firehose.recordsFailed, rejectedBulkItems: result.delivery.injectedRejections }),
            ...(result.outage ? { engineOutageSeconds: result.outage.seconds, retryWindowSeconds: result.outage.retryWindowSeconds } : {}),
          },
          ...(result.outage ? { replay: result.outage.replay } : {}),
          firehoseBilling: billing,
          answers: { ...answers, ...otherAnswers },
        };
        if (options.json) {
          process.stdout.write(JSON.stringify(summary) + '\n');
        } else {
          const out = (line = '') => process.stdout.write(`${line}\n`);
          const f = result.failures;
          out();
          out(`objects        ${n(result.objects)} (s3://${result.bucket}/ on the local S3)`);
          out(`lines          ${n(result.lines)}`);
          out(`indexed        ${n(result.indexed)} documents${result.outage ? `, ${n(result.replayed)} of them replayed from the backup after the outage` : ''}`);
          out(`failed         ${n(result.failed)} lines, none lost:`);
          out(`                 ${n(f.processingFailed)} rejected by the parser: raw lines (base64 rawData) in ${path.join(f.backupDirectory, 'errors', 'processing-failed')}`);
          if (f.processingFailed > 0) out(`                 (each with its reason: npx albatross parse --firehose-errors ${path.join(f.backupDirectory, 'errors', 'processing-failed')} >/dev/null)`);
          if (f.deliveryFailed - result.replayed > 0) out(`                 ${n(f.deliveryFailed - result.replayed)} refused by OpenSearch: documents in ${path.join(f.backupDirectory, 'errors', 'AmazonOpenSearchService-failed')}`);
          if (f.processingFailed + f.deliveryFailed - result.replayed > 0) out(`                 (npx albatross backfill ${f.backupDirectory} --firehose-errors replays them)`);
          if (f.loaderFailed > 0) out(`                 ${n(f.loaderFailed)} too long for Firehose: locations in ${f.loaderFailureDirectory}`);
          out(`skipped        ${n(result.skipped)} (empty and control lines)`);
          if (result.outage) {
            const r = result.outage.replay;
            out(`replayed       ${n(result.replayed)} documents: ${n(f.deliveryFailed)} backed up during the ${result.outage.seconds} s outage (retry window ${result.outage.retryWindowSeconds} s), ${n(r.objectsReplayed)} backup objects moved to ${path.join(f.backupDirectory, 'errors', 'replayed')}${r.skipped ? ` (replay skipped: ${r.skipped})` : ''}${r.stopped ? ` (replay stopped: ${r.stopped})` : ''}`);
          }
          if (result.unaccounted !== 0) out(`UNACCOUNTED    ${n(result.unaccounted)} lines (${f.objectsFailed} objects dead-lettered)`);
          out(`duplicates     ${n(result.duplicates)} (documents sharing an event.id)`);
          out(`indices        ${result.indices.map((i) => `${i.index} (${n(i.docs)})`).join(', ')}`);
          out('by log type    lines = indexed + failed + skipped');
          for (const type of LOG_TYPES) {
            const t = result.byType[type];
            out(`  ${`${LOG_TYPE_SPECS[type].label}s`.padEnd(18)} ${n(t.lines).padStart(9)} = ${n(t.indexed)} + ${n(t.failed)} + ${n(t.skipped)}${t.unaccounted !== 0 ? `, UNACCOUNTED ${n(t.unaccounted)}` : ''} (${t.objects} ${t.objects === 1 ? 'object' : 'objects'}, ${t.indexPrefix}-*)`);
          }
          out(`wall time      ${result.seconds.toFixed(1)} s, ${n(Math.round(docsPerSecond))} documents/s`);
          const faults = summary.faults;
          if (faults.throttledCalls + faults.partiallyFailedRecords + faults.rejectedBulkItems > 0) {
            out(result.mode === 'direct'
              ? `faults         ${n(faults.throttledCalls)} _bulk requests throttled (429), ${n(faults.rejectedBulkItems)} bulk items rejected (all retried)`
              : `faults         ${n(faults.throttledCalls)} PutRecordBatch calls throttled, ${n(faults.partiallyFailedRecords)} records partially failed, ${n(faults.rejectedBulkItems)} bulk items rejected (all retried)`);
          }
          const gb = (bytes: number) => `${(bytes / 1e9).toFixed(3)} GB`;
          out(`delivery       ${result.mode}; Firehose would bill ${gb(billing.billedBytes)} for these ${n(billing.records)} records (${gb(billing.rawBytes)} of lines, ${(billing.billedBytes / Math.max(1, billing.rawBytes)).toFixed(1)}x: each rounded up to 5 KB)`);
          out();
          for (const line of formatAnswers(answers)) out(line);
          for (const line of formatOtherAnswers(otherAnswers)) out(line);
        }
        if (options.keepRunning) {
          keepEngine = true;
          say('');
          say(`OpenSearch keeps running at ${engine.url} (Ctrl-C to stop). Try:`);
          say(`  curl -s '${engine.url}/_cat/indices/${pattern}?v'`);
          say(`  curl -s '${engine.url}/${pattern}/_search?size=1&pretty'`);
          say(`  curl -s -H 'content-type: application/json' '${engine.url}/${pattern}/_search?size=0&pretty' -d '{"aggs":{"status":{"terms":{"field":"http.response.status_code"}}}}'`);
          say(`  curl -s -H 'content-type: application/json' '${engine.url}/${pattern}/_search?pretty' -d '{"query":{"range":{"http.response.status_code":{"gte":500}}},"size":3}'`);
          say(`Dashboards: docs/local-pipeline.md ("OpenSearch Dashboards").`);
          // A signal listener alone does not keep Node running (OPENSEARCH_URL: no child process).
          const keepAlive = setInterval(() => undefined, 60_000);
          await new Promise<void>((resolve) => {
            process.once('SIGINT', resolve);
            process.once('SIGTERM', resolve);
          });
          clearInterval(keepAlive);
          await engine.stop();
        }
      } finally {
        await client.close();
        if (!keepEngine) await engine.stop();
      }
    });
}
