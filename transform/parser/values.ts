// Typed readers for single ALB values. Each returns `undefined` for a value
// that cannot be typed; the caller decides whether that is "no value" (`-`)
// or a malformed value to tag. Hand-written checks: no regular expressions.
import { isIPv6 } from 'node:net';

/** Dotted-quad IPv4 without leading zeros (what OpenSearch's `ip` type accepts). */
export function isIPv4(text: string): boolean {
  const length = text.length;
  if (length < 7 || length > 15) return false;
  let octets = 0;
  let value = 0;
  let digits = 0;
  let first = 0;
  for (let i = 0; i <= length; i++) {
    const c = i === length ? 46 : text.charCodeAt(i);
    if (c === 46 /* . */) {
      if (digits === 0 || value > 255 || (digits > 1 && first === 48)) return false;
      octets++;
      value = 0;
      digits = 0;
    } else if (c >= 48 && c <= 57) {
      if (digits === 0) first = c;
      value = value * 10 + (c - 48);
      digits++;
      if (digits > 3) return false;
    } else {
      return false;
    }
  }
  return octets === 4;
}

/** An IP the `ip` field type accepts: IPv4, or IPv6 without a zone id. */
export function isIp(text: string): boolean {
  if (text.indexOf(':') === -1) return isIPv4(text);
  return text.indexOf('%') === -1 && isIPv6(text);
}

// The readers below take an optional [start, end) range: the parser reads
// numbers and timestamps in place in the line, without slicing them out.

/** Whether [start, end) of `text` is "no value": empty or `-`. */
export function isNoValue(text: string, start: number, end: number): boolean {
  return end === start || (end === start + 1 && text.charCodeAt(start) === 45 /* - */);
}

/** Unsigned decimal integer up to `max`, digits only; undefined otherwise. */
export function readUnsigned(text: string, max: number, start = 0, end = text.length): number | undefined {
  if (end <= start || end - start > 16) return undefined;
  let value = 0;
  for (let i = start; i < end; i++) {
    const c = text.charCodeAt(i);
    if (c < 48 || c > 57) return undefined;
    value = value * 10 + (c - 48);
  }
  return value <= max ? value : undefined;
}

export const MAX_INTEGER = 2 ** 31 - 1;
export const MAX_LONG = Number.MAX_SAFE_INTEGER; // exact in JSON; larger byte counts are not plausible

const POWERS_OF_TEN = [1, 10, 100, 1_000, 10_000, 100_000, 1_000_000, 10_000_000, 100_000_000, 1_000_000_000];

/** Non-negative decimal number such as `0.001` or `12`; undefined otherwise. */
export function readSeconds(text: string, start = 0, end = text.length): number | undefined {
  const length = end - start;
  if (length <= 0 || length > 24) return undefined;
  let dot = -1;
  let digits = 0;
  let mantissa = 0;
  for (let i = start; i < end; i++) {
    const c = text.charCodeAt(i);
    if (c >= 48 && c <= 57) {
      digits++;
      mantissa = mantissa * 10 + (c - 48);
    } else if (c === 46 && dot === -1) {
      dot = i;
    } else {
      return undefined;
    }
  }
  if (digits === 0) return undefined;
  const decimals = dot === -1 ? 0 : end - dot - 1;
  // mantissa / 10^k is correctly rounded when both are exact (< 2^53): the same double as Number(text)
  if (digits <= 15 && decimals < POWERS_OF_TEN.length) return mantissa / POWERS_OF_TEN[decimals]!;
  return Number(text.slice(start, end));
}

/**
 * Position of the last `charCode` in [start, end) of `text`, or -1. A plain loop:
 * String.prototype.lastIndexOf is a C++ builtin call that costs more than scanning
 * the few characters searched here (a port after its colon, a version after its space).
 */
export function lastIndexOfChar(text: string, charCode: number, start: number, end: number): number {
  for (let i = end - 1; i >= start; i--) if (text.charCodeAt(i) === charCode) return i;
  return -1;
}

/** `[v6]` -> `v6`: ALB logs IPv6 unbracketed (split at the LAST colon), but tolerate brackets. */
export function unbracket(host: string): string {
  return host.charCodeAt(0) === 91 /* [ */ && host.charCodeAt(host.length - 1) === 93 /* ] */ ? host.slice(1, -1) : host;
}

// ---- ISO 8601 UTC timestamps: YYYY-MM-DDTHH:MM:SS[.fraction]Z ----

/** Seconds since the epoch and nanoseconds of a parsed timestamp. */
export interface Instant {
  seconds: number;
  nanos: number;
}

const DAYS_BEFORE_MONTH = [0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334];
// date_nanos covers 1970-01-01 .. 2262-04-11
const MIN_YEAR = 1970;
const MAX_YEAR = 2261;

function twoDigits(text: string, i: number): number {
  const a = text.charCodeAt(i) - 48;
  const b = text.charCodeAt(i + 1) - 48;
  return a >= 0 && a <= 9 && b >= 0 && b <= 9 ? a * 10 + b : -1;
}

function daysFromCivil(year: number, month: number, day: number): number {
  const leap = (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
  const yearsBefore = year - 1970;
  const leapDaysBefore =
    Math.floor((year - 1) / 4) - Math.floor((year - 1) / 100) + Math.floor((year - 1) / 400) - 477; // 477 leap days before 1970
  return yearsBefore * 365 + leapDaysBefore + DAYS_BEFORE_MONTH[month - 1]! + (leap && month > 2 ? 1 : 0) + day - 1;
}

function daysInMonth(year: number, month: number): number {
  if (month === 2) return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0 ? 29 : 28;
  return month === 4 || month === 6 || month === 9 || month === 11 ? 30 : 31;
}

// The last valid date seen (yyyymmdd) and its day number: the lines of one log
// file share their date, so the calendar check and arithmetic run once per day.
let lastDate = -1;
let lastDays = 0;

/**
 * Parses an ALB timestamp (`2018-07-02T22:23:00.186641Z`, 0–9 fraction digits,
 * UTC `Z`) within the date_nanos range; undefined when it is anything else.
 */
export function readTimestamp(text: string, start = 0, end = text.length): Instant | undefined {
  const length = end - start;
  if (length < 20 || length > 30) return undefined;
  if (text.charCodeAt(start + 4) !== 45 || text.charCodeAt(start + 7) !== 45 || text.charCodeAt(start + 10) !== 84 ||
      text.charCodeAt(start + 13) !== 58 || text.charCodeAt(start + 16) !== 58 || text.charCodeAt(end - 1) !== 90) return undefined;
  const century = twoDigits(text, start);
  const yy = twoDigits(text, start + 2);
  const month = twoDigits(text, start + 5);
  const day = twoDigits(text, start + 8);
  const hour = twoDigits(text, start + 11);
  const minute = twoDigits(text, start + 14);
  const second = twoDigits(text, start + 17);
  if (century < 0 || yy < 0 || hour < 0 || hour > 23 || minute < 0 || minute > 59 || second < 0 || second > 59) return undefined;
  const year = century * 100 + yy;
  // unique per (year, month, day) in 0..99; a -1 (not digits) yields month or day 98/99, never a cached valid date
  const date = (year * 100 + month) * 100 + day;
  if (date !== lastDate) {
    if (year < MIN_YEAR || year > MAX_YEAR || month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month)) return undefined;
    lastDate = date;
    lastDays = daysFromCivil(year, month, day);
  }
  let nanos = 0;
  if (length > 20) {
    // fraction: `.` then 1-9 digits then `Z`
    if (text.charCodeAt(start + 19) !== 46 || length === 21) return undefined;
    let scale = 100_000_000;
    for (let i = start + 20; i < end - 1; i++) {
      const d = text.charCodeAt(i) - 48;
      if (d < 0 || d > 9) return undefined;
      nanos += d * scale;
      scale /= 10;
    }
  }
  return { seconds: lastDays * 86400 + hour * 3600 + minute * 60 + second, nanos };
}

/** Nanoseconds from `start` to `end`, or undefined when negative or not exact in a JS number. */
export function durationNanos(start: Instant, end: Instant): number | undefined {
  const nanos = (end.seconds - start.seconds) * 1_000_000_000 + (end.nanos - start.nanos);
  return nanos >= 0 && nanos <= Number.MAX_SAFE_INTEGER ? nanos : undefined;
}
