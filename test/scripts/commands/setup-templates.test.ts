// The `albatross setup-templates` command as a user runs it (a child process), against
// the embedded engine from process.env.OPENSEARCH_URL.
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseNdjson } from '../../../templates/dashboards.ts';
import { runCli, type CliResult } from '../../cli.ts';
import { EMBEDDED_ENGINE } from '../../opensearch-mode.ts';

const prefix = `t7-cli-${process.pid}`;

/** `albatross setup-templates <args>`. */
function cli(args: string[], env: Record<string, string | undefined> = {}): Promise<CliResult> {
  return runCli(['setup-templates', ...args], { env });
}

afterAll(async () => {
  const base = process.env.OPENSEARCH_URL!;
  await fetch(`${base}/_index_template/${prefix}`, { method: 'DELETE' });
  for (const name of [`${prefix}-settings`, `${prefix}-mappings`]) await fetch(`${base}/_component_template/${name}`, { method: 'DELETE' });
});

describe('albatross setup-templates', () => {
  it('installs, verifies and reports; a second run says nothing changed', async () => {
    const first = await cli(['--prefix', prefix, '--replicas', '0']);
    expect(first.stderr).toBe('');
    expect(first.code).toBe(0);
    expect(first.stdout).toContain(`created   index template ${prefix} (${prefix}-*, priority 200)`);
    // The embedded engine has no ISM plugin (another cluster may have one: then the policy is installed too).
    if (EMBEDDED_ENGINE) expect(first.stdout).toMatch(/skipped {3}ISM policy .*no ISM plugin/);
    else expect(first.stdout).toMatch(/ISM policy /);
    expect(first.stdout).toMatch(/Verified with _simulate_index on .*: (\d+)\/\1 fields mapped as expected, dynamic: strict/);
    expect(first.stdout).toMatch(/@timestamp\s+date_nanos/);
    expect(first.stdout).toMatch(EMBEDDED_ENGINE ? /Done: 3 changes applied\./ : /Done: \d+ changes applied\./);
    const second = await cli(['--prefix', prefix, '--replicas', '0']);
    expect(second.code).toBe(0);
    expect(second.stdout).toContain('Nothing to change: everything was already installed and up to date.');
  }, 240_000);

  it('--dry-run prints the requests and sends nothing (the endpoint is dead)', async () => {
    const result = await cli(['--dry-run', '--endpoint', 'http://127.0.0.1:1', '--prefix', 'dry']);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('PUT /_component_template/dry-mappings\n{\n  "template": {');
    expect(result.stdout).toContain('POST /_index_template/_simulate_index/dry-');
    expect(result.stdout).toContain('Dry run: nothing was sent.');
  }, 120_000);

  it('--dashboards-role-arn plans the read-only reader role and its mappings; a non-role ARN fails with exit 1', async () => {
    const arn = 'arn:aws:iam::123456789012:role/dashboards-users';
    const result = await cli(['--dry-run', '--endpoint', 'http://127.0.0.1:1', '--prefix', 'dry', '--dashboards-role-arn', arn]);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('PUT /_plugins/_security/api/roles/dry-dashboards-reader\n{');
    expect(result.stdout).toContain(`PUT /_plugins/_security/api/rolesmapping/dry-dashboards-reader\n{\n  "backend_roles": [\n    "${arn}"\n  ]\n}`);
    expect(result.stdout).toContain(`PUT /_plugins/_security/api/rolesmapping/kibana_user\n{\n  "backend_roles": [\n    "${arn}"\n  ]\n}`);
    // Admin stays with the CDK context: the CLI never maps all_access, it only plans to remove an earlier mapping.
    expect(result.stdout).not.toContain('PUT /_plugins/_security/api/rolesmapping/all_access');
    expect(result.stdout).toContain(`planned   role mapping all_access without ${arn}`);

    const bad = await cli(['--dry-run', '--endpoint', 'http://127.0.0.1:1', '--prefix', 'dry', '--dashboards-role-arn', 'arn:aws:iam::123456789012:user/alice']);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('setup-templates failed: Dashboards role ARN "arn:aws:iam::123456789012:user/alice" is not an IAM role ARN (arn:aws:iam::<account>:role/<name>)');
    expect(bad.stdout).not.toContain('PUT /_plugins/_security');
  }, 120_000);

  it('fails with a clear message and exit code 1 for an unreachable endpoint or none at all', async () => {
    const dead = await cli(['--endpoint', 'http://127.0.0.1:1']);
    expect(dead.code).toBe(1);
    expect(dead.stderr).toMatch(/setup-templates failed: Cannot reach OpenSearch \(GET \/\): connect ECONNREFUSED/);
    const none = await cli([], { OPENSEARCH_URL: undefined });
    expect(none.code).toBe(1);
    expect(none.stderr).toContain('No OpenSearch endpoint: pass --endpoint <url> or set OPENSEARCH_URL');
  }, 120_000);

  it('--export-dashboards writes the NDJSON without needing a cluster', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'albatross-dash-'));
    try {
      const file = path.join(dir, 'dash.ndjson');
      const result = await cli(['--export-dashboards', file, '--prefix', 'web-logs'], { OPENSEARCH_URL: undefined });
      expect(result.code).toBe(0);
      const objects = parseNdjson(await readFile(file, 'utf8'));
      expect(objects.find((o) => o.type === 'index-pattern')!.attributes.title).toBe('web-logs-*');
      expect(result.stdout).toContain(`Wrote ${objects.length} Dashboards saved objects to ${file}`);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }, 120_000);
});
