// `albatross demo --json` and `albatross backfill --json` as a user runs them (separate processes,
// against the test run's engine through OPENSEARCH_URL): the last stdout line is the summary.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Client } from '@opensearch-project/opensearch';
import { afterAll, describe, expect, it } from 'vitest';
import { generateToDirectory } from '../../../scripts/local/generator.ts';
import { installTemplates } from '../../../templates/install.ts';
import { removeIndicesAndTemplates } from '../../opensearch-cleanup.ts';
import { withUtcDays } from '../../utc-days.ts';
import { lastJsonLine, runCli } from '../../cli.ts';

const client = new Client({ node: process.env.OPENSEARCH_URL! });
const stamp = Date.now();
const prefixes = [
  `test-cli-demo-${stamp}`, `test-cli-backfill-${stamp}`, `tcc-cli-demo-${stamp}`, `tch-cli-demo-${stamp}`, `test-cli-outage-${stamp}`,
  `test-cli-direct-${stamp}`, `tcc-cli-direct-${stamp}`, `tch-cli-direct-${stamp}`, `test-cli-faults-${stamp}`,
] as const;

/** Runs a `--json` command, which must succeed, and returns its summary. */
async function cli(args: string[]): Promise<{ stdout: string; lastLine: Record<string, any> }> {
  const result = await runCli(args, { timeoutMs: 230_000 });
  expect(result.code, result.stderr.slice(-2000)).toBe(0);
  return { stdout: result.stdout, lastLine: lastJsonLine(result.stdout) };
}

/** Work folders of this file's commands (the demo keeps its backups for the user: the test removes them). */
const workDirectories: string[] = [];
async function workDirectory(name: string): Promise<string> {
  const directory = await mkdtemp(path.join(tmpdir(), `albatross-${name}-`));
  workDirectories.push(directory);
  return directory;
}

describe('CLI summaries', () => {
  afterAll(async () => {
    for (const directory of workDirectories) await rm(directory, { recursive: true, force: true });
    for (const prefix of prefixes) await removeIndicesAndTemplates(client, prefix);
    await client.close();
  });

  it('demo --delivery direct with throttled and rejected _bulk calls: balances exactly per log type, 0 duplicates, and states what Firehose would bill', async () => {
    const { lastLine: summary } = await cli([
      'demo', '--delivery', 'direct', '--lines', '3000', '--files', '2', '--bad-lines', '9', '--connection-lines', '200', '--health-lines', '100',
      '--throttle-rate', '0.3', '--bulk-reject-rate', '0.1', '--prefix', prefixes[5], '--connection-prefix', prefixes[6], '--health-prefix', prefixes[7], '--json',
    ]);
    expect(summary).toMatchObject({ delivery: 'direct', objects: 4, lines: 3300, duplicates: 0, unaccounted: 0, skipped: 0 });
    // Each object goes to its own log type's indices.
    expect(summary.byType).toMatchObject({
      access: { objects: 2, lines: 3000, indexed: 2991, failed: 9, skipped: 0, unaccounted: 0, duplicates: 0 },
      connection: { objects: 1, lines: 200, unaccounted: 0, duplicates: 0 },
      health: { objects: 1, lines: 100, unaccounted: 0, duplicates: 0 },
    });
    expect(summary.byType.connection.indexed).toBeGreaterThan(190);
    expect(summary.byType.health.indexed).toBeGreaterThan(90);
    expect(summary.indexed + summary.failed).toBe(3300);
    expect(summary.failures.processingFailed).toBe(summary.failed);
    // The faults happened and were absorbed.
    expect(summary.faults.rejectedBulkItems).toBeGreaterThan(0);
    expect(summary.faults.throttledCalls + summary.faults.rejectedBulkItems).toBeGreaterThan(0);
    // Every record (envelope + a line under 5 KB) is billed as 5,120 bytes.
    expect(summary.firehoseBilling.records).toBe(3300);
    expect(summary.firehoseBilling.billedBytes).toBe(3300 * 5120);
    expect(summary.firehoseBilling.rawBytes).toBeLessThan(summary.firehoseBilling.billedBytes / 5);
    // Enriched as through Firehose: where the clients are, which networks.
    expect(summary.answers.topCountries.map((b: { key: string }) => b.key)).toContain('United States');
    expect(summary.answers.topNetworks.length).toBeGreaterThan(0);
  }, 300_000);

  it('demo --json: one JSON object on the last stdout line that balances', async () => {
    const work = await workDirectory('demo');
    const { result: { lastLine: summary }, days } = await withUtcDays(() => cli([
      'demo', '--lines', '2000', '--files', '2', '--bad-lines', '7', '--prefix', prefixes[0], '--connection-prefix', prefixes[2], '--health-prefix', prefixes[3], '--json', '--work-dir', work,
    ]));
    for (const key of ['lines', 'indexed', 'failed', 'skipped', 'duplicates', 'indices', 'seconds', 'byType']) expect(summary).toHaveProperty(key);
    // 2,000 access lines with 7 malformed; by default a tenth as many connection and a twentieth as many
    // health-check lines, with malformed lines in proportion (1 and 0)
    expect(summary).toMatchObject({ objects: 4, lines: 2300, indexed: 2292, failed: 8, skipped: 0, duplicates: 0, unaccounted: 0 });
    expect(summary.byType).toMatchObject({
      access: { objects: 2, lines: 2000, indexed: 1993, failed: 7, skipped: 0, unaccounted: 0, duplicates: 0 },
      connection: { objects: 1, lines: 200, indexed: 199, failed: 1, skipped: 0, unaccounted: 0, duplicates: 0 },
      health: { objects: 1, lines: 100, indexed: 100, failed: 0, skipped: 0, unaccounted: 0, duplicates: 0 },
    });
    // No fault flags, no faults.
    expect(summary.faults).toEqual({ throttledCalls: 0, partiallyFailedRecords: 0, rejectedBulkItems: 0 });
    // The demo's lines carry the current time: one daily index per type, or two if the run crossed midnight.
    const indices: string[] = summary.indices.map((i: { index: string }) => i.index);
    for (const prefix of [prefixes[0], prefixes[2], prefixes[3]]) expect(indices.filter((index) => index.startsWith(`${prefix}-`)).length).toBeGreaterThan(0);
    for (const index of indices) expect([prefixes[0], prefixes[2], prefixes[3]].flatMap((prefix) => days.map((day) => `${prefix}-${day}`))).toContain(index);
    expect(summary.answers.handshakeFailures.length).toBeGreaterThan(0);
    expect(summary.answers.failingTargets.length).toBeGreaterThan(0);
    expect(summary.seconds).toBeGreaterThan(0);
    expect(summary.answers.statusClasses.reduce((sum: number, b: { count: number }) => sum + b.count, 0)).toBe(1993);
    expect(summary.answers.topPaths[0].key).toBe('/');
    // enrichment is on by default: the generated clients come from several countries
    expect(summary.answers.topCountries.map((b: { key: string }) => b.key)).toContain('United States');
    expect(summary.answers.topCountries.length).toBe(5);
    expect(summary.answers.topUserAgents.length).toBeGreaterThan(0);
    expect(summary.answers.latencyMs.p99).toBeGreaterThan(summary.answers.latencyMs.p50);
  }, 240_000);

  it('demo --engine-outage --json: reports the replay, and the run still balances', async () => {
    // access logs alone: the outage blocks writes to --prefix
    const { lastLine: summary } = await cli([
      'demo', '--lines', '3000', '--files', '3', '--bad-lines', '5', '--connection-lines', '0', '--health-lines', '0', '--engine-outage', '2', '--prefix', prefixes[4], '--json',
      '--work-dir', await workDirectory('demo-outage'),
    ]);
    expect(summary).toMatchObject({ lines: 3000, indexed: 2995, failed: 5, skipped: 0, duplicates: 0, unaccounted: 0 });
    expect(summary.faults).toMatchObject({ engineOutageSeconds: 2, retryWindowSeconds: 1 });
    expect(summary.replay).toMatchObject({ documentsFailed: 0, objectsFailed: [] });
    expect(summary.replayed).toBe(summary.replay.documentsReplayed);
    // The outage took at least its own length.
    expect(summary.seconds).toBeGreaterThanOrEqual(2);
  }, 240_000);

  it('backfill --json: the summary of a folder source, and a clear error without templates', async () => {
    const work = await workDirectory('cli-backfill');
    const folder = path.join(work, 'logs');
    await generateToDirectory(folder, { lines: 1500, days: 1, seed: 3, files: 3, badLines: 4, end: new Date('2026-01-01T00:00:00Z') });
    const args = ['backfill', folder, '--prefix', prefixes[1], '--state', path.join(work, 'state.json'), '--failures', path.join(work, 'failures.ndjson'), '--json'];
    // Without templates the backfill refuses to create indices OpenSearch would have to guess.
    const refused = await runCli(args);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain(`no Albatross index template covers ${prefixes[1]}-*`);
    await installTemplates(client, { indexPrefix: prefixes[1], replicas: 0, log: () => undefined });
    const { lastLine: summary } = await cli(args);
    expect(summary).toMatchObject({ objects: 3, lines: 1500, indexed: 1496, failed: 4, duplicates: 0, interrupted: false });
    expect(summary.indices).toEqual(['2025-12-31'].map((day) => `${prefixes[1]}-${day}`));
  }, 240_000);

  it('demo --throttle-rate/--partial-failure-rate/--bulk-reject-rate: the faults happen, and every line is still accounted for once', async () => {
    const { lastLine: summary } = await cli([
      // access logs alone, so every fault hits the one prefix counted below
      'demo', '--lines', '3000', '--files', '3', '--bad-lines', '5', '--connection-lines', '0', '--health-lines', '0', '--prefix', prefixes[8], '--json', '--work-dir', await workDirectory('demo-faults'),
      '--throttle-rate', '0.3', '--partial-failure-rate', '0.2', '--bulk-reject-rate', '0.1',
    ]);
    expect(summary.faults.throttledCalls).toBeGreaterThan(0);
    expect(summary.faults.partiallyFailedRecords).toBeGreaterThan(0);
    expect(summary.faults.rejectedBulkItems).toBeGreaterThan(0);
    expect(summary).toMatchObject({ lines: 3000, indexed: 2995, failed: 5, duplicates: 0, unaccounted: 0 });
    // Counted in the engine, not only in the summary.
    await client.indices.refresh({ index: `${prefixes[8]}-*` });
    expect((await client.count({ index: `${prefixes[8]}-*` })).body.count).toBe(2995);
  }, 240_000);
});
