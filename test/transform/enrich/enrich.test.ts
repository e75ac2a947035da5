// The enrichment core with data passed in: settings, the AS table on CSV bytes made here, both
// city-record layouts, the caches, and the parser's use of it (JSON text = JSON.stringify of the document).
import { describe, expect, it } from 'vitest';
import { isPublicAddress } from '../../../transform/enrich/address.ts';
import { addressDecimal, AsnTable } from '../../../transform/enrich/asn.ts';
import { sharedEnricher } from '../../../transform/enrich/data.ts';
import { geoFromRecord } from '../../../transform/enrich/geo.ts';
import { createEnricher, formatEnrichSetting, parseEnrichSetting } from '../../../transform/enrich/index.ts';
import { parseAlbLine, parseAlbLineToJson } from '../../../transform/parser/index.ts';

const CHROME = 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36';
/** An ALB line with a given client address and user agent. */
function albLine(client: string, userAgent: string): string {
  return `https 2026-11-26T10:00:00.123456Z app/my-alb/0123456789abcdef ${client}:50718 10.0.0.5:80 0.001 0.002 0.000 200 200 512 1024 ` +
    `"GET https://example.com:443/a HTTP/1.1" "${userAgent}" TLS_AES_128_GCM_SHA256 TLSv1.3 ` +
    'arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/tg/0123456789abcdef "Root=1-6566e3a0-0123456789abcdef01234567" ' +
    '"example.com" "session-reused" 0 2026-11-26T10:00:00.120000Z "forward" "-" "-" "10.0.0.5:80" "200" "-" "-"';
}

describe('enrichment settings', () => {
  it('reads subsets, all and none, and rejects anything else with the accepted values', () => {
    expect(formatEnrichSetting(parseEnrichSetting(undefined))).toBe('geo,as,ua');
    expect(formatEnrichSetting(parseEnrichSetting(''))).toBe('geo,as,ua');
    expect(formatEnrichSetting(parseEnrichSetting('ua, GEO'))).toBe('geo,ua');
    expect(formatEnrichSetting(parseEnrichSetting('none'))).toBe('none');
    expect(formatEnrichSetting(parseEnrichSetting('off'))).toBe('none');
    expect(() => parseEnrichSetting('geo,city')).toThrow(/comma-separated subset of geo, as, ua/);
  });
});

describe('isPublicAddress', () => {
  it('tells public unicast from private, reserved and special-purpose addresses', () => {
    const publicOnes = ['8.8.8.8', '81.2.69.193', '2a00:1450:4001::1', '2001:4860::1'];
    const others = ['10.1.2.3', '172.16.0.1', '192.168.0.1', '100.64.0.1', '127.0.0.1', '169.254.1.1', '0.0.0.0', '192.0.2.1',
      '198.51.100.1', '203.0.113.9', '224.0.0.1', '255.255.255.255', '::', '::1', 'fc00::1', 'fd12::1', 'fe80::1', 'ff02::1', '2001:db8::1'];
    expect(publicOnes.filter((ip) => !isPublicAddress(ip))).toEqual([]);
    expect(others.filter((ip) => isPublicAddress(ip))).toEqual([]);
  });
});

describe('AsnTable', () => {
  const v4 = Buffer.from('16777216,16777471,13335,"Cloudflare, Inc."\n16778240,16779263,38803,Gtelecom Pty Ltd\n134744064,134744319,15169,"Say ""hi"" LLC"\n');
  const v6 = Buffer.from('42540528726795050063891204319802818560,42540528806023212578155541913346768895,2500,WIDE Project\n');
  let v6Reads = 0;
  const table = new AsnTable(() => v4, () => { v6Reads++; return v6; });

  it('finds an address inside an inclusive range, with quoted organisations', () => {
    expect(table.get('1.0.0.0')).toEqual({ number: 13335, organization_name: 'Cloudflare, Inc.' });
    expect(table.get('1.0.0.255')).toEqual({ number: 13335, organization_name: 'Cloudflare, Inc.' });
    expect(table.get('1.0.4.7')).toEqual({ number: 38803, organization_name: 'Gtelecom Pty Ltd' });
    expect(table.get('8.8.8.8')).toEqual({ number: 15169, organization_name: 'Say "hi" LLC' });
  });

  it('finds nothing between or outside ranges', () => {
    for (const ip of ['0.255.255.255', '1.0.1.0', '1.0.8.0', '9.9.9.9', '255.255.255.255']) expect(table.get(ip), ip).toBeUndefined();
  });

  it('reads the IPv6 file only for an IPv6 address', () => {
    expect(v6Reads).toBe(0);
    expect(table.get('2001:200:0:1::5')).toEqual({ number: 2500, organization_name: 'WIDE Project' });
    expect(table.get('2001:201::')).toBeUndefined();
    expect(v6Reads).toBe(1);
  });

  it('turns addresses into the decimal keys of the -num files', () => {
    expect(addressDecimal('1.0.0.0')).toBe('16777216');
    expect(addressDecimal('2001:200::')).toBe('42540528726795050063891204319802818560');
    expect(addressDecimal('::ffff:1.2.3.4')).toBe(String(0xffff01020304));
    expect(addressDecimal('1.2.3')).toBeUndefined();
  });
});

describe('geoFromRecord', () => {
  it('reads the bundled DB-IP layout and adds country and continent names', () => {
    expect(geoFromRecord({ city: 'London', country_code: 'GB', latitude: 51.514301, longitude: -0.0912244, state1: 'England', state2: '', postcode: '' })).toEqual({
      continent_name: 'Europe', country_iso_code: 'GB', country_name: 'United Kingdom', region_name: 'England', city_name: 'London', location: { lat: 51.5143, lon: -0.0912 },
    });
  });
  it('reads the MaxMind GeoIP2 City layout of an own database', () => {
    expect(geoFromRecord({
      city: { names: { en: 'Boxford', de: 'Boxford' } }, continent: { code: 'EU', names: { en: 'Europe' } },
      country: { iso_code: 'GB', names: { en: 'United Kingdom' } }, location: { latitude: 51.75, longitude: -1.25 },
      subdivisions: [{ iso_code: 'WBK', names: { en: 'West Berkshire' } }],
    })).toEqual({ continent_name: 'Europe', country_iso_code: 'GB', country_name: 'United Kingdom', region_name: 'West Berkshire', city_name: 'Boxford', location: { lat: 51.75, lon: -1.25 } });
  });
  it('gives nothing for empty records', () => {
    expect(geoFromRecord(null)).toBeUndefined();
    expect(geoFromRecord({ country_code: '', city: '' })).toBeUndefined();
  });
});

describe('createEnricher', () => {
  it('caches lookups per address and per user agent, and counts hits', () => {
    let cityLookups = 0;
    const enricher = createEnricher({
      parts: parseEnrichSetting('geo,ua'),
      city: { get: () => { cityLookups++; return { country_code: 'FR', city: 'Paris', latitude: 48.85, longitude: 2.35 }; } },
    });
    for (let i = 0; i < 3; i++) {
      expect(enricher.ip('90.1.2.3')?.geo?.city_name).toBe('Paris');
      expect(enricher.ip('10.0.0.1')).toBeUndefined();
      expect(enricher.userAgent('curl/8.5.0')?.fields.name).toBe('curl');
    }
    expect(cityLookups).toBe(1);
    expect(enricher.stats()).toEqual({ ipLookups: 6, ipCacheHits: 4, userAgentLookups: 3, userAgentCacheHits: 2, errors: 0 });
  });

  it('turns a failing database into no fields and a counted error, never a throw', () => {
    const enricher = createEnricher({ parts: parseEnrichSetting('geo'), city: { get: () => { throw new Error('damaged tree'); } } });
    expect(enricher.ip('8.8.8.8')).toBeUndefined();
    expect(enricher.stats().errors).toBe(1);
  });

  it('asks for the data its parts need', () => {
    expect(() => createEnricher({ parts: parseEnrichSetting('as') })).toThrow(/as needs an AS database/);
  });

  it('marks results whose strings need JSON escaping', () => {
    const enricher = createEnricher({ parts: parseEnrichSetting('geo'), city: { get: () => ({ country_code: 'US', city: 'Quote "City"' }) } });
    expect(enricher.ip('8.8.8.8')?.clean).toBe(false);
  });
});

describe('parser with enrichment (bundled data)', () => {
  const enricher = sharedEnricher('all')!;

  it('adds geo, AS and user-agent fields for a public client with a desktop Chrome', () => {
    const result = parseAlbLine(albLine('81.2.69.193', CHROME), { enrich: enricher });
    if (result.kind !== 'document') throw new Error(result.kind);
    expect(result.document.source?.geo).toMatchObject({ country_iso_code: 'GB', country_name: 'United Kingdom', continent_name: 'Europe', city_name: 'London' });
    expect(result.document.source?.geo?.location).toEqual({ lat: expect.any(Number), lon: expect.any(Number) });
    expect(result.document.source?.as).toEqual({ number: 20712, organization: { name: 'Andrews & Arnold Ltd' } });
    expect(result.document.user_agent).toMatchObject({ name: 'Chrome', version: '131.0.0.0', os: { name: 'Windows', version: '10' }, device: { name: 'Desktop' } });
  });

  it('adds no geo or AS fields for a private client, and no error', () => {
    const result = parseAlbLine(albLine('10.0.0.140', 'ELB-HealthChecker/2.0'), { enrich: enricher });
    if (result.kind !== 'document') throw new Error(result.kind);
    expect(result.document.source).toEqual({ address: '10.0.0.140', ip: '10.0.0.140', port: 50718 });
    expect(result.document.user_agent).toEqual({ original: 'ELB-HealthChecker/2.0', name: 'ELB-HealthChecker', version: '2.0', device: { name: 'Spider' } });
    expect(result.document.tags).toBeUndefined();
  });

  it('adds nothing without the option, and writes the same JSON as JSON.stringify with it', () => {
    const plain = parseAlbLine(albLine('8.8.8.8', CHROME));
    if (plain.kind !== 'document') throw new Error(plain.kind);
    expect(plain.document.source?.geo).toBeUndefined();
    expect(plain.document.user_agent).toEqual({ original: CHROME });
    for (const [client, userAgent] of [['8.8.8.8', CHROME], ['2001:4860:4860::8888', 'curl/8.5.0'], ['20.78.123.34', '\\x22quoted\\x22 bot/1.0'], ['12.34.178.90.32', 'x']]) {
      const line = albLine(client!, userAgent!);
      const object = parseAlbLine(line, { enrich: enricher });
      const json = parseAlbLineToJson(line, { enrich: enricher });
      if (object.kind !== 'document' || json.kind !== 'document') throw new Error('not a document');
      expect(json.json).toBe(JSON.stringify(object.document));
    }
  });
});
