import { describe, expect, it } from 'vitest';
import { SCHEMA_FIELDS, type SchemaField } from '../../../transform/schema/fields.ts';
import {
  KEYWORD_IGNORE_ABOVE,
  LONG_KEYWORD_IGNORE_ABOVE,
  buildMappings,
  flattenMappingTypes,
  leafMapping,
} from '../../../transform/schema/mapping.ts';

describe('buildMappings', () => {
  const mappings = buildMappings();
  const types = flattenMappingTypes(mappings.properties);

  it('is strict and does not guess types', () => {
    expect(mappings.dynamic).toBe('strict');
    expect(mappings.date_detection).toBe(false);
    expect(mappings.numeric_detection).toBe(false);
  });

  it('maps every schema field at its dotted path with its type', () => {
    for (const field of SCHEMA_FIELDS) expect(types.get(field.path), field.path).toBe(field.type);
  });

  it('nests dotted paths into object properties', () => {
    const http = mappings.properties.http as { properties: Record<string, { properties: Record<string, unknown> }> };
    expect(http.properties.response!.properties.status_code).toEqual({ type: 'integer', ignore_malformed: true });
    // Summed by the dashboards, rarely filtered: doc values only (still searchable through them).
    expect(http.properties.response!.properties.bytes).toEqual({ type: 'long', ignore_malformed: true, index: false });
  });

  it('turns the schema\'s storage attributes into doc_values and index settings, and .text keeps no positions', () => {
    expect(leafMapping({ path: 'x', type: 'keyword', aggregatable: false, description: '' })).toEqual({ type: 'keyword', ignore_above: KEYWORD_IGNORE_ABOVE, doc_values: false });
    expect(leafMapping({ path: 'x', type: 'long', indexed: false, description: '' })).toEqual({ type: 'long', ignore_malformed: true, index: false });
    expect(leafMapping({ path: 'x', type: 'keyword', text: true, description: '' }).fields).toEqual({ text: { type: 'text', norms: false, index_options: 'freqs' } });
    // What the dashboards and the demo's report aggregate on keeps its doc values.
    const leaf = (path: string) => path.split('.').reduce((m: any, k) => m.properties[k], mappings as any);
    for (const path of ['@timestamp', 'event.duration', 'event.id', 'http.response.status_code', 'url.path', 'source.ip', 'user_agent.original', 'tls.version', 'aws.elb.error.reason', 'http.response.bytes', 'http.request.bytes']) {
      expect(leaf(path).doc_values, path).not.toBe(false);
    }
  });

  it('gives text fields a keyword for aggregations and a .text sub-field for full-text search', () => {
    expect(types.get('url.original')).toBe('keyword');
    expect(types.get('url.original.text')).toBe('text');
    expect(types.get('user_agent.original.text')).toBe('text');
    expect(leafMapping({ path: 'url.original', type: 'keyword', text: true, description: '' }).ignore_above).toBe(LONG_KEYWORD_IGNORE_ABOVE);
    expect(leafMapping({ path: 'url.path', type: 'keyword', description: '' }).ignore_above).toBe(KEYWORD_IGNORE_ABOVE);
  });

  it('lets a malformed number or address be ignored, but never a malformed @timestamp', () => {
    expect(leafMapping({ path: 'source.ip', type: 'ip', description: '' }).ignore_malformed).toBe(true);
    expect(leafMapping({ path: 'event.start', type: 'date_nanos', description: '' }).ignore_malformed).toBe(true);
    expect(leafMapping({ path: '@timestamp', type: 'date_nanos', description: '' }).ignore_malformed).toBeUndefined();
    expect(leafMapping({ path: 'x', type: 'keyword', description: '' }).ignore_malformed).toBeUndefined();
    expect(leafMapping({ path: 'x', type: 'boolean', description: '' }).ignore_malformed).toBeUndefined();
  });

  it('keeps the raw line in _source only', () => {
    expect(leafMapping({ path: 'event.original', type: 'keyword', description: '' })).toEqual({ type: 'keyword', index: false, doc_values: false });
  });

  it('rejects schemas that cannot be mapped', () => {
    const f = (path: string, type: SchemaField['type'] = 'keyword', text = false): SchemaField => ({ path, type, text, description: '' });
    expect(() => buildMappings([f('a.b'), f('a.b')])).toThrow(/defined twice/);
    expect(() => buildMappings([f('a'), f('a.b')])).toThrow(/nested under the value field a/);
    expect(() => buildMappings([f('a.b'), f('a')])).toThrow(/both a value and an object/);
    expect(() => buildMappings([f('a..b')])).toThrow(/empty path segment/);
    expect(() => buildMappings([f('n', 'long', true)])).toThrow(/text: true needs type keyword/);
  });
});
