// The stack's SecuritySetup output read back by `setup-templates --stack`: what it accepts, what it refuses
// (with the field named), and the installation of each family it describes.
import { describe, expect, it } from 'vitest';
import { parseSecuritySetup, securitySetupInstalls, type SecuritySetup } from '../../templates/security-setup.ts';

const arn = (name: string) => `arn:aws:iam::123456789012:role/${name}`;
const SETUP: SecuritySetup = {
  version: 1, endpoint: 'https://search-x.eu-west-1.es.amazonaws.com', retentionDays: 30, replicas: 0,
  families: [{ logType: 'access', indexPrefix: 'alb-logs', firehoseRoleArn: arn('firehose') }, { logType: 'health', indexPrefix: 'alb-health' }],
  loaderRoleArn: arn('loader'), replayerRoleArn: arn('replayer'), backfillRoleArn: arn('backfill'),
  dashboardsRoleArn: arn('dashboards'), adminRoleArns: [arn('admins'), arn('break-glass')], installerRoleArn: arn('installer'),
};
const withChange = (change: Record<string, unknown>) => JSON.stringify({ ...SETUP, ...change });

describe('parseSecuritySetup', () => {
  it('reads what the stack writes, CloudFormation\'s string numbers and empty values included', () => {
    expect(parseSecuritySetup(JSON.stringify(SETUP))).toEqual(SETUP);
    const strings = parseSecuritySetup(withChange({ retentionDays: '14', shards: '3', replicas: '', loaderRoleArn: '', adminRoleArns: [] }));
    expect(strings).toMatchObject({ retentionDays: 14, shards: 3 });
    expect(strings).not.toHaveProperty('replicas');
    expect(strings).not.toHaveProperty('loaderRoleArn');
    expect(strings).not.toHaveProperty('adminRoleArns');
  });

  it.each([
    ['not JSON', '{', /not JSON/],
    ['another version', withChange({ version: 2 }), /version 2; this albatross reads version 1/],
    ['no endpoint', withChange({ endpoint: 'search-x.es.amazonaws.com' }), /endpoint must be an http\(s\) URL/],
    ['no installer', withChange({ installerRoleArn: '' }), /installerRoleArn is missing/],
    ['no retention', withChange({ retentionDays: undefined }), /retentionDays is missing/],
    ['a negative count', withChange({ shards: -1 }), /shards must be a non-negative integer/],
    ['no family', withChange({ families: [] }), /at least one index family/],
    ['an unknown log type', withChange({ families: [{ logType: 'nlb', indexPrefix: 'x' }] }), /families\[0\]\.logType must be access, connection or health/],
    ['a family without prefix', withChange({ families: [{ logType: 'access' }] }), /families\[0\]\.indexPrefix is missing/],
    ['admins not a list', withChange({ adminRoleArns: arn('admins') }), /adminRoleArns must be a list of ARNs/],
  ])('refuses %s, naming what is wrong', (_what, text, message) => {
    expect(() => parseSecuritySetup(text)).toThrow(message);
  });
});

describe('securitySetupInstalls', () => {
  it('one installation per family: its own prefix and Firehose role, the shared roles and the installer in each', () => {
    const installs = securitySetupInstalls(SETUP);
    expect(installs.map((i) => [i.logType, i.indexPrefix, i.firehoseRoleArn])).toEqual([['access', 'alb-logs', arn('firehose')], ['health', 'alb-health', undefined]]);
    for (const install of installs) {
      expect(install).toMatchObject({
        retentionDays: 30, replicas: 0, loaderRoleArn: arn('loader'), replayerRoleArn: arn('replayer'), backfillRoleArn: arn('backfill'),
        dashboardsRoleArn: arn('dashboards'), adminRoleArns: [arn('admins'), arn('break-glass')], installerRoleArn: arn('installer'),
      });
      expect(install).not.toHaveProperty('shards');
    }
  });
});
