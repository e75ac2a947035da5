// `albatross setup-templates --stack` as a person runs it after deploying (a child process): the stack's
// SecuritySetup output from CloudFormation's DescribeStacks (a loopback stand-in in its wire format, reached by
// the real SDK through AWS_ENDPOINT_URL_CLOUDFORMATION), then the installation with every role mapped, signed
// with SigV4, against the security-API stand-in in front of the real engine.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { runCli } from '../../cli.ts';
import { startCloudFormationStandIn, type CloudFormationStandIn } from '../../cloudformation-stand-in.ts';
import { startSecurityStandIn, type SecurityStandIn } from '../../http-stand-in.ts';
import { SECURITY_SETUP_OUTPUT, type SecuritySetup } from '../../../templates/security-setup.ts';

const role = (name: string) => `arn:aws:iam::123456789012:role/Albatross-${name}`;
const prefix = `t7-stack-${process.pid}`;
const healthPrefix = `t7h-stack-${process.pid}`;
// The stack of the test without admin rights: its own family, so the tests do not see each other's templates.
const otherPrefix = `t7n-stack-${process.pid}`;
let security: SecurityStandIn;
let cloudFormation: CloudFormationStandIn;

function setup(endpoint: string, families: SecuritySetup['families']): SecuritySetup {
  return {
    version: 1, endpoint, retentionDays: 14, replicas: 0, families,
    replayerRoleArn: role('replayer'), backfillRoleArn: role('backfill'), dashboardsRoleArn: role('dashboards'),
    adminRoleArns: [role('admins'), role('break-glass')], installerRoleArn: role('installer'),
  };
}

beforeAll(async () => {
  security = await startSecurityStandIn(process.env.OPENSEARCH_URL!);
  cloudFormation = await startCloudFormationStandIn({
    Albatross: {
      [SECURITY_SETUP_OUTPUT]: JSON.stringify(setup(security.endpoint, [
        { logType: 'access', indexPrefix: prefix, firehoseRoleArn: role('firehose') }, { logType: 'health', indexPrefix: healthPrefix, firehoseRoleArn: role('health-firehose') },
      ])),
    },
    Other: { [SECURITY_SETUP_OUTPUT]: JSON.stringify(setup(security.endpoint, [{ logType: 'access', indexPrefix: otherPrefix, firehoseRoleArn: role('firehose') }])) },
    Old: { DomainEndpoint: 'https://search-old.eu-west-1.es.amazonaws.com' },
  });
});
afterAll(async () => {
  await security.close();
  await cloudFormation.close();
  const base = process.env.OPENSEARCH_URL!;
  for (const p of [prefix, healthPrefix, otherPrefix]) {
    await fetch(`${base}/_index_template/${p}`, { method: 'DELETE' });
    for (const name of [`${p}-settings`, `${p}-mappings`]) await fetch(`${base}/_component_template/${name}`, { method: 'DELETE' });
  }
});
beforeEach(() => security.reset());

const env = () => ({
  AWS_ENDPOINT_URL_CLOUDFORMATION: cloudFormation.endpoint, AWS_REGION: 'eu-west-1', AWS_ACCESS_KEY_ID: 'breakglass', AWS_SECRET_ACCESS_KEY: 'local',
  OPENSEARCH_URL: undefined,
});

describe('albatross setup-templates --stack', () => {
  it('installs each family of the stack and maps every role of it to its FGAC roles, the installer to <prefix>-installer', async () => {
    const result = await runCli(['setup-templates', '--stack', 'Albatross'], { env: env() });
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('(AWS SigV4 (service es, region eu-west-1))');
    expect(result.stdout).toContain('for stack Albatross');
    for (const p of [prefix, healthPrefix]) {
      expect(result.stdout).toContain(`created   index template ${p} (${p}-*, priority 200)`);
      expect(security.mappings.get(`${p}-installer`)?.backend_roles).toEqual([role('installer')]);
      expect(security.mappings.get(`${p}-dashboards-reader`)?.backend_roles).toEqual([role('dashboards')]);
      expect(security.mappings.get(`${p}-loader`)?.backend_roles).toEqual([role('backfill')]);
    }
    expect(security.mappings.get(`${prefix}-firehose`)?.backend_roles).toEqual([role('firehose'), role('replayer')]);
    expect(security.mappings.get(`${healthPrefix}-firehose`)?.backend_roles).toEqual([role('health-firehose'), role('replayer')]);
    expect(security.mappings.get('all_access')?.backend_roles).toEqual([role('admins'), role('break-glass')]);
    // The installer holds nothing but its own role.
    for (const [name, mapping] of security.mappings) if (!name.endsWith('-installer')) expect(mapping.backend_roles, name).not.toContain(role('installer'));
    // The retention of the stack, not the CLI default.
    expect(result.stdout).toMatch(/ISM policy .*retention/);
  }, 120_000);

  it('refuses options the stack provides, a stack without the output and a missing stack, each with what to do', async () => {
    const both = await runCli(['setup-templates', '--stack', 'Albatross', '--prefix', 'x', '--retention-days', '3'], { env: env() });
    expect(both.code).toBe(1);
    expect(both.stderr).toContain('setup-templates failed: --stack takes --prefix, --retention-days from the stack: leave them out');
    const old = await runCli(['setup-templates', '--stack', 'Old'], { env: env() });
    expect(old.code).toBe(1);
    expect(old.stderr).toContain(`stack Old has no ${SECURITY_SETUP_OUTPUT} output: deploy this version of Albatross first`);
    const missing = await runCli(['setup-templates', '--stack', 'Nope'], { env: env() });
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('Stack with id Nope does not exist');
    expect(security.writes).toEqual([]);
  }, 120_000);

  it('run without the admin rights, it stops at the first security request and says to assume the break-glass role', async () => {
    security.caller.roles = ['own_index'];
    const result = await runCli(['setup-templates', '--stack', 'Other'], { env: env() });
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/\(403\).*assume the stack's break-glass role \(output BreakGlassRoleArn\) with MFA/);
    expect(security.writes).toEqual([]);
  }, 120_000);
});
