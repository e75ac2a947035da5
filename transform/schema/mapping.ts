// SCHEMA_FIELDS -> OpenSearch index mappings. The mapping is strict: a document
// with a field the schema does not know is rejected (and ends in the Firehose
// failure backup with the reason) instead of silently growing the mapping.
import { SCHEMA_FIELDS, type FieldType, type SchemaField } from './fields.ts';

/**
 * Keyword values longer than this are kept in _source but not indexed as a term:
 * 1024 characters covers practically every ARN, trace id, host and cipher name.
 */
export const KEYWORD_IGNORE_ABOVE = 1024;
/**
 * Long free-form strings (URLs, user agents) stay aggregatable up to this length;
 * longer values are still searchable through their `.text` sub-field.
 */
export const LONG_KEYWORD_IGNORE_ABOVE = 2048;
/** Name of the full-text sub-field of fields with `text: true`. */
export const TEXT_SUBFIELD = 'text';

export interface LeafMapping {
  type: FieldType | 'text';
  index?: boolean;
  doc_values?: boolean;
  ignore_above?: number;
  ignore_malformed?: boolean;
  norms?: boolean;
  index_options?: 'docs' | 'freqs' | 'positions' | 'offsets';
  fields?: Record<string, LeafMapping>;
}
export interface ObjectMapping {
  properties: Record<string, PropertyMapping>;
}
export type PropertyMapping = LeafMapping | ObjectMapping;

export interface IndexMappings {
  dynamic: 'strict';
  date_detection: false;
  numeric_detection: false;
  properties: Record<string, PropertyMapping>;
}

// The event time must be valid: a document without it cannot be placed on a
// timeline, so a malformed @timestamp rejects the document (and Firehose keeps
// it in the failure backup) rather than indexing it without a time.
const REQUIRED_VALID = new Set(['@timestamp']);
// Types whose malformed values can be dropped individually (kept in _source and
// listed in _ignored) so one bad number or address does not reject the whole line.
const MALFORMED_TOLERANT = new Set<FieldType>(['date_nanos', 'ip', 'integer', 'long', 'float']);
// The raw line is kept for re-processing, not for search or aggregation (as in
// ECS): only in _source, so it costs no index or doc-values space.
const SOURCE_ONLY = new Set(['event.original']);

export function isObjectMapping(mapping: PropertyMapping): mapping is ObjectMapping {
  return 'properties' in mapping;
}

export function leafMapping(field: SchemaField): LeafMapping {
  const mapping: LeafMapping = { type: field.type };
  if (SOURCE_ONLY.has(field.path)) return { ...mapping, index: false, doc_values: false };
  if (field.type === 'keyword') {
    mapping.ignore_above = field.text ? LONG_KEYWORD_IGNORE_ABOVE : KEYWORD_IGNORE_ABOVE;
  }
  if (field.text) {
    if (field.type !== 'keyword') {
      throw new Error(`Schema field ${field.path}: text: true needs type keyword, not ${field.type}`);
    }
    // Term frequencies but no positions: word and wildcard searches work, phrase queries do not
    // (measured: positions cost about 5 bytes per document, docs/cost.md).
    mapping.fields = { [TEXT_SUBFIELD]: { type: 'text', norms: false, index_options: 'freqs' } };
  }
  if (MALFORMED_TOLERANT.has(field.type) && !REQUIRED_VALID.has(field.path)) {
    mapping.ignore_malformed = true;
  }
  if (field.aggregatable === false) mapping.doc_values = false;
  if (field.indexed === false) mapping.index = false;
  return mapping;
}

/** Builds the strict mapping; dotted paths become nested object properties. */
export function buildMappings(fields: readonly SchemaField[] = SCHEMA_FIELDS): IndexMappings {
  const root: Record<string, PropertyMapping> = {};
  const seen = new Set<string>();
  for (const field of fields) {
    if (seen.has(field.path)) throw new Error(`Schema field ${field.path} is defined twice`);
    seen.add(field.path);
    const segments = field.path.split('.');
    if (segments.some((segment) => segment === '')) throw new Error(`Schema field "${field.path}" has an empty path segment`);
    let properties = root;
    for (const [i, segment] of segments.entries()) {
      const prefix = segments.slice(0, i + 1).join('.');
      if (i === segments.length - 1) {
        if (properties[segment]) throw new Error(`Schema field ${field.path} is both a value and an object`);
        properties[segment] = leafMapping(field);
        break;
      }
      const existing = properties[segment] ?? { properties: {} };
      if (!isObjectMapping(existing)) throw new Error(`Schema field ${field.path} is nested under the value field ${prefix}`);
      properties[segment] = existing;
      properties = existing.properties;
    }
  }
  return { dynamic: 'strict', date_detection: false, numeric_detection: false, properties: root };
}

/**
 * Flattens a mapping to dotted path -> type, including multi-field sub-fields
 * (`url.original.text`). Accepts the shape OpenSearch returns as well.
 */
export function flattenMappingTypes(properties: Record<string, unknown>, prefix = ''): Map<string, string> {
  const types = new Map<string, string>();
  for (const [name, value] of Object.entries(properties)) {
    const path = prefix + name;
    const mapping = value as { type?: string; properties?: Record<string, unknown>; fields?: Record<string, unknown> };
    if (mapping.properties) {
      for (const [p, t] of flattenMappingTypes(mapping.properties, `${path}.`)) types.set(p, t);
    }
    if (mapping.type) types.set(path, mapping.type);
    if (mapping.fields) {
      for (const [p, t] of flattenMappingTypes(mapping.fields, `${path}.`)) types.set(p, t);
    }
  }
  return types;
}

/** Types whose fields can be aggregated on (doc values); `text` cannot. */
export const AGGREGATABLE_TYPES: ReadonlySet<string> = new Set(['date_nanos', 'date', 'keyword', 'ip', 'integer', 'long', 'float', 'boolean', 'geo_point']);
