// End to end on the real embedded engine, with faults on: every generated line must end as exactly
// one indexed document or one preserved failure with its reason; nothing doubled.
import './quiet-lambdas.ts';
import { readdir, readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { gunzipSync } from 'node:zlib';
import { Client } from '@opensearch-project/opensearch';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseStream } from '../../../scripts/commands/parse.ts';
import { generateObjects } from '../../../scripts/local/generator.ts';
import { runPipeline, type PipelineResult } from '../../../scripts/local/pipeline.ts';
import { OPENSEARCH_FAILED, PROCESSING_FAILED, type FirehoseErrorRecord } from '../../../scripts/local/delivery-stream.ts';
import { installTemplates } from '../../../templates/install.ts';
import { removeIndicesAndTemplates } from '../../opensearch-cleanup.ts';

// Empty lines too, as real objects may hold: the loader never sends them, the run counts them as skipped.
// Connection and health-check objects alongside, each type into its own stream and index family.
const GENERATE = { lines: 4000, days: 2, seed: 11, files: 4, badLines: 9, emptyLines: 7, connectionLines: 800, healthLines: 400, end: new Date('2026-01-01T00:00:00Z') };
const generated = [...generateObjects(GENERATE)];
const totalLines = generated.reduce((sum, o) => sum + o.lines, 0);
const totalBad = generated.reduce((sum, o) => sum + o.badLines, 0);

async function errorRecords(directory: string, type: string): Promise<FirehoseErrorRecord[]> {
  const root = path.join(directory, 'errors', type);
  let files: string[];
  try {
    files = (await readdir(root, { recursive: true, withFileTypes: true })).filter((e) => e.isFile()).map((e) => path.join(e.parentPath, e.name));
  } catch {
    return [];
  }
  const records: FirehoseErrorRecord[] = [];
  for (const file of files) {
    for (const line of (await readFile(file, 'utf8')).split('\n')) if (line) records.push(JSON.parse(line) as FirehoseErrorRecord);
  }
  return records;
}

describe('local pipeline with fault injection', () => {
  const client = new Client({ node: process.env.OPENSEARCH_URL! });
  const prefix = `test-pipeline-${Date.now()}`;
  const prefixes = { connection: `tpc-pipeline-${Date.now()}`, health: `tph-pipeline-${Date.now()}` };
  let result: PipelineResult;

  beforeAll(async () => {
    await installTemplates(client, { indexPrefix: prefix, replicas: 0, log: () => undefined });
    for (const type of ['connection', 'health'] as const) await installTemplates(client, { logType: type, indexPrefix: prefixes[type], replicas: 0, log: () => undefined });
    result = await runPipeline({
      client,
      indexPrefix: prefix,
      indexPrefixes: prefixes,
      generate: GENERATE,
      throttleRate: 0.3,
      partialFailureRate: 0.1,
      bulkRejectRate: 0.1,
      // Small buffers so the 4,000 lines make many PutRecordBatch calls, invocations and bulks.
      bufferSizeBytes: 256 * 1024,
      bufferIntervalMs: 200,
    });
  }, 240_000);

  afterAll(async () => {
    for (const p of [prefix, prefixes.connection, prefixes.health]) await removeIndicesAndTemplates(client, p);
    await client.close();
    await rm(path.dirname(result.failures.backupDirectory), { recursive: true, force: true });
  });

  it('faults really happened', () => {
    expect(result.firehose.throttled).toBeGreaterThan(0);
    expect(result.firehose.recordsFailed).toBeGreaterThan(0);
    expect(result.delivery.injectedRejections).toBeGreaterThan(0);
    expect(result.delivery.itemRetries).toBeGreaterThan(0);
  });

  it('accounts for every line exactly: indexed + failed + skipped = lines, no duplicates', async () => {
    expect(result.lines).toBe(4000 + 800 + 400);
    expect(result.lines).toBe(totalLines);
    expect(result.unaccounted).toBe(0);
    expect(result.indexed + result.failed + result.skipped).toBe(result.lines);
    expect(result.failed).toBe(totalBad);
    // The generated objects really hold empty lines, and exactly those are the skipped lines.
    expect([...generateObjects(GENERATE)].reduce((sum, o) => sum + o.emptyLines, 0)).toBe(GENERATE.emptyLines);
    expect(result.emptyLines).toBe(GENERATE.emptyLines);
    expect(result.skipped).toBe(GENERATE.emptyLines);
    expect(result.indexed).toBe(totalLines - totalBad - GENERATE.emptyLines);
    expect(result.duplicates).toBe(0);
    expect(result.failures.deliveryFailed).toBe(0);
    // Counted in the engine, over every index of the run.
    expect(result.indices.reduce((sum, i) => sum + i.docs, 0)).toBe(result.indexed);
  });

  it('accounts for each log type in its own index family', () => {
    for (const type of ['access', 'connection', 'health'] as const) {
      const account = result.byType[type];
      const objects = generated.filter((o) => o.type === type);
      expect(account.objects).toBe(objects.length);
      expect(account.lines).toBe(objects.reduce((sum, o) => sum + o.lines, 0));
      expect(account.failed).toBe(objects.reduce((sum, o) => sum + o.badLines, 0));
      expect(account.indexed).toBeGreaterThan(0);
      expect(account.indexed + account.failed + account.skipped).toBe(account.lines);
      expect(account.unaccounted).toBe(0);
      expect(account.duplicates).toBe(0);
      expect(account.indices.map((i) => i.index.slice(0, -11))).toEqual(account.indices.map(() => (type === 'access' ? prefix : prefixes[type])));
    }
    expect(result.byType.connection.failed).toBeGreaterThan(0);
    expect(result.byType.health.failed).toBeGreaterThan(0);
  });

  it('indexes by arrival date (UTC) like Firehose, not by event time', () => {
    const today = new Date().toISOString().slice(0, 10);
    const yesterday = new Date(Date.now() - 86_400_000).toISOString().slice(0, 10);
    for (const { index } of result.byType.access.indices) expect([`${prefix}-${today}`, `${prefix}-${yesterday}`]).toContain(index);
  });

  it('preserves each malformed line once, raw, with its reason, in the processing-failed backup', async () => {
    const expected = new Set<string>();
    for (const object of generated) {
      const lines = gunzipSync(object.body).toString('utf8').split('\n');
      for (const i of object.badLineNumbers) expected.add(lines[i]!);
    }
    const records = await errorRecords(result.failures.backupDirectory, PROCESSING_FAILED);
    expect(records).toHaveLength(totalBad);
    const preserved = records.map((r) => {
      // rawData is the record as the loader sent it: the envelope header (source) and the raw line.
      const data = Buffer.from(r.rawData, 'base64').toString('utf8');
      expect(data.startsWith('\x1e')).toBe(true);
      expect(r.errorCode).toBe('Lambda.ProcessingFailedStatus');
      expect(r.errorMessage.length).toBeGreaterThan(5);
      expect(r.lambdaArn).toMatch(/^arn:aws:lambda:/);
      expect(typeof r.arrivalTimestamp).toBe('number');
      return data.slice(data.indexOf('\n') + 1);
    });
    expect(new Set(preserved)).toEqual(expected);
    expect(await errorRecords(result.failures.backupDirectory, OPENSEARCH_FAILED)).toHaveLength(0);

    // `albatross parse --firehose-errors` reads these records back: the same lines, the same reasons, the source kept.
    const stdout = new PassThrough();
    const stderr = new PassThrough();
    let err = '';
    stderr.on('data', (chunk) => (err += chunk));
    stdout.resume();
    const stats = await parseStream(Readable.from([Buffer.from(records.map((r) => JSON.stringify(r)).join('\n') + '\n')]), stdout, stderr, { firehoseErrors: true });
    expect(stats).toMatchObject({ lines: totalBad, documents: 0, failed: totalBad });
    const reported = err.trim().split('\n').map((line) => JSON.parse(line) as { error: string; raw: string; source: { bucket: string; key: string; offset: number } });
    expect(reported.map((f) => [f.raw, f.error])).toEqual(records.map((r, i) => [preserved[i], r.errorMessage]));
    for (const f of reported) expect(f.source.key).toMatch(/^AWSLogs\/.*\.log\.gz$/);
  });
});
