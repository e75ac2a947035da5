// `albatross generate`: synthetic ALB access logs as gzip objects in the S3 key layout.
import { writeFile } from 'node:fs/promises';
import { InvalidArgumentError, type Command } from 'commander';
import { generateToDirectory } from '../local/generator.ts';

export function parseCount(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError('must be a whole number >= 0');
  return n;
}

export function parsePositive(value: string): number {
  const n = parseCount(value);
  if (n < 1) throw new InvalidArgumentError('must be at least 1');
  return n;
}

export function parseDate(value: string): Date {
  const date = new Date(/^\d{4}-\d{2}-\d{2}$/.test(value) ? `${value}T00:00:00Z` : value);
  if (Number.isNaN(date.getTime())) throw new InvalidArgumentError('must be a date such as 2026-01-31');
  return date;
}

interface GenerateCliOptions {
  out: string;
  lines: number;
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
    .description('write deterministic synthetic ALB access logs (gzip objects in the S3 key layout) to a folder')
    .requiredOption('--out <dir>', 'output folder (objects go under <dir>/AWSLogs/...)')
    .option('--lines <n>', 'total lines, malformed ones included', parseCount, 200_000)
    .option('--days <n>', 'spread the traffic over this many UTC days', parsePositive, 3)
    .option('--seed <n>', 'random seed: same options, same bytes', parseCount, 1)
    .option('--files <n>', 'number of objects (default: one per 25,000 lines)', parsePositive)
    .option('--bad-lines <n>', 'malformed lines to mix in', parseCount, 0)
    .option('--end <date>', 'end of the traffic (exclusive), UTC; default: start of today', parseDate)
    .option('--manifest <file>', 'also write the manifest (lines and malformed lines per object) as JSON')
    .option('--json', 'print the manifest as JSON on stdout')
    .action(async (options: GenerateCliOptions) => {
      const started = performance.now();
      const end = options.end ?? new Date(new Date().toISOString().slice(0, 10) + 'T00:00:00Z');
      const manifest = await generateToDirectory(options.out, {
        lines: options.lines,
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
          `(${manifest.badLines} malformed), ${(manifest.bytes / 2 ** 20).toFixed(1)} MiB uncompressed, ` +
          `to ${options.out} in ${seconds.toFixed(1)} s\n`,
      );
    });
}
