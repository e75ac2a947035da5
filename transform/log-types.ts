// The log types Albatross reads, one entry each: how S3 keys name them and their default index
// prefix (log-type-names.ts, cheap to import), their schema and their parser (here). The loader, the
// transform, the templates, the CLI and the stack iterate over this list, so adding a type is one
// entry in each of the two (plus its schema and parser).
import { parseAlbLine, parseAlbLineToJson, ALB_FIELD_NAMES, MIN_FIELDS } from './parser/index.ts';
import { CONNECTION_FIELD_NAMES, CONNECTION_MIN_FIELDS, parseConnectionLine, parseConnectionLineToJson } from './parser/connection.ts';
import { HEALTH_FIELD_NAMES, HEALTH_MIN_FIELDS, parseHealthLine, parseHealthLineToJson } from './parser/health.ts';
import type { DocumentResult, JsonResult } from './parser/line-document.ts';
import type { ParseOptions } from './parser/types.ts';
import { CONNECTION_FIELDS } from './schema/connection-fields.ts';
import { SCHEMA_FIELDS, type SchemaField } from './schema/fields.ts';
import { HEALTH_FIELDS } from './schema/health-fields.ts';
import { LOG_TYPE_NAMES, type LogType, type LogTypeName } from './log-type-names.ts';

export { isLogType, LOG_TYPE_NAMES, LOG_TYPES, logTypeOfKey, type LogType } from './log-type-names.ts';

export interface LogTypeSpec extends LogTypeName {
  type: LogType;
  fields: readonly SchemaField[];
  /** Log field names by position, and how many a line needs at least (docs). */
  fieldNames: readonly string[];
  minFields: number;
  parse(line: string, options?: ParseOptions): DocumentResult<object>;
  parseToJson(line: string, options?: ParseOptions): JsonResult;
}

export const LOG_TYPE_SPECS: Readonly<Record<LogType, LogTypeSpec>> = {
  access: {
    type: 'access', ...LOG_TYPE_NAMES.access,
    fields: SCHEMA_FIELDS, fieldNames: ALB_FIELD_NAMES, minFields: MIN_FIELDS,
    parse: parseAlbLine, parseToJson: parseAlbLineToJson,
  },
  connection: {
    type: 'connection', ...LOG_TYPE_NAMES.connection,
    fields: CONNECTION_FIELDS, fieldNames: CONNECTION_FIELD_NAMES, minFields: CONNECTION_MIN_FIELDS,
    parse: parseConnectionLine, parseToJson: parseConnectionLineToJson,
  },
  health: {
    type: 'health', ...LOG_TYPE_NAMES.health,
    fields: HEALTH_FIELDS, fieldNames: HEALTH_FIELD_NAMES, minFields: HEALTH_MIN_FIELDS,
    parse: parseHealthLine, parseToJson: parseHealthLineToJson,
  },
};

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
