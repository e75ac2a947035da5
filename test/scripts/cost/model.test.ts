// The cost model: Firehose's 5 KB rounding, what each mode pays for, and docs/cost.md and the
// `albatross cost` command showing the same numbers.
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { costTable, firehoseBilledBytes, formatCostTable, MEASURED } from '../../../scripts/cost/model.ts';

const DOC = readFileSync(fileURLToPath(new URL('../../../docs/cost.md', import.meta.url)), 'utf8');
const CLI = fileURLToPath(new URL('../../../scripts/albatross.mjs', import.meta.url));

describe('cost model', () => {
  it('bills every Firehose record in whole 5,120-byte units', () => {
    expect(firehoseBilledBytes(1)).toBe(5120);
    expect(firehoseBilledBytes(820)).toBe(5120);
    expect(firehoseBilledBytes(5120)).toBe(5120);
    expect(firehoseBilledBytes(5121)).toBe(10240);
    expect(firehoseBilledBytes(12 * 1024)).toBe(15 * 1024);
  });

  it('charges Firehose and the transform only in firehose mode, storage alike in both, and scales with volume', () => {
    const small = costTable({ gbPerDay: 10 });
    const large = costTable({ gbPerDay: 1000 });
    const line = (table: typeof small, item: RegExp) => table.lines.find((l) => item.test(l.item))!;
    expect(line(small, /^Firehose/).direct).toBe(0);
    expect(line(small, /transform/).direct).toBe(0);
    expect(line(small, /storage/).firehose).toBe(line(small, /storage/).direct);
    // 1 TB a day at ~620-byte lines: every line billed as 5 KB, about $7,000 a month (issue 18).
    expect(line(large, /^Firehose/).firehose).toBeGreaterThan(6000);
    expect(line(large, /^Firehose/).firehose).toBeLessThan(8000);
    expect(line(large, /^Firehose/).firehose / line(small, /^Firehose/).firehose).toBeCloseTo(100, 5);
    expect(large.total.direct).toBeLessThan(large.total.firehose);
    expect(small.linesPerDay).toBeCloseTo(10e9 / MEASURED.lineBytes, 0);
  });

  it('docs/cost.md shows exactly the tables the model computes for 10 GB, 100 GB and 1 TB a day', () => {
    for (const gbPerDay of [10, 100, 1000]) expect(DOC).toContain(formatCostTable(costTable({ gbPerDay })).join('\n'));
  });

  it('`albatross cost --gb-per-day 100` prints the same table', async () => {
    const { stdout } = await promisify(execFile)(process.execPath, [CLI, 'cost', '--gb-per-day', '100']);
    expect(stdout.trim()).toBe(formatCostTable(costTable({ gbPerDay: 100 })).join('\n'));
  });
});
