// Checks a document against SCHEMA_FIELDS (shared by the drift and fuzz tests).
import { STRUCTURE_TAGS } from '../../../transform/parser/index.ts';
import { jsTypeOf, SCHEMA_FIELDS } from '../../../transform/schema/fields.ts';

export const byPath = new Map<string, (typeof SCHEMA_FIELDS)[number]>(SCHEMA_FIELDS.map((field) => [field.path, field]));

/** Every leaf of a document as [dotted path, value]. */
export function leaves(value: unknown, prefix = ''): [string, unknown][] {
  if (byPath.get(prefix)?.type === 'geo_point') return [[prefix, value]];   // {lat, lon} is one value
  if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
    return Object.entries(value).flatMap(([key, child]) => leaves(child, prefix === '' ? key : `${prefix}.${key}`));
  }
  return [[prefix, value]];
}

/** Problems with one document against the schema; empty when it conforms. */
export function schemaProblems(document: object): string[] {
  const problems: string[] = [];
  for (const [path, value] of leaves(document)) {
    const field = byPath.get(path);
    if (!field) {
      problems.push(`${path} is not in SCHEMA_FIELDS`);
      continue;
    }
    const expected = jsTypeOf(field.type);
    const values = 'array' in field && field.array ? (Array.isArray(value) && value.length > 0 ? value : [Symbol('not a non-empty array')]) : [value];
    for (const item of values) {
      if (typeof item !== expected) problems.push(`${path}: ${String(item)} is not a ${expected}`);
      // extra_fields keeps unknown tokens verbatim, `-` included: their positions carry meaning
      else if ((item === '-' || item === '') && path !== 'aws.elb.extra_fields') problems.push(`${path}: "${item}" written as a value`);
      else if ((field.type === 'integer' || field.type === 'long') && !Number.isSafeInteger(item)) problems.push(`${path}: ${item} is not an integer`);
      else if (field.type === 'float' && !Number.isFinite(item)) problems.push(`${path}: ${item} is not finite`);
      else if (field.type === 'geo_point') {
        const point = item as { lat?: unknown; lon?: unknown };
        const inRange = (v: unknown, limit: number) => typeof v === 'number' && Math.abs(v) <= limit;
        if (Object.keys(point).sort().join() !== 'lat,lon' || !inRange(point.lat, 90) || !inRange(point.lon, 180)) problems.push(`${path}: ${JSON.stringify(item)} is not a {lat, lon} point`);
      }
    }
  }
  for (const tag of (document as { tags?: string[] }).tags ?? []) {
    const known = tag in STRUCTURE_TAGS || (tag.startsWith('malformed_') && byPath.has(tag.slice('malformed_'.length)));
    if (!known) problems.push(`unknown tag ${tag}`);
  }
  return problems;
}

