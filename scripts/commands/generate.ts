// `albatross generate`: synthetic ALB access, connection and health-check logs as gzip objects in
// the S3 key layout.
import { writeFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { generateToDirectory } from '../local/generator.ts';
import { count, date, positiveCount } from './option-values.ts';

interface GenerateCliOptions {
  out: string;
  lines: number;
  connectionLines?: number;
  healthLines?: number;
  days: number;
  seed: number;
  files?: number;
  badLines: number;
  end?: Date;
  manifest?: string;
  json?: boolean;
}

export function register(program: Command): void {
  program
    .command('generate')
    .description('write deterministic synthetic ALB access, connection and health-check logs (gzip objects in the S3 key layout) to a folder')
    .requiredOption('--out <dir>', 'output folder (objects go under <dir>/AWSLogs/...)')
    .option('--lines <n>', 'access-log lines, malformed ones included', count, 200_000)
    .option('--connection-lines <n>', 'connection-log lines (conn_log_ objects; default: a tenth of --lines)', count)
    .option('--health-lines <n>', 'health-check-log lines (health_check_log_ objects; default: a twentieth of --lines)', count)
    .option('--days <n>', 'spread the traffic over this many UTC days', positiveCount, 3)
    .option('--seed <n>', 'random seed: same options, same bytes', count, 1)
    .option('--files <n>', 'number of objects (default: one per 25,000 lines)', positiveCount)
    .option('--bad-lines <n>', 'malformed access-log lines to mix in (the other types get theirs in proportion)', count, 0)
    .option('--end <date>', 'end of the traffic (exclusive), UTC; default: start of today', date)
    .option('--manifest <file>', 'also write the manifest (lines and malformed lines per object) as JSON')
    .option('--json', 'print the manifest as JSON on stdout')
    .action(async (options: GenerateCliOptions) => {
      const started = performance.now();
      const end = options.end ?? new Date(new Date().toISOString().slice(0, 10) + 'T00:00:00Z');
      const manifest = await generateToDirectory(options.out, {
        lines: options.lines,
        connectionLines: options.connectionLines ?? Math.floor(options.lines / 10),
        healthLines: options.healthLines ?? Math.floor(options.lines / 20),
        days: options.days,
        seed: options.seed,
        badLines: options.badLines,
        end,
        ...(options.files ? { files: options.files } : {}),
      });
      if (options.manifest) await writeFile(options.manifest, JSON.stringify(manifest, null, 2) + '\n');
      const seconds = (performance.now() - started) / 1000;
      if (options.json) {
        process.stdout.write(JSON.stringify(manifest) + '\n');
        return;
      }
      process.stdout.write(
        `wrote ${manifest.objects.length} objects, ${manifest.lines.toLocaleString('en-US')} lines ` +
          `(access ${manifest.byType.access.lines.toLocaleString('en-US')}, connection ${manifest.byType.connection.lines.toLocaleString('en-US')}, ` +
          `health ${manifest.byType.health.lines.toLocaleString('en-US')}; ` +
          `${manifest.badLines} malformed), ${(manifest.bytes / 2 ** 20).toFixed(1)} MiB uncompressed, ` +
          `to ${options.out} in ${seconds.toFixed(1)} s\n`,
      );
    });
}
