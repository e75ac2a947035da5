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
// the other families' prefixes must not start with the access prefix (its pattern would match them)
const connectionPrefix = `t7c-cli-${process.pid}`;
const healthPrefix = `t7h-cli-${process.pid}`;
const prefixArgs = ['--prefix', prefix, '--connection-prefix', connectionPrefix, '--health-prefix', healthPrefix];

/** `albatross setup-templates <args>`. */
function cli(args: string[], env: Record<string, string | undefined> = {}): Promise<CliResult> {
  return runCli(['setup-templates', ...args], { env });
}

afterAll(async () => {
  const base = process.env.OPENSEARCH_URL!;
  for (const p of [prefix, connectionPrefix, healthPrefix]) {
    await fetch(`${base}/_index_template/${p}`, { method: 'DELETE' });
    for (const name of [`${p}-settings`, `${p}-mappings`]) await fetch(`${base}/_component_template/${name}`, { method: 'DELETE' });
  }
});

describe('albatross setup-templates', () => {
  it('installs the three index families, verifies and reports; a second run says nothing changed', async () => {
    const first = await cli([...prefixArgs, '--replicas', '0']);
    expect(first.stderr).toBe('');
    expect(first.code).toBe(0);
    for (const p of [prefix, connectionPrefix, healthPrefix]) expect(first.stdout).toContain(`created   index template ${p} (${p}-*, priority 200)`);
    expect(first.stdout).toContain(`connection logs (${connectionPrefix}-*):`);
    // The embedded engine has no ISM plugin (another cluster may have one: then the policy is installed too).
    if (EMBEDDED_ENGINE) expect(first.stdout).toMatch(/skipped {3}ISM policy .*no ISM plugin/);
    else expect(first.stdout).toMatch(/ISM policy /);
    expect(first.stdout.match(/Verified with _simulate_index on .*: (\d+)\/\1 fields mapped as expected, dynamic: strict/g)).toHaveLength(3);
    expect(first.stdout).toMatch(/@timestamp\s+date_nanos/);
    expect(first.stdout).toMatch(/aws\.elb\.conn_trace_id\s+keyword/);
    expect(first.stdout).toMatch(/destination\.ip\s+ip/);
    expect(first.stdout).toMatch(EMBEDDED_ENGINE ? /Done: 9 changes applied\./ : /Done: \d+ changes applied\./);
    const second = await cli([...prefixArgs, '--replicas', '0']);
    expect(second.code).toBe(0);
    expect(second.stdout).toContain('Nothing to change: everything was already installed and up to date.');
  }, 240_000);

  it('--log-types installs only the families named; overlapping prefixes are refused', async () => {
    const result = await cli(['--dry-run', '--endpoint', 'http://127.0.0.1:1', '--prefix', 'dry', '--log-types', 'health']);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('PUT /_component_template/alb-health-mappings');
    expect(result.stdout).not.toContain('dry-mappings');
    const overlap = await cli(['--dry-run', '--endpoint', 'http://127.0.0.1:1', '--prefix', 'alb']);
    expect(overlap.code).toBe(1);
    expect(overlap.stderr).toContain('setup-templates failed: Index prefixes overlap: the access prefix "alb" also matches the connection indices alb-connection-*');
    const unknown = await cli(['--dry-run', '--log-types', 'access,nlb']);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain('must be a comma-separated list of access, connection, health');
  }, 120_000);

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

  it('--replayer-role-arn plans the mapping of the replayer role to the Firehose security role; a non-role ARN fails with exit 1', async () => {
    const arn = 'arn:aws:iam::123456789012:role/Albatross-replayer';
    const result = await cli(['--dry-run', '--endpoint', 'http://127.0.0.1:1', '--prefix', 'dry', '--replayer-role-arn', arn]);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('PUT /_plugins/_security/api/roles/dry-firehose\n{');
    expect(result.stdout).toContain(`PUT /_plugins/_security/api/rolesmapping/dry-firehose\n{\n  "backend_roles": [\n    "${arn}"\n  ]\n}`);
    const bad = await cli(['--dry-run', '--endpoint', 'http://127.0.0.1:1', '--prefix', 'dry', '--replayer-role-arn', 'arn:aws:iam::123456789012:user/alice']);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('setup-templates failed: Replayer role ARN "arn:aws:iam::123456789012:user/alice" is not an IAM role ARN');
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
      expect(objects.filter((o) => o.type === 'index-pattern').map((o) => o.attributes.title)).toEqual(['web-logs-*', 'alb-connection-*', 'alb-health-*']);
      expect(objects.filter((o) => o.type === 'dashboard')).toHaveLength(3);
      expect(result.stdout).toContain(`Wrote ${objects.length} Dashboards saved objects to ${file}`);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }, 120_000);
});
