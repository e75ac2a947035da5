// The log-type registry: keys and lines route to the right parser, and each type's schema drives a
// valid strict mapping and its field reference; real documents of each type index under that
// mapping in the embedded OpenSearch.
import { readFileSync } from 'node:fs';
import type { Client } from '@opensearch-project/opensearch';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LOG_TYPE_FIELD_DOCS_PATHS, renderLogTypeFieldDocs } from '../../scripts/generate-field-docs.ts';
import { createOpenSearchClient } from '../../templates/opensearch-client.ts';
import { isLogType, LOG_TYPE_SPECS, LOG_TYPES, logTypeOfKey, logTypeOfLine, type LogType } from '../../transform/log-types.ts';
import { buildMappings, flattenMappingTypes } from '../../transform/schema/mapping.ts';
import { allAccessLogLines, allConnectionLogLines, allHealthLogLines, itSamples, readSampleLines, type SourcedLine } from '../samples.ts';

/** Each type's lines: the corpus (test/corpus/), then the public samples when present. */
const LINES_OF: Record<LogType, () => SourcedLine[]> = { access: allAccessLogLines, connection: allConnectionLogLines, health: allHealthLogLines };

describe('log types', () => {
  itSamples('routes the sample keys by file name: conn_log. and conn_log_, health_check_log_, access; NLB and control files have none', () => {
    const keys = readSampleLines('aws-docs_s3-key-examples.txt').filter((line) => !line.startsWith('#'));
    // the third is the older doc's template with placeholders (no account digits), not a key
    expect(keys.map((key) => logTypeOfKey(key))).toEqual(['access', 'connection', undefined, 'health', 'access', 'access', 'access', undefined]);
    expect(logTypeOfKey('AWSLogs/123456789012/elasticloadbalancing/us-east-2/2022/05/01/conn_log.123456789012_elasticloadbalancing_us-east-2_app.my-lb.1234567890abcdef_20220215T2340Z_172.160.001.192_20sg8hgm.log.gz')).toBe('connection');
    expect(logTypeOfKey('AWSLogs/1/elasticloadbalancing/us-east-1/2016/05/01/1_elasticloadbalancing_us-east-1_net.my-nlb.1234567890abcdef_201605010000Z_2soosksi.log.gz')).toBeUndefined();
  });

  it('guesses each corpus and sample line\'s type from its shape', () => {
    for (const type of LOG_TYPES) {
      const guessed = LINES_OF[type]().map(({ line }) => logTypeOfLine(line));
      expect(new Set(guessed), type).toEqual(new Set([type]));
    }
  });

  it('each parser parses its own lines and rejects the other types\' lines with a reason', () => {
    for (const type of LOG_TYPES) {
      for (const other of LOG_TYPES) {
        const results = LINES_OF[other]().map(({ line }) => LOG_TYPE_SPECS[type].parse(line).kind);
        expect(new Set(results), `${type} parser on ${other} lines`).toEqual(new Set([type === other ? 'document' : 'failed']));
      }
    }
  });

  it('has distinct default index prefixes, none a prefix of another\'s daily index names', () => {
    const prefixes = LOG_TYPES.map((type) => LOG_TYPE_SPECS[type].defaultIndexPrefix);
    expect(prefixes).toEqual(['alb-logs', 'alb-connection', 'alb-health']);
    for (const a of prefixes) for (const b of prefixes) if (a !== b) expect(`${b}-`.startsWith(a)).toBe(false);
    expect(isLogType('health')).toBe(true);
    expect(isLogType('nlb')).toBe(false);
  });

  it('builds a strict mapping for each schema, with the join field typed alike in access and connection indices', () => {
    const types = Object.fromEntries(LOG_TYPES.map((type) => [type, flattenMappingTypes(buildMappings(LOG_TYPE_SPECS[type].fields).properties)]));
    expect(types['connection']!.get('aws.elb.conn_trace_id')).toBe('keyword');
    expect(types['access']!.get('aws.elb.conn_trace_id')).toBe('keyword');
    expect(types['connection']!.get('tls.client.x509.not_after')).toBe('date_nanos');
    expect(types['health']!.get('destination.ip')).toBe('ip');
    expect(types['health']!.get('event.duration')).toBe('long');
  });

  it('docs/fields-connection.md and docs/fields-health.md are the generator output (npm run docs:fields)', () => {
    for (const [type, file] of Object.entries(LOG_TYPE_FIELD_DOCS_PATHS)) {
      const docs = readFileSync(file, 'utf8');
      expect(docs).toBe(renderLogTypeFieldDocs(type as 'connection' | 'health'));
      for (const field of LOG_TYPE_SPECS[type as LogType].fields) expect(docs).toContain(`| \`${field.path}\` |`);
    }
  });
});

describe('connection and health documents in OpenSearch (strict mapping)', () => {
  let client: Client;
  const index = (type: LogType) => `t-logtypes-${type}-${process.pid}`;
  const types = ['connection', 'health'] as const;

  beforeAll(async () => {
    client = createOpenSearchClient({ endpoint: process.env.OPENSEARCH_URL! });
    for (const type of types) {
      await client.indices.delete({ index: index(type) }, { ignore: [404] });
      await client.indices.create({ index: index(type), body: { settings: { number_of_replicas: 0 }, mappings: buildMappings(LOG_TYPE_SPECS[type].fields) as never } });
    }
  });
  afterAll(async () => {
    for (const type of types) await client.indices.delete({ index: index(type) }, { ignore: [404] });
    await client.close();
  });

  it.each(types)('indexes every %s corpus and sample line (with source and original) without a rejection', async (type) => {
    const lines = LINES_OF[type]().map(({ line }) => line);
    const documents = lines.map((line, offset) => {
      const result = LOG_TYPE_SPECS[type].parseToJson(line, { source: { bucket: 'b', key: 'k.log.gz', offset }, original: true });
      if (result.kind !== 'document') throw new Error(result.reason);
      return result.json;
    });
    const body = documents.flatMap((document) => ['{"index":{}}', document]).join('\n') + '\n';
    const response = await client.transport.request({ method: 'POST', path: `/${index(type)}/_bulk`, querystring: { refresh: 'true' }, body, bulkBody: undefined as never });
    const items = (response.body as { items: { index: { status: number; error?: unknown } }[] }).items;
    expect(items.filter((item) => item.index.status >= 300)).toEqual([]);
    expect(items).toHaveLength(lines.length);
  });
});
