// The `albatross backfill` command as a user runs it (a child process), against the embedded engine
// from process.env.OPENSEARCH_URL. The backfill itself is tested in test/scripts/backfill/.
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Client } from '@opensearch-project/opensearch';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { installTemplates } from '../../../templates/install.ts';
import { removeIndicesAndTemplates } from '../../opensearch-cleanup.ts';
import { finished, lastJsonLine, runCli, startCli } from '../../cli.ts';
import { pollUntil } from '../../poll.ts';
import { generateToDirectory } from '../../../scripts/local/generator.ts';
import { countDocuments, countDuplicates, refresh } from '../../../scripts/local/report.ts';

const client = new Client({ node: process.env.OPENSEARCH_URL! });
const prefix = `test-backfill-cli-${process.pid}`;
let work: string;

beforeAll(async () => {
  work = await mkdtemp(path.join(os.tmpdir(), 'albatross-backfill-cli-'));
  await installTemplates(client, { indexPrefix: prefix, replicas: 0, log: () => undefined });
});
afterAll(async () => {
  await removeIndicesAndTemplates(client, prefix);
  await client.close();
  await rm(work, { recursive: true, force: true });
});

describe('albatross backfill', () => {
  it('without AWS credentials, an s3:// source fails with where credentials come from, and exit code 1', async () => {
    const noAws = {
      AWS_ACCESS_KEY_ID: undefined, AWS_SECRET_ACCESS_KEY: undefined, AWS_SESSION_TOKEN: undefined, AWS_PROFILE: undefined,
      AWS_CONFIG_FILE: path.join(work, 'none'), AWS_SHARED_CREDENTIALS_FILE: path.join(work, 'none'),
      AWS_EC2_METADATA_DISABLED: 'true', AWS_CONTAINER_CREDENTIALS_FULL_URI: undefined, AWS_CONTAINER_CREDENTIALS_RELATIVE_URI: undefined,
      AWS_WEB_IDENTITY_TOKEN_FILE: undefined,
    };
    const result = await runCli([
      'backfill', 's3://alb-logs-archive/AWSLogs/', '--endpoint', process.env.OPENSEARCH_URL!, '--prefix', prefix,
      '--no-progress', '--state', path.join(work, 'state.json'), '--failures', path.join(work, 'failures.ndjson'),
    ], { env: noAws, timeoutMs: 60_000 });
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/backfill failed: .*credentials.* \(s3:\/\/ sources use the default AWS credentials chain: AWS_PROFILE/);
  }, 60_000);

  it('Ctrl-C (SIGINT) stops it with exit code 130; run again, it resumes; with the state file lost, a new run rewrites the same documents', async () => {
    const OBJECTS = 16;
    const LINES = 8_000;
    const folder = path.join(work, 'sigint-logs');
    await generateToDirectory(folder, { lines: LINES, days: 1, seed: 41, files: OBJECTS, badLines: 0, end: new Date('2026-02-01T00:00:00Z') });
    const stateFile = path.join(work, 'sigint.state.json');
    const args = ['backfill', folder, '--prefix', prefix, '--state', stateFile, '--failures', path.join(work, 'sigint.failures.ndjson'),
      '--concurrency', '1', '--no-progress', '--json'];
    const documents = async () => {
      await refresh(client, `${prefix}-*`);
      return { count: await countDocuments(client, `${prefix}-*`), duplicates: await countDuplicates(client, `${prefix}-*`) };
    };

    // Ctrl-C once the state file records a completed object: the run stops between objects.
    const child = startCli(args);
    const exit = finished(child, 180_000);
    await pollUntil('the first completed object in the state file', async () => {
      const text = await readFile(stateFile, 'utf8').catch(() => '{}');
      return Object.keys((JSON.parse(text) as { completed?: object }).completed ?? {}).length > 0 ? true : undefined;
    }, { timeoutMs: 150_000, intervalMs: 20 });
    child.kill('SIGINT');
    const interrupted = await exit;
    expect(interrupted.code, interrupted.stderr).toBe(130);
    expect(interrupted.stderr).toContain('Interrupted');
    const first = lastJsonLine(interrupted.stdout);
    expect(first.interrupted).toBe(true);
    expect(first.objectsProcessed).toBeGreaterThanOrEqual(1);
    expect(first.objectsProcessed).toBeLessThan(OBJECTS);
    expect((await documents()).count).toBeLessThan(LINES);

    // The same command again: it resumes after the completed objects and ends with every line once.
    const resumed = await runCli(args, { timeoutMs: 180_000 });
    expect(resumed.code, resumed.stderr).toBe(0);
    const second = lastJsonLine(resumed.stdout);
    expect(second.interrupted).toBe(false);
    expect(second.objectsResumed).toBe(first.objectsProcessed);
    expect(second.objectsResumed + second.objectsProcessed).toBe(OBJECTS);
    expect(await documents()).toEqual({ count: LINES, duplicates: 0 });

    // The state file is lost: everything is indexed again, under the same _id (event.id), so nothing doubles.
    await rm(stateFile);
    const again = await runCli(args, { timeoutMs: 180_000 });
    expect(again.code, again.stderr).toBe(0);
    expect(lastJsonLine(again.stdout)).toMatchObject({ objectsResumed: 0, objectsProcessed: OBJECTS, indexed: LINES, duplicatesOverwritten: LINES });
    expect(await documents()).toEqual({ count: LINES, duplicates: 0 });
  }, 600_000);
});
