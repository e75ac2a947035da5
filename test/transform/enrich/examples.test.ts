// The example tables beside the module (transform/enrich/examples.md), row by row, against the
// bundled data: the documentation of what enrichment gives cannot drift from what it gives.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { sharedEnricher } from '../../../transform/enrich/data.ts';

const markdown = readFileSync(new URL('../../../transform/enrich/examples.md', import.meta.url), 'utf8');

/** Rows of the table under `heading`: cells, `—` as undefined, backticks removed. */
function table(heading: string): (string | undefined)[][] {
  const start = markdown.indexOf(heading);
  const next = markdown.indexOf('\n## ', start + heading.length);
  const section = markdown.slice(start, next === -1 ? undefined : next);
  const lines = section.split('\n').filter((line) => line.startsWith('|'));
  return lines.slice(2).map((line) =>
    line.slice(1, -1).split(' | ').map((cell) => cell.trim().replace(/^`|`$/g, '')).map((cell) => (cell === '—' ? undefined : cell)));
}

const enricher = sharedEnricher('all')!;

describe('examples.md', () => {
  const addresses = table('## Client addresses');
  const userAgents = table('## User agents');

  it('has rows to check', () => {
    expect(addresses.length).toBeGreaterThanOrEqual(10);
    expect(userAgents.length).toBeGreaterThanOrEqual(8);
  });

  it.each(addresses)('address %s', (address, country, countryName, continent, city, asNumber, asName) => {
    const found = enricher.ip(address!);
    expect([found?.geo?.country_iso_code, found?.geo?.country_name, found?.geo?.continent_name, found?.geo?.city_name,
      found?.as?.number === undefined ? undefined : String(found.as.number), found?.as?.organization_name])
      .toEqual([country, countryName, continent, city, asNumber, asName]);
    if (country !== undefined) {
      expect(Math.abs(found!.geo!.location!.lat)).toBeLessThanOrEqual(90);
      expect(Math.abs(found!.geo!.location!.lon)).toBeLessThanOrEqual(180);
    } else {
      expect(found?.geo).toBeUndefined();
    }
  });

  it.each(userAgents)('user agent %s', (userAgent, name, version, osName, osVersion, device) => {
    const fields = enricher.userAgent(userAgent!)?.fields;
    expect([fields?.name, fields?.version, fields?.os?.name, fields?.os?.version, fields?.device?.name]).toEqual([name, version, osName, osVersion, device]);
  });
});
