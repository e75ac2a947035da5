import { gunzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { generateObjects, type GeneratedObject } from '../../../scripts/local/generator.ts';
import { sharedEnricher } from '../../../transform/enrich/data.ts';
import { parseAlbLine } from '../../../transform/parser/index.ts';
import { parseAlbObjectKey } from '../../../transform/source/s3-key.ts';
import { LOG_TYPE_SPECS, logTypeOfKey } from '../../../transform/log-types.ts';
import { parseConnectionLine } from '../../../transform/parser/connection.ts';
import { parseHealthLine } from '../../../transform/parser/health.ts';

const OPTIONS = { lines: 6000, days: 2, seed: 42, files: 6, badLines: 12, end: new Date('2026-01-01T00:00:00Z') };

function linesOf(object: GeneratedObject): string[] {
  const text = gunzipSync(object.body).toString('utf8');
  expect(text.endsWith('\n')).toBe(true);
  return text.slice(0, -1).split('\n');
}

// Token count as ALB defines it: quoted fields or bare runs, separated by single spaces.
function tokens(line: string): number {
  return line.match(/"[^"]*"|[^ ]+/g)?.length ?? 0;
}

describe('generator', () => {
  const objects = [...generateObjects(OPTIONS)];
  const all = objects.flatMap((o) => linesOf(o).map((line, i) => ({ object: o, line, i })));

  it('is deterministic: same options, same keys and bytes; another seed differs', () => {
    const again = [...generateObjects(OPTIONS)];
    expect(again.map((o) => o.key)).toEqual(objects.map((o) => o.key));
    again.forEach((o, i) => expect(o.body.equals(objects[i]!.body)).toBe(true));
    const other = [...generateObjects({ ...OPTIONS, seed: 43 })];
    expect(other[0]!.body.equals(objects[0]!.body)).toBe(false);
  });

  it('writes the requested number of objects and lines, and the manifest matches the content', () => {
    expect(objects).toHaveLength(6);
    expect(objects.reduce((sum, o) => sum + o.lines, 0)).toBe(6000);
    expect(objects.reduce((sum, o) => sum + o.badLines, 0)).toBe(12);
    for (const o of objects) {
      const lines = linesOf(o);
      expect(lines).toHaveLength(o.lines);
      expect(gunzipSync(o.body).length).toBe(o.bytes);
    }
  });

  it('uses the ALB key layout, with the delivery date as folder', () => {
    for (const o of objects) {
      expect(o.key).toMatch(
        /^AWSLogs\/123456789012\/elasticloadbalancing\/us-east-2\/\d{4}\/\d{2}\/\d{2}\/123456789012_elasticloadbalancing_us-east-2_app\.albatross-demo\.[0-9a-f]{16}_\d{8}T\d{4}Z_\d+\.\d+\.\d+\.\d+_[0-9a-z]{8}\.log\.gz$/,
      );
      const key = parseAlbObjectKey(o.key);
      expect(key.kind).toBe('access-log');
      // Delivered a few minutes after the interval ends: the folder is that delivery day.
      const delivered = new Date(Date.parse(key.endTime!) + 4 * 60_000).toISOString().slice(0, 10);
      expect(key.date).toBe(delivered);
      // Every line's own time lies in the 5 minutes before the file's end time.
      for (const line of linesOf(o)) {
        const parsed = parseAlbLine(line);
        if (parsed.kind !== 'document') continue;
        const t = Date.parse((parsed.document as unknown as { '@timestamp': string })['@timestamp']);
        expect(t).toBeLessThan(Date.parse(key.endTime!));
        expect(t).toBeGreaterThanOrEqual(Date.parse(key.endTime!) - 300_000);
      }
    }
  });

  it('malformed lines are exactly the ones listed, and the parser fails each with a reason', () => {
    let failed = 0;
    for (const { object, line, i } of all) {
      const parsed = parseAlbLine(line);
      if (object.badLineNumbers.includes(i)) {
        expect(parsed.kind, line).toBe('failed');
        if (parsed.kind === 'failed') expect(parsed.reason.length).toBeGreaterThan(5);
        failed++;
      } else {
        expect(parsed.kind, `${parsed.kind === 'failed' ? parsed.reason : ''}: ${line}`).toBe('document');
      }
    }
    expect(failed).toBe(12);
  });

  it('writes processing times as ALB does: the parser types every one and tags no field malformed', () => {
    const documents = all.filter(({ object, i }) => !object.badLineNumbers.includes(i) && logTypeOfKey(object.key) === 'access')
      .map(({ line }) => parseAlbLine(line)).flatMap((parsed) => (parsed.kind === 'document' ? [parsed.document] : []));
    expect(documents.length).toBeGreaterThan(4000);
    const malformed = documents.flatMap((d) => (d.tags ?? []).filter((t) => t.startsWith('malformed_')));
    expect([...new Set(malformed)]).toEqual([]);
    // Requests that reached no target (redirects, fixed responses, WAF blocks): -1, so no processing time.
    expect(all.some(({ line }) => / -1 -1 -1 /.test(line))).toBe(true);
  });

  it('mixes in the requested empty lines at other positions than the malformed ones, counted per object', () => {
    const withEmpty = [...generateObjects({ ...OPTIONS, emptyLines: 15 })];
    expect(withEmpty.reduce((sum, o) => sum + o.lines, 0)).toBe(6000);
    expect(withEmpty.reduce((sum, o) => sum + o.emptyLines, 0)).toBe(15);
    for (const o of withEmpty) {
      const lines = linesOf(o);
      expect(lines).toHaveLength(o.lines);
      expect(lines.filter((line) => line === '')).toHaveLength(o.emptyLines);
      for (const i of o.badLineNumbers) expect(lines[i]).not.toBe('');
    }
    expect(withEmpty.reduce((sum, o) => sum + o.badLines, 0)).toBe(12);
    expect(objects.every((o) => o.emptyLines === 0)).toBe(true);
  });

  it('has realistic variety: types, clients, statuses, actions, TLS, escapes and field counts', () => {
    const good = all.filter(({ object, i }) => !object.badLineNumbers.includes(i)).map(({ line }) => line);
    const docs = good.map((line) => (parseAlbLine(line) as { document: any }).document);
    expect(new Set(docs.map((d) => d.aws.elb.type))).toEqual(new Set(['http', 'https', 'h2', 'grpcs', 'ws', 'wss']));
    expect(docs.some((d) => d.source.ip.includes(':'))).toBe(true);  // unbracketed IPv6 clients
    expect(docs.some((d) => !d.source.ip.includes(':'))).toBe(true);
    const statuses = new Set(docs.map((d) => d.http.response.status_code));
    for (const status of [200, 301, 302, 304, 403, 404, 460, 500, 502, 503, 504]) expect(statuses, String(status)).toContain(status);
    const actions = (d: any): string[] => d.aws.elb.action_executed ?? [];
    expect(docs.some((d) => actions(d).includes('redirect') && d.aws.elb.backend === undefined && d.aws.elb.redirect_url)).toBe(true);
    expect(docs.some((d) => actions(d).includes('fixed-response') && d.aws.elb.backend === undefined)).toBe(true);
    expect(new Set(docs.map((d) => d.tls?.version).filter(Boolean))).toEqual(new Set(['1.2', '1.3']));
    expect(good.some((line) => /"[^"]*\\x[0-9A-F]{2}[^"]*"/.test(line))).toBe(true);
    expect(new Set(good.map(tokens))).toEqual(new Set([29, 30, 33, 34]));
    // A few paths dominate (Zipf-like).
    const byPath = new Map<string, number>();
    for (const d of docs) byPath.set(d.url.path, (byPath.get(d.url.path) ?? 0) + 1);
    const counts = [...byPath.values()].sort((a, b) => b - a);
    expect(counts[0]! / docs.length).toBeGreaterThan(0.2);
    expect(counts.slice(0, 5).reduce((a, b) => a + b, 0) / docs.length).toBeGreaterThan(0.5);
    expect(byPath.size).toBeGreaterThan(15);
    // Long-tailed latency: the slowest 1 % is far slower than the median.
    const durations = docs.map((d) => d.event.duration).filter((v) => typeof v === 'number').sort((a, b) => a - b);
    const median = durations[Math.floor(durations.length / 2)]!;
    const p99 = durations[Math.floor(durations.length * 0.99)]!;
    expect(p99 / median).toBeGreaterThan(10);
  });

  it('gives clients plausible public addresses from several countries and networks, and some internal ones', () => {
    const enrich = sharedEnricher('geo,as');
    const good = all.filter(({ object, i }) => !object.badLineNumbers.includes(i)).map(({ line }) => line);
    const docs = good.map((line) => (parseAlbLine(line, { enrich }) as { document: any }).document);
    const located = docs.filter((d) => d.source.geo?.country_iso_code !== undefined);
    expect(located.length / docs.length).toBeGreaterThan(0.85);
    expect(located.every((d) => typeof d.source.geo.location.lat === 'number')).toBe(true);
    const countries = new Set(located.map((d) => d.source.geo.country_iso_code));
    for (const country of ['US', 'GB', 'DE', 'JP', 'IN', 'FR']) expect(countries, country).toContain(country);
    expect(countries.size).toBeGreaterThanOrEqual(10);
    expect(new Set(docs.map((d) => d.source.as?.organization?.name).filter(Boolean))).toContain('Amazon.com, Inc.');
    // internal clients: private addresses without location
    expect(docs.some((d) => d.source.ip.startsWith('10.') && d.source.geo === undefined)).toBe(true);
  });
});

describe('generator: connection and health-check logs', () => {
  const options = { ...OPTIONS, connectionLines: 2000, healthLines: 1000 };
  const objects = [...generateObjects(options)];
  const ofType = (type: string) => objects.filter((o) => o.type === type);

  it('leaves the access objects byte for byte as without them, and adds objects in the other key layouts', () => {
    const accessOnly = [...generateObjects(OPTIONS)];
    expect(ofType('access').map((o) => o.body)).toEqual(accessOnly.map((o) => o.body));
    expect(ofType('connection').map((o) => logTypeOfKey(o.key))).toEqual(['connection']);
    expect(ofType('health').map((o) => logTypeOfKey(o.key))).toEqual(['health']);
    expect(ofType('connection')[0]!.key).toMatch(/\/conn_log_123456789012_elasticloadbalancing_us-east-2_app\.albatross-demo\./);
    expect(ofType('health')[0]!.key).toMatch(/\/health_check_log_123456789012_elasticloadbalancing_us-east-2_app\.albatross-demo\./);
  });

  it('every line parses with its type\'s parser except the malformed ones, which fail with a reason', () => {
    for (const type of ['connection', 'health'] as const) {
      const [object] = ofType(type);
      const lines = linesOf(object!);
      expect(lines).toHaveLength(object!.lines);
      const failed = lines.flatMap((line, i) => (LOG_TYPE_SPECS[type].parse(line).kind === 'failed' ? [i] : []));
      expect(failed).toEqual(object!.badLineNumbers);
      expect(object!.badLines).toBe(Math.round((12 * object!.lines) / 6000)); // bad lines in proportion
    }
  });

  it('mixes in handshake failures and failing targets, and connections carry the access requests\' trace ids', () => {
    const connections = linesOf(ofType('connection')[0]!).map((line) => parseConnectionLine(line)).flatMap((r) => (r.kind === 'document' ? [r.document] : []));
    const reasons = new Set(connections.map((d) => d.aws?.elb?.error?.reason).filter((r) => r !== undefined));
    expect(reasons.size).toBeGreaterThan(3);
    expect(connections.filter((d) => d.event?.outcome === 'failure').length / connections.length).toBeGreaterThan(0.02);
    const accessLines = ofType('access').flatMap(linesOf);
    const accessTids = new Set(accessLines.map((line) => line.match(/ (TID_[0-9a-f]{32})/)?.[1]).filter((t) => t !== undefined));
    const joined = connections.filter((d) => accessTids.has(d.aws!.elb!.conn_trace_id!));
    expect(joined.length).toBeGreaterThan(1000);

    const checks = linesOf(ofType('health')[0]!).map((line) => parseHealthLine(line)).flatMap((r) => (r.kind === 'document' ? [r.document] : []));
    const failures = checks.filter((d) => d.event?.outcome === 'failure');
    expect(new Set(failures.map((d) => d.aws?.elb?.error?.reason))).toEqual(new Set(['ResponseCodeMismatch', 'TimedOut', 'ConnectionReset']));
    const failingTargets = new Set(failures.map((d) => d.destination?.address));
    expect(failingTargets.size).toBeGreaterThanOrEqual(2);
  });
});
