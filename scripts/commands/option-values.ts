// Parsers for option and argument values, shared by every command so the same kind of value is checked and
// explained the same way. Each throws commander's InvalidArgumentError, which commander turns into
// "error: option '--x <n>' argument 'y' is invalid. <reason>" and exit code 1.
import { statSync } from 'node:fs';
import { InvalidArgumentError } from 'commander';
import { parseS3Url } from '../backfill/s3-url.ts';
import { isLogType, LOG_TYPES, type LogType } from '../../transform/log-type-names.ts';
import { formatEnrichSetting, parseEnrichSetting } from '../../transform/enrich/settings.ts';

/** Enrichment parts: geo,as,ua (any subset), all or none; returned in canonical form. */
export function enrichSetting(value: string): string {
  try {
    return formatEnrichSetting(parseEnrichSetting(value === '' ? 'none' : value));
  } catch (error) {
    throw new InvalidArgumentError((error as Error).message);
  }
}

/** Help text of every command's --enrich option. */
export const ENRICH_OPTION_HELP = 'enrichment: geo,as,ua (any subset), all or none (default: ALBATROSS_ENRICH, else all)';

/** A whole number >= `min`. */
export function wholeNumber(min: number): (value: string) => number {
  return (value) => {
    const n = Number(value);
    if (value.trim() === '' || !Number.isInteger(n) || n < min) throw new InvalidArgumentError(`must be a whole number >= ${min}`);
    return n;
  };
}

export const count = wholeNumber(0);
export const positiveCount = wholeNumber(1);

export function positiveNumber(value: string): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n) || n <= 0) throw new InvalidArgumentError('must be a number > 0');
  return n;
}

/** A fraction in [0, 1), e.g. a fault-injection rate. */
export function fraction(value: string): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n) || n < 0 || n >= 1) throw new InvalidArgumentError('must be a fraction in [0, 1)');
  return n;
}

/** A TCP port; 0 asks for any free one. */
export function port(value: string): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isInteger(n) || n < 0 || n > 65_535) throw new InvalidArgumentError('must be a port number 0-65535');
  return n;
}

/** A date (`YYYY-MM-DD` is midnight UTC) or a full ISO timestamp. */
export function date(value: string): Date {
  const parsed = new Date(/^\d{4}-\d{2}-\d{2}$/.test(value) ? `${value}T00:00:00Z` : value);
  if (Number.isNaN(parsed.getTime())) throw new InvalidArgumentError('must be a date such as 2026-01-31');
  return parsed;
}

/** A calendar day `YYYY-MM-DD` (UTC), returned as given. */
export function utcDay(value: string): string {
  const parsed = /^\d{4}-\d{2}-\d{2}$/.test(value) ? new Date(`${value}T00:00:00Z`) : undefined;
  if (parsed === undefined || Number.isNaN(parsed.getTime()) || parsed.toISOString().slice(0, 10) !== value) {
    throw new InvalidArgumentError('must be a UTC day, YYYY-MM-DD');
  }
  return value;
}

/** Where backfill reads: `s3://bucket[/prefix]` with a valid bucket name, or an existing folder. */
export function logSource(value: string): string {
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(value)) {
    if (parseS3Url(value) === undefined) {
      throw new InvalidArgumentError('must be s3://bucket/prefix with a valid bucket name, or a folder');
    }
    return value;
  }
  const info = statSync(value, { throwIfNoEntry: false });
  if (info === undefined) throw new InvalidArgumentError('no such folder (and not an s3://bucket/prefix URL)');
  if (!info.isDirectory()) throw new InvalidArgumentError('is not a folder: give the folder that holds the AWSLogs/... layout, or s3://bucket/prefix');
  return value;
}

/** A comma-separated list of log types (`access,connection,health`), each once. */
export function logTypeList(value: string): LogType[] {
  const types = value.split(',').map((t) => t.trim()).filter((t) => t !== '');
  const unknown = types.filter((t) => !isLogType(t));
  if (types.length === 0 || unknown.length > 0) throw new InvalidArgumentError(`must be a comma-separated list of ${LOG_TYPES.join(', ')}`);
  return [...new Set(types)] as LogType[];
}

/** One log type, or `auto` (decided per file or line). */
export function logTypeOrAuto(value: string): LogType | 'auto' {
  if (value === 'auto' || isLogType(value)) return value;
  throw new InvalidArgumentError(`must be one of ${LOG_TYPES.join(', ')}, auto`);
}
