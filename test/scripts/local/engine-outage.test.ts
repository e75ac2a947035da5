// An engine outage in the local pipeline, on the real embedded engine: the engine's own write block
// refuses every `_bulk` while documents flow, the local stream backs them up once its (shorter)
// retry window closes, and the replay after the outage brings every one back: the run still
// balances, with nothing doubled.
import './quiet-lambdas.ts';
import { readdir, readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { Client } from '@opensearch-project/opensearch';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runPipeline, type PipelineResult } from '../../../scripts/local/pipeline.ts';
import { OPENSEARCH_FAILED, type FirehoseErrorRecord } from '../../../scripts/local/delivery-stream.ts';
import { installTemplates } from '../../../templates/install.ts';
import { removeIndicesAndTemplates } from '../../opensearch-cleanup.ts';

const GENERATE = { lines: 6000, days: 1, seed: 5, files: 6, badLines: 4, end: new Date('2026-01-01T00:00:00Z') };

async function files(root: string): Promise<string[]> {
  try {
    return (await readdir(root, { recursive: true, withFileTypes: true })).filter((e) => e.isFile()).map((e) => path.join(e.parentPath, e.name));
  } catch {
    return [];
  }
}

describe('local pipeline with an engine outage', () => {
  const client = new Client({ node: process.env.OPENSEARCH_URL! });
  const prefix = `test-outage-${Date.now()}`;
  let result: PipelineResult;

  beforeAll(async () => {
    await installTemplates(client, { indexPrefix: prefix, replicas: 0, log: () => undefined });
    result = await runPipeline({
      client,
      indexPrefix: prefix,
      generate: GENERATE,
      throttleRate: 0.3,
      engineOutageMs: 4_000,
      // Small buffers: many deliveries, so documents are still flowing when the outage starts.
      bufferSizeBytes: 64 * 1024,
      bufferIntervalMs: 100,
    });
  }, 240_000);

  afterAll(async () => {
    await removeIndicesAndTemplates(client, prefix);
    await client.close();
    await rm(path.dirname(result.failures.backupDirectory), { recursive: true, force: true });
  });

  it('backs documents up during the outage and replays every one of them afterwards', () => {
    expect(result.outage).toMatchObject({ seconds: 4, retryWindowSeconds: 1 });
    expect(result.failures.deliveryFailed).toBeGreaterThan(0);
    expect(result.replayed).toBe(result.failures.deliveryFailed);
    expect(result.outage!.replay).toMatchObject({ documentsFailed: 0, objectsPartial: 0, objectsFailed: [] });
    expect(result.outage!.replay.skipped).toBeUndefined();
    expect(result.outage!.replay.objectsReplayed).toBe(result.outage!.replay.objects);
  });

  it('still accounts for every line, with nothing doubled', () => {
    expect(result).toMatchObject({ lines: 6000, indexed: 6000 - 4, failed: 4, skipped: 0, unaccounted: 0, duplicates: 0 });
  });

  it('the backup held what the engine refused (its block), and now sits under errors/replayed/', async () => {
    const root = result.failures.backupDirectory;
    expect(await files(path.join(root, 'errors', OPENSEARCH_FAILED))).toEqual([]);
    const moved = await files(path.join(root, 'errors', 'replayed', OPENSEARCH_FAILED));
    expect(moved.length).toBe(result.outage!.replay.objectsReplayed);
    const records: FirehoseErrorRecord[] = [];
    for (const file of moved) {
      const bytes = await readFile(file);
      const text = bytes[0] === 0x1f ? gunzipSync(bytes).toString('utf8') : bytes.toString('utf8');
      for (const line of text.split('\n')) if (line) records.push(JSON.parse(line) as FirehoseErrorRecord);
    }
    expect(records).toHaveLength(result.replayed);
    for (const record of records) {
      expect(record).toMatchObject({ errorCode: '429', esIndexName: expect.stringMatching(new RegExp(`^${prefix}-\\d{4}-\\d{2}-\\d{2}$`)) });
      expect(record.errorMessage).toContain('cluster_block_exception');
    }
  });

  it('leaves the indices writable', async () => {
    const settings = await client.indices.getSettings({ index: `${prefix}-*`, flat_settings: true });
    for (const index of Object.values(settings.body as Record<string, { settings: Record<string, string> }>)) {
      expect(index.settings['index.blocks.read_only_allow_delete']).toBeUndefined();
    }
  });
});
