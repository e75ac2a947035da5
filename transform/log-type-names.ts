// The log types by name, without their parsers: what the loader, the CLI's option parsing and the
// stack need (cheap to import). transform/log-types.ts adds each type's schema and parser.
import { parseAlbObjectKey, type AlbObjectKind } from './source/s3-key.ts';

export const LOG_TYPES = ['access', 'connection', 'health'] as const;
export type LogType = (typeof LOG_TYPES)[number];

export interface LogTypeName {
  /** What parseAlbObjectKey calls objects of this type. */
  objectKind: AlbObjectKind;
  /** For messages and titles: "access log". */
  label: string;
  /** Firehose and the local pipeline write `<prefix>-YYYY-MM-DD`. */
  defaultIndexPrefix: string;
}

export const LOG_TYPE_NAMES: Readonly<Record<LogType, LogTypeName>> = {
  access: { objectKind: 'access-log', label: 'access log', defaultIndexPrefix: 'alb-logs' },
  connection: { objectKind: 'connection-log', label: 'connection log', defaultIndexPrefix: 'alb-connection' },
  health: { objectKind: 'health-check-log', label: 'health-check log', defaultIndexPrefix: 'alb-health' },
};

export function isLogType(value: string): value is LogType {
  return (LOG_TYPES as readonly string[]).includes(value);
}

/** The log type of an S3 object key or file name, or undefined (NLB, control, other objects). */
export function logTypeOfKey(key: string): LogType | undefined {
  const kind = parseAlbObjectKey(key).kind;
  return LOG_TYPES.find((type) => LOG_TYPE_NAMES[type].objectKind === kind);
}
