// Checks a document against any schema field list (the connection and health-check schemas; the
// access schema has its own check with its tags in test/transform/schema/schema-check.ts).
import { jsTypeOf, type SchemaField } from '../transform/schema/fields.ts';

/** Every leaf of a document as [dotted path, value]. */
export function leavesOf(value: unknown, prefix = ''): [string, unknown][] {
  if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
    return Object.entries(value).flatMap(([key, child]) => leavesOf(child, prefix === '' ? key : `${prefix}.${key}`));
  }
  return [[prefix, value]];
}

const STRUCTURE_TAGS = new Set(['missing_space_after_quote', 'unterminated_quote']);

/** Problems with one document against `fields`; empty when it conforms. */
export function problemsAgainst(fields: readonly SchemaField[], document: object): string[] {
  const byPath = new Map(fields.map((field) => [field.path, field]));
  const problems: string[] = [];
  for (const [path, value] of leavesOf(document)) {
    const field = byPath.get(path);
    if (!field) {
      problems.push(`${path} is not in the schema`);
      continue;
    }
    const values = field.array ? (Array.isArray(value) && value.length > 0 ? value : [Symbol('not a non-empty array')]) : [value];
    for (const item of values) {
      if (typeof item !== jsTypeOf(field.type)) problems.push(`${path}: ${String(item)} is not a ${jsTypeOf(field.type)}`);
      else if ((item === '-' || item === '') && path !== 'aws.elb.extra_fields') problems.push(`${path}: "${item}" written as a value`);
      else if ((field.type === 'integer' || field.type === 'long') && !Number.isSafeInteger(item)) problems.push(`${path}: ${item} is not an integer`);
    }
  }
  for (const tag of (document as { tags?: string[] }).tags ?? []) {
    if (!STRUCTURE_TAGS.has(tag) && !(tag.startsWith('malformed_') && byPath.has(tag.slice('malformed_'.length)))) problems.push(`unknown tag ${tag}`);
  }
  return problems;
}
