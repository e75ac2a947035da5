// `albatross backfill SOURCE`: load ALB access, connection and health-check logs that already sit
// in S3 (or in a local folder with the same layout) straight into OpenSearch, each type into its
// own index family, resumably. Core: scripts/backfill/run.ts.
import path from 'node:path';
import type { Command } from 'commander';
import { addEndpointOptions, clientFromOptions, type EndpointCliOptions } from './endpoint-options.ts';
import { sharedEnricher } from '../../transform/enrich/data.ts';
import { ENRICH_OPTION_HELP, enrichSetting, logSource, logTypeList, positiveCount, utcDay } from './option-values.ts';
import { LOG_TYPES, type LogType } from '../../transform/log-type-names.ts';

interface BackfillCliOptions extends EndpointCliOptions {
  from?: string;
  to?: string;
  prefix: string;
  connectionPrefix: string;
  healthPrefix: string;
  logTypes: LogType[];
  state?: string;
  failures?: string;
  concurrency: number;
  json?: boolean;
  progress: boolean;
  firehoseErrors?: boolean;
  enrich?: string;
  onAws?: boolean;
  status?: boolean;
  stack: string;
  queueUrl?: string;
  table?: string;
}

/** A file name derived from the source, so two backfills do not share a state file by accident. */
function defaultName(source: string, suffix: string): string {
  const slug = source.replace(/^s3:\/\//, 's3-').replace(/[^A-Za-z0-9._-]+/g, '_').replace(/^_+|_+$/g, '').slice(-80);
  return path.join('.albatross', `backfill-${slug}.${suffix}`);
}

const n = (value: number) => value.toLocaleString('en-US');

export function register(program: Command): void {
  const command = program
    .command('backfill')
    .description('index ALB access, connection and health-check logs already in S3 (s3://bucket/prefix) or in a local folder of the same layout, resumably')
    .argument('[source]', 's3://bucket/prefix (default AWS credentials chain) or a folder; optional with --status (then: every run)', logSource)
    .option('--from <day>', 'first UTC day of events to load (YYYY-MM-DD)', utcDay)
    .option('--to <day>', 'last UTC day of events to load (YYYY-MM-DD)', utcDay)
    .option('--prefix <prefix>', 'access-log index prefix: documents go to <prefix>-YYYY-MM-DD by event time', 'alb-logs')
    .option('--connection-prefix <prefix>', 'connection-log index prefix', 'alb-connection')
    .option('--health-prefix <prefix>', 'health-check-log index prefix', 'alb-health')
    .option('--log-types <list>', 'log types to load: comma-separated access, connection, health', logTypeList, [...LOG_TYPES])
    .option('--state <file>', 'state file of completed objects (default: .albatross/backfill-<source>.state.json)')
    .option('--failures <file>', 'failed lines with their reason, NDJSON (default: .albatross/backfill-<source>.failures.ndjson)')
    .option('--firehose-errors', 'SOURCE holds Firehose error records (errors/ of the backup bucket): index the lines that parse now with their original event.id, and refused documents under the index and id Firehose used')
    .option('--concurrency <n>', 'objects processed at once', positiveCount, 4)
    .option('--enrich <parts>', ENRICH_OPTION_HELP, enrichSetting)
    .option('--on-aws', 'queue the objects on the deployed stack\'s backfill queue (one message each) for its worker Lambdas instead of indexing them here; s3:// sources only')
    .option('--status', 'show the progress of the --on-aws run of SOURCE with the same --from/--to/--log-types (without SOURCE: every run)')
    .option('--stack <name>', 'the deployed stack whose backfill queue and table --on-aws and --status use (CloudFormation outputs)', 'Albatross')
    .option('--queue-url <url>', 'backfill queue URL instead of the stack\'s output (with --table: no CloudFormation lookup)')
    .option('--table <name>', 'backfill progress table instead of the stack\'s output')
    .option('--no-progress', 'no progress bar')
    .option('--json', 'print the summary as one JSON object on the last line of stdout');
  addEndpointOptions(command).action(async (source: string | undefined, options: BackfillCliOptions) => {
    if (options.from && options.to && options.from > options.to) command.error('--from must not be after --to');
    if (options.status || options.onAws) return onAws(source, options);
    if (source === undefined) return command.error('missing argument: <source> (s3://bucket/prefix or a folder)');
    const { openSource } = await import('../backfill/sources.ts');
    const { runBackfill } = await import('../backfill/run.ts');
    const { answersFromData, formatAnswers, fromPaths, fromSource, refresh, countDuplicates } = await import('../local/report.ts');
    const { default: cliProgress } = await import('cli-progress');
    const { client, authDescription } = await clientFromOptions(options);
    const logSource = openSource(source);
    const stateFile = options.state ?? defaultName(source, 'state.json');
    const failuresFile = options.failures ?? defaultName(source, 'failures.ndjson');
    const say = (line: string) => process.stderr.write(`${line}\n`);
    say(`Backfilling ${logSource.description} into ${options.logTypes.map((type) => `${{ access: options.prefix, connection: options.connectionPrefix, health: options.healthPrefix }[type]}-YYYY-MM-DD`).join(", ")} at ${options.endpoint} (${authDescription})`);

    const bar = options.progress && !options.json && process.stderr.isTTY
      ? new cliProgress.SingleBar(
          {
            format: '{bar} {percentage}% | objects {objects} | lines {lines} | {speed} MB/s | ETA {eta_formatted}',
            stream: process.stderr,
            hideCursor: true,
            etaBuffer: 50,
          },
          cliProgress.Presets.shades_classic,
        )
      : undefined;
    const started = performance.now();
    let startedBar = false;
    const controller = new AbortController();
    const interrupt = () => {
      say('\nInterrupted: finishing nothing more; completed objects are in the state file, run again to resume.');
      controller.abort();
    };
    process.once('SIGINT', interrupt);
    try {
      const summary = await runBackfill({
        client,
        source: logSource,
        indexPrefix: options.prefix,
        indexPrefixes: { connection: options.connectionPrefix, health: options.healthPrefix },
        logTypes: options.logTypes,
        stateFile,
        failuresFile,
        concurrency: options.concurrency,
        ...(options.firehoseErrors ? { firehoseErrors: true } : {}),
        enrich: sharedEnricher(options.enrich),
        signal: controller.signal,
        ...(options.from ? { from: options.from } : {}),
        ...(options.to ? { to: options.to } : {}),
        onProgress: (p) => {
          if (!bar) return;
          const payload = {
            objects: `${n(p.objectsDone)}/${n(p.objectsTotal)}`,
            lines: n(p.lines),
            speed: (p.uncompressedBytes / 2 ** 20 / Math.max(0.001, (performance.now() - started) / 1000)).toFixed(1),
          };
          // Progress by compressed bytes: objects differ in size, bytes predict the ETA.
          if (!startedBar) {
            bar.start(Math.max(1, p.bytesTotal), p.bytesDone, payload);
            startedBar = true;
          } else {
            bar.update(p.bytesDone, payload);
          }
        },
      });
      bar?.stop();
      const pattern = `${options.prefix}-*`;
      // every family's indices: duplicates are counted over all of them
      const patterns = [options.prefix, options.connectionPrefix, options.healthPrefix].map((prefix) => `${prefix}-*`).join(',');
      // A replay's documents belong to the objects they first came from, not to the backup folder.
      const scope = summary.originPaths === undefined ? fromSource(logSource.pathPrefix) : fromPaths(summary.originPaths);
      await refresh(client, patterns);
      const duplicates = await countDuplicates(client, patterns, scope);
      const answers = await answersFromData(client, pattern, scope);
      const result = { ...summary, duplicates, docsPerSecond: Math.round(summary.indexed / Math.max(summary.seconds, 0.001)), answers };
      if (options.json) {
        process.stdout.write(JSON.stringify(result) + '\n');
      } else {
        const out = (line = '') => process.stdout.write(`${line}\n`);
        out();
        out(`objects        ${n(summary.objectsProcessed)} loaded now, ${n(summary.objectsResumed)} done earlier, of ${n(summary.objects)} selected; ${n(summary.objectsSkipped.length)} skipped (not ALB logs of the types selected, or outside the dates)`);
        out(`lines          ${n(summary.lines)} (${(summary.bytes / 2 ** 20).toFixed(1)} MiB)`);
        out(`indexed        ${n(summary.indexed)} documents (${n(summary.duplicatesOverwritten)} replaced an earlier copy with the same event.id)`);
        out(`failed         ${n(summary.failed)} lines${summary.failed > 0 ? `: raw lines and reasons in ${failuresFile}` : ''}`);
        out(`skipped        ${n(summary.skipped)} (empty and control lines), ${n(summary.outOfRange)} outside --from/--to`);
        out(`duplicates     ${n(duplicates)} (documents sharing an event.id)`);
        out(`indices        ${summary.indices.join(', ') || '-'}`);
        out(`wall time      ${summary.seconds.toFixed(1)} s, ${n(result.docsPerSecond)} documents/s`);
        out(`state          ${stateFile}${summary.interrupted ? ' (INTERRUPTED: run the same command again to resume)' : ''}`);
        for (const failed of summary.objectsFailed) out(`OBJECT FAILED  ${failed.reason} (not marked done: fix or remove it, then run again)`);
        out();
        for (const line of formatAnswers(answers)) out(line);
      }
      if (summary.interrupted) process.exitCode = 130;
      else if (summary.objectsFailed.length > 0) process.exitCode = 1;
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      // The SDK's own text does not say where credentials come from.
      const hint = (error as Error).name === 'CredentialsProviderError'
        ? ' (s3:// sources use the default AWS credentials chain: AWS_PROFILE, AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, SSO, or an instance/task role)'
        : '';
      process.stderr.write(`backfill failed: ${message}${hint}\n`);
      process.exitCode = 1;
    } finally {
      bar?.stop();
      process.off('SIGINT', interrupt);
      await client.close();
    }
  });
}

const hours = (seconds: number) => seconds >= 3600 ? `${(seconds / 3600).toFixed(1)} h` : seconds >= 60 ? `${Math.round(seconds / 60)} min` : `${Math.round(seconds)} s`;
const gib = (bytes: number) => bytes >= 2 ** 30 ? `${(bytes / 2 ** 30).toFixed(2)} GiB` : `${(bytes / 2 ** 20).toFixed(1)} MiB`;

/** `--on-aws` (queue the objects for the stack's backfill workers) and `--status` (a run's progress). */
async function onAws(source: string | undefined, options: BackfillCliOptions): Promise<void> {
  const { stackResources, queueBackfill } = await import('../backfill/on-aws.ts');
  const { BackfillProgressStore, runRates } = await import('../../transform/backfill/progress.ts');
  const { backfillRunId } = await import('../../transform/backfill/message.ts');
  const { DynamoDBClient } = await import('@aws-sdk/client-dynamodb');
  const out = (line = ''): void => void process.stdout.write(`${line}\n`);
  const dynamodb = new DynamoDBClient({});
  try {
    const resources = await stackResources({ stack: options.stack, ...(options.queueUrl ? { queueUrl: options.queueUrl } : {}), ...(options.table ? { tableName: options.table } : {}) });
    const progress = new BackfillProgressStore(dynamodb, resources.tableName);
    if (options.status) {
      const { openSource } = await import('../backfill/sources.ts');
      const runs = source === undefined
        ? (await progress.runs()).map((run) => run.run)
        : [backfillRunId({ source: openSource(source).description, logTypes: options.logTypes, ...(options.from ? { from: options.from } : {}), ...(options.to ? { to: options.to } : {}) })];
      const statuses = [];
      for (const run of runs) {
        const status = await progress.status(run);
        if (status === undefined) throw new Error(`no backfill run "${run}" in ${resources.tableName}: queue it with --on-aws (same source, --from, --to and --log-types)`);
        statuses.push({ ...status, ...runRates(status) });
      }
      if (options.json) return out(JSON.stringify(source === undefined ? statuses : statuses[0]));
      if (statuses.length === 0) return out(`no backfill runs in ${resources.tableName}`);
      for (const s of statuses) {
        out(`run            ${s.run} (queued ${new Date(s.createdAt).toISOString()})`);
        out(`objects        ${n(s.objects)} queued: ${n(s.done)} done${s.alreadyLoaded > 0 ? ` (${n(s.alreadyLoaded)} loaded earlier)` : ''}, ${n(s.queued)} waiting, ${n(s.failed.length)} failed`);
        out(`bytes          ${gib(s.bytesDone)} of ${gib(s.bytes)} (compressed) done`);
        out(`lines          ${n(s.lines)}: ${n(s.indexed)} documents indexed, ${n(s.failedLines)} failed (with reasons in the backup bucket's errors/), ${n(s.outOfRange)} outside the days${s.resumedLines > 0 ? ` (and ${n(s.resumedLines)} lines indexed before an interruption, not in these counts)` : ''}`);
        out(`rate           ${n(Math.round(s.documentsPerSecond))} documents/s${s.queued === 0 ? ', finished' : s.secondsLeft === undefined ? '' : `, about ${hours(s.secondsLeft)} left`}`);
        for (const r of s.retrying) out(`RETRYING       ${r.object} (attempt ${r.attempts}): ${r.reason}`);
        for (const f of s.failed) out(`FAILED         ${f.object}: ${f.reason}`);
        out();
      }
      if (statuses.some((s) => s.failed.length > 0)) process.exitCode = 1;
      return;
    }
    if (source === undefined) throw new Error('--on-aws needs a source (s3://bucket/prefix)');
    const { openSource } = await import('../backfill/sources.ts');
    const { SQSClient } = await import('@aws-sdk/client-sqs');
    const sqs = new SQSClient({});
    try {
      const summary = await queueBackfill({
        source: openSource(source), logTypes: options.logTypes, queueUrl: resources.queueUrl, sqs, progress,
        ...(options.from ? { from: options.from } : {}), ...(options.to ? { to: options.to } : {}),
      });
      if (options.json) return out(JSON.stringify(summary));
      out(`run            ${summary.run.run}`);
      out(`queued         ${n(summary.queued)} objects (${gib(summary.bytesQueued)} compressed) on ${resources.queueUrl}`);
      out(`already queued ${n(summary.alreadyQueued)} objects (by an earlier run of this command; failed ones are queued again)`);
      out(`selected       ${n(summary.objects)} objects (${gib(summary.bytes)}); ${n(summary.objectsSkipped.length)} skipped (not ALB logs of the types selected, or outside the dates)`);
      out(`progress       npx albatross backfill ${source}${options.from ? ` --from ${options.from}` : ''}${options.to ? ` --to ${options.to}` : ''} --status${options.stack === 'Albatross' ? '' : ` --stack ${options.stack}`}`);
    } finally {
      sqs.destroy();
    }
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    const hint = (error as Error).name === 'CredentialsProviderError' ? ' (--on-aws and --status use the default AWS credentials chain)' : '';
    process.stderr.write(`backfill failed: ${message}${hint}\n`);
    process.exitCode = 1;
  } finally {
    dynamodb.destroy();
  }
}
