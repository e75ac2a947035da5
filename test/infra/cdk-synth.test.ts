// `npx cdk synth` as a user runs it: the real CLI, cdk.json's app command, no AWS credentials or config,
// no instance metadata, no Docker. It must produce the template and the bundled assets without lookups.
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const REPO_ROOT = path.resolve(import.meta.dirname, '../..');
const workdir = mkdtempSync(path.join(tmpdir(), 'albatross-cdk-cli-'));
const outdir = path.join(workdir, 'cdk.out');
afterAll(() => rmSync(workdir, { recursive: true, force: true }));

// A `docker` first on PATH that records any call and fails: bundling must never reach for Docker.
const dockerMarker = path.join(workdir, 'docker-was-called');
const fakeBin = path.join(workdir, 'bin');
mkdirSync(fakeBin);
writeFileSync(path.join(fakeBin, 'docker'), `#!/bin/sh\necho "$@" >> '${dockerMarker}'\nexit 1\n`);
chmodSync(path.join(fakeBin, 'docker'), 0o755);

function offlineEnvironment(): NodeJS.ProcessEnv {
  const env = Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.startsWith('AWS_') && !key.startsWith('CDK_')));
  return {
    ...env,
    AWS_CONFIG_FILE: path.join(workdir, 'no-aws-config'),
    AWS_SHARED_CREDENTIALS_FILE: path.join(workdir, 'no-aws-credentials'),
    AWS_EC2_METADATA_DISABLED: 'true',
    CDK_DISABLE_CLI_TELEMETRY: 'true',
    PATH: `${fakeBin}${path.delimiter}${env.PATH ?? ''}`,
  };
}

describe('npx cdk synth', () => {
  it('synthesizes offline with context values, bundling locally and passing cdk-nag', () => {
    const contextFileBefore = existsSync(path.join(REPO_ROOT, 'cdk.context.json'));
    const result = spawnSync(
      'npx',
      ['cdk', 'synth', '--quiet', '--no-notices', '--output', outdir, '-c', 'alarmEmail=ops@example.com', '-c', 'indexPrefix=weblogs'],
      { cwd: REPO_ROOT, env: offlineEnvironment(), encoding: 'utf8', timeout: 280_000 },
    );
    expect(result.status, `${result.stdout}\n${result.stderr}`).toBe(0);
    expect(existsSync(dockerMarker), 'docker was called').toBe(false);
    expect(result.stderr).not.toMatch(/docker/i);
    const template = JSON.parse(readFileSync(path.join(outdir, 'Albatross.template.json'), 'utf8'));
    const types = Object.values(template.Resources as Record<string, { Type: string; Properties: any }>);
    expect(types.find((r) => r.Type === 'AWS::SNS::Subscription')?.Properties.Endpoint).toBe('ops@example.com');
    expect(types.find((r) => r.Type === 'AWS::KinesisFirehose::DeliveryStream')?.Properties.AmazonopensearchserviceDestinationConfiguration.IndexName).toBe('weblogs');
    const bundles = readdirSync(outdir).filter((entry) => entry.startsWith('asset.') && existsSync(path.join(outdir, entry, 'index.mjs')));
    // loader, backfill worker (the loader's code with the enrichment data), replayer, templates installer, the transform with enrichment data (access) and without (connection, health)
    expect(bundles).toHaveLength(6);
    // the backfill queue and its DLQ beside the log queue and its DLQ; the worker with bounded reserved concurrency
    expect(types.filter((r) => r.Type === 'AWS::SQS::Queue')).toHaveLength(4);
    const worker = types.find((r) => r.Type === 'AWS::Lambda::Function' && String(r.Properties.Description).startsWith('Albatross: backfill worker'));
    expect(worker?.Properties.ReservedConcurrentExecutions).toBe(2);
    expect(Object.keys(template.Outputs)).toEqual(expect.arrayContaining(['BackfillQueueUrl', 'BackfillTableName']));
    const report = JSON.parse(readFileSync(path.join(outdir, 'validation-report.json'), 'utf8'));
    expect(report.pluginReports.flatMap((r: { violations?: unknown[] }) => r.violations ?? [])).toEqual([]);
    // No context lookup happened, so nothing was cached.
    expect(existsSync(path.join(REPO_ROOT, 'cdk.context.json'))).toBe(contextFileBefore);
  }, 300_000);
});
