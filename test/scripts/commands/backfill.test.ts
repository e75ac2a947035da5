// The `albatross backfill` command as a user runs it (a child process), against the embedded engine
// from process.env.OPENSEARCH_URL. The backfill itself is tested in test/scripts/backfill/.
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { Client } from '@opensearch-project/opensearch';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { installTemplates } from '../../../templates/install.ts';
import { removeIndicesAndTemplates } from '../../opensearch-cleanup.ts';

const exec = promisify(execFile);
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
    const result = await exec('node', [
      'scripts/albatross.mjs', 'backfill', 's3://alb-logs-archive/AWSLogs/', '--endpoint', process.env.OPENSEARCH_URL!, '--prefix', prefix,
      '--no-progress', '--state', path.join(work, 'state.json'), '--failures', path.join(work, 'failures.ndjson'),
    ], { env: { ...process.env, ...noAws }, timeout: 60_000 }).then(() => ({ code: 0, stderr: '' }), (error: { code: number; stderr: string }) => error);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/backfill failed: .*credentials.* \(s3:\/\/ sources use the default AWS credentials chain: AWS_PROFILE/);
  }, 60_000);
});
