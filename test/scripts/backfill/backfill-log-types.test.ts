// Backfill of a folder holding all three log types (the generator's key layout): each type is
// parsed with its own parser into its own index family; types can be left out; every line is
// accounted for, and a re-run adds nothing.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Client } from '@opensearch-project/opensearch';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runBackfill, type BackfillOptions } from '../../../scripts/backfill/run.ts';
import { folderSource } from '../../../scripts/backfill/sources.ts';
import { generateToDirectory, type Manifest } from '../../../scripts/local/generator.ts';
import { countDocuments, countDuplicates, refresh } from '../../../scripts/local/report.ts';
import { installTemplates } from '../../../templates/install.ts';
import { removeIndicesAndTemplates } from '../../opensearch-cleanup.ts';

const client = new Client({ node: process.env.OPENSEARCH_URL! });
const stamp = Date.now();
const prefixes = { access: `tba-${stamp}`, connection: `tbc-${stamp}`, health: `tbh-${stamp}` };
// The refusal test's own families, so no other test's templates or documents change what it sees.
const missing = { access: `tbm-${stamp}`, connection: `tbn-${stamp}`, health: `tbo-${stamp}` };
let work: string;
let manifest: Manifest;

function backfill(name: string, extra: Partial<BackfillOptions> = {}) {
  return runBackfill({
    client,
    source: folderSource(path.join(work, 'logs')),
    indexPrefix: prefixes.access,
    indexPrefixes: { connection: prefixes.connection, health: prefixes.health },
    stateFile: path.join(work, `${name}.state.json`),
    failuresFile: path.join(work, `${name}.failures.ndjson`),
    concurrency: 2,
    ...extra,
  });
}

async function count(prefix: string): Promise<number> {
  await refresh(client, `${prefix}-*`);
  return countDocuments(client, `${prefix}-*`);
}

beforeAll(async () => {
  work = await mkdtemp(path.join(tmpdir(), 'albatross-backfill-types-'));
  manifest = await generateToDirectory(path.join(work, 'logs'), {
    lines: 2000, connectionLines: 600, healthLines: 300, days: 1, seed: 5, files: 2, badLines: 10, end: new Date('2026-01-01T00:00:00Z'),
  });
  await installTemplates(client, { indexPrefix: prefixes.access, replicas: 0, log: () => undefined });
}, 60_000);

afterAll(async () => {
  for (const prefix of [...Object.values(prefixes), ...Object.values(missing)]) await removeIndicesAndTemplates(client, prefix);
  await client.close();
  await rm(work, { recursive: true, force: true });
});

describe('backfill of connection and health-check logs', () => {
  it('refuses a type whose templates are missing, before reading anything', async () => {
    await installTemplates(client, { indexPrefix: missing.access, replicas: 0, log: () => undefined });
    const run = backfill('missing', { indexPrefix: missing.access, indexPrefixes: { connection: missing.connection, health: missing.health } });
    await expect(run).rejects.toThrow(`no Albatross index template covers ${missing.connection}-*`);
    expect(await count(missing.access)).toBe(0);
  });

  it('loads only the types asked for', async () => {
    const summary = await backfill('access-only', { logTypes: ['access'] });
    expect(summary.objects).toBe(manifest.byType.access.objects);
    expect(summary.objectsSkipped.map((s) => s.reason).sort()).toEqual(['connection log (not among the log types selected)', 'health-check log (not among the log types selected)']);
    expect(summary.indexed).toBe(manifest.byType.access.lines - manifest.byType.access.badLines);
  });

  it('loads every type into its own family, every line accounted for, and a re-run adds nothing', async () => {
    for (const type of ['connection', 'health'] as const) await installTemplates(client, { logType: type, indexPrefix: prefixes[type], replicas: 0, log: () => undefined });
    const summary = await backfill('all');
    expect(summary.objects).toBe(manifest.objects.length);
    expect(summary.lines).toBe(manifest.lines);
    expect(summary.failed).toBe(manifest.badLines);
    expect(summary.indexed + summary.failed + summary.skipped).toBe(manifest.lines);
    for (const type of ['access', 'connection', 'health'] as const) {
      expect(await count(prefixes[type])).toBe(manifest.byType[type].lines - manifest.byType[type].badLines);
    }
    expect(manifest.byType.connection.badLines + manifest.byType.health.badLines).toBeGreaterThan(0);
    const again = await backfill('again');
    expect(again.duplicatesOverwritten).toBe(again.indexed);
    const all = Object.values(prefixes).map((p) => `${p}-*`).join(',');
    await refresh(client, all);
    expect(await countDuplicates(client, all)).toBe(0);
    expect(await countDocuments(client, all)).toBe(manifest.lines - manifest.badLines);
  }, 120_000);
});
