// The log types Albatross reads, one entry each: how S3 keys name them, their schema, their parser
// and their default index prefix. The loader, the transform, the templates, the CLI and the stack
// iterate over this list, so adding a type is one entry here (plus its schema and parser).
import { parseAlbLine, parseAlbLineToJson, ALB_FIELD_NAMES, MIN_FIELDS } from './parser/index.ts';
import { CONNECTION_FIELD_NAMES, CONNECTION_MIN_FIELDS, parseConnectionLine, parseConnectionLineToJson } from './parser/connection.ts';
import { HEALTH_FIELD_NAMES, HEALTH_MIN_FIELDS, parseHealthLine, parseHealthLineToJson } from './parser/health.ts';
import type { DocumentResult, JsonResult } from './parser/line-document.ts';
import type { ParseOptions } from './parser/types.ts';
import { CONNECTION_FIELDS } from './schema/connection-fields.ts';
import { SCHEMA_FIELDS, type SchemaField } from './schema/fields.ts';
import { HEALTH_FIELDS } from './schema/health-fields.ts';
import { parseAlbObjectKey, type AlbObjectKind } from './source/s3-key.ts';

export const LOG_TYPES = ['access', 'connection', 'health'] as const;
export type LogType = (typeof LOG_TYPES)[number];

export interface LogTypeSpec {
  type: LogType;
  /** What parseAlbObjectKey calls objects of this type. */
  objectKind: AlbObjectKind;
  /** For messages and titles: "access log". */
  label: string;
  /** Firehose and the local pipeline write `<prefix>-YYYY-MM-DD`. */
  defaultIndexPrefix: string;
  fields: readonly SchemaField[];
  /** Log field names by position, and how many a line needs at least (docs). */
  fieldNames: readonly string[];
  minFields: number;
  parse(line: string, options?: ParseOptions): DocumentResult<object>;
  parseToJson(line: string, options?: ParseOptions): JsonResult;
}

export const LOG_TYPE_SPECS: Readonly<Record<LogType, LogTypeSpec>> = {
  access: {
    type: 'access', objectKind: 'access-log', label: 'access log', defaultIndexPrefix: 'alb-logs',
    fields: SCHEMA_FIELDS, fieldNames: ALB_FIELD_NAMES, minFields: MIN_FIELDS,
    parse: parseAlbLine, parseToJson: parseAlbLineToJson,
  },
  connection: {
    type: 'connection', objectKind: 'connection-log', label: 'connection log', defaultIndexPrefix: 'alb-connection',
    fields: CONNECTION_FIELDS, fieldNames: CONNECTION_FIELD_NAMES, minFields: CONNECTION_MIN_FIELDS,
    parse: parseConnectionLine, parseToJson: parseConnectionLineToJson,
  },
  health: {
    type: 'health', objectKind: 'health-check-log', label: 'health-check log', defaultIndexPrefix: 'alb-health',
    fields: HEALTH_FIELDS, fieldNames: HEALTH_FIELD_NAMES, minFields: HEALTH_MIN_FIELDS,
    parse: parseHealthLine, parseToJson: parseHealthLineToJson,
  },
};

export function isLogType(value: string): value is LogType {
  return (LOG_TYPES as readonly string[]).includes(value);
}

/** The log type of an S3 object key or file name, or undefined (NLB, control, other objects). */
export function logTypeOfKey(key: string): LogType | undefined {
  const kind = parseAlbObjectKey(key).kind;
  return LOG_TYPES.find((type) => LOG_TYPE_SPECS[type].objectKind === kind);
}

/**
 * A guess from one line's shape, for files whose names say nothing (`albatross parse --type auto`):
 * a connection line starts with its timestamp, a health-check line has PASS or FAIL as its sixth
 * field, anything else is read as an access log. Never use it where the key is known.
 */
export function logTypeOfLine(line: string): LogType {
  const fields = line.trimStart().split(' ', 7);
  if (/^\d{4}-\d{2}-\d{2}T/.test(fields[0] ?? '')) return 'connection';
  if (fields[5] === 'PASS' || fields[5] === 'FAIL') return 'health';
  return 'access';
}
