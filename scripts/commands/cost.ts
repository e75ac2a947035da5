// `npm run cost -- --gb-per-day 100` / `albatross cost`: the monthly AWS cost of each delivery mode
// for the user's volume, from public prices and the per-line figures `npm run bench` measures
// (scripts/cost/model.ts); docs/cost.md shows the same table for 10 GB, 100 GB and 1 TB a day.
import type { Command } from 'commander';
import { count, positiveCount, positiveNumber } from './option-values.ts';

interface CostOptions {
  gbPerDay: number;
  lineBytes?: number;
  objectMb?: number;
  retentionDays?: number;
  replicas?: number;
  json?: boolean;
}

export function register(program: Command): void {
  program
    .command('cost')
    .description('monthly AWS cost of the firehose and direct delivery modes for a volume of ALB logs (docs/cost.md)')
    .requiredOption('--gb-per-day <gb>', 'raw (uncompressed) ALB logs per day, GB', positiveNumber)
    .option('--line-bytes <n>', 'mean line size in bytes (default: the benchmark mix)', positiveCount)
    .option('--object-mb <mb>', 'uncompressed MB per S3 log object (default 20)', positiveNumber)
    .option('--retention-days <n>', 'days indices are kept (default 30)', positiveCount)
    .option('--replicas <n>', 'replicas per shard (default 1)', count)
    .option('--json', 'print the table as JSON')
    .action(async (options: CostOptions) => {
      const { costTable, formatCostTable } = await import('../cost/model.ts');
      const table = costTable({
        gbPerDay: options.gbPerDay,
        ...(options.lineBytes ? { lineBytes: options.lineBytes } : {}),
        ...(options.objectMb ? { objectMB: options.objectMb } : {}),
        ...(options.retentionDays ? { retentionDays: options.retentionDays } : {}),
        ...(options.replicas !== undefined ? { replicas: options.replicas } : {}),
      });
      process.stdout.write(options.json ? `${JSON.stringify(table)}\n` : `${formatCostTable(table).join('\n')}\n`);
    });
}
