// The byte path for access-log lines: reads a line straight from the input bytes and writes its
// JSON document straight into an output byte buffer. No strings: token positions are read in
// place, string values are copied as byte ranges of the line, numbers as the ranges of their
// digits (JavaScript writes those exact, short decimals the same way) or as computed digits.
//
// Why (docs/benchmarks.md, CLI): on the string path most of `albatross parse` was V8 string work
// (a substring per value, ~80 concatenations per document, then flattening and encoding the
// result); loops over bytes in a Uint8Array cost a fraction of that.
//
// It takes only the lines whose document it can write exactly as parseAlbLineToJson does: ASCII
// without control characters or backslashes (no escapes to decode or write), the known fields
// only, every value well formed (the one tag written here: an address that is no IP), no
// enrichment or event.original. Anything else returns FALLBACK and the caller parses that line
// with parseAlbLineToJson: the two must give the same bytes, which
// test/transform/parser/fast-access.test.ts checks line by line. The readers mirror the string
// parser's (index.ts, values.ts, request.ts) over bytes; each says which one it mirrors.
import { hash } from 'node:crypto';
import type { SchemaField } from '../schema/fields.ts';
import { jsTypeOf } from '../schema/fields.ts';
import { SLOT, SLOT_COUNT } from './emit.ts';
import { MIN_FIELDS, ALB_FIELD_NAMES } from './index.ts';
import { generateWriter, NEEDS_ESCAPE, TAIL, type WriterDialect } from './json-writer.ts';
import { sourceInfo, type SourceInfo } from './source-info.ts';
import type { LineSource } from './types.ts';
import { isIp, MAX_INTEGER, readTimestamp } from './values.ts';

/** The line needs the string parser (parseAlbLineToJson). */
export const FALLBACK = -1;

/** Whether the last document writeAccessJson wrote carries tags (as parseAlbLineToJson's `tagged`). */
export function lastDocumentTagged(): boolean {
  return tags !== 0;
}

// ---- The record: per schema slot, what the writer copies ----

const ABSENT = 0;
const RANGE = 1;      // bytes [FROM, TO) of the line (a string, a number's digits, or a list split at LIST_SEPARATOR)
const BYTES = 2;      // VALUE_BYTES[slot]: a constant or a per-source string
const INTEGER = 3;    // NUMBER[slot], a non-negative safe integer

const KIND = new Uint8Array(SLOT_COUNT);
const FROM = new Int32Array(SLOT_COUNT);
const TO = new Int32Array(SLOT_COUNT);
const NUMBER = new Float64Array(SLOT_COUNT);
const VALUE_BYTES: Piece[] = [];
/** The separator of a list slot's items (`,` or space). */
const LIST_SEPARATOR = new Uint8Array(SLOT_COUNT);

const S = SLOT;

function viewOf(bytes: Buffer): DataView {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.length);
}

/** A byte string written whole, with its view. */
class Piece {
  readonly view: DataView;
  constructor(readonly bytes: Buffer) {
    this.view = viewOf(bytes);
  }
}

const bytesOf = (text: string): Piece => new Piece(Buffer.from(text, 'utf8'));
const SUCCESS = bytesOf('success');
const FAILURE = bytesOf('failure');
const TLS = bytesOf('tls');
const SSL = bytesOf('ssl');
/** `TLSv1` → `1.0`: a version without a dot gets `.0` (single digits only; others take the string path). */
const DIGIT_DOT_ZERO = Array.from({ length: 10 }, (_, digit) => bytesOf(`${digit}.0`));

// Tags the byte path writes itself: an address that is no IP (an anonymised client such as
// `12.34.178.90.32`, common in some logs); any other tag sends the line to the string path. The
// string parser tags in field order, which is this order.
const SOURCE_IP_TAG = 1;
const BACKEND_IP_TAG = 2;
const NODE_IP_TAG = 4;
const TAG_NAMES = ['malformed_source.ip', 'malformed_aws.elb.backend.ip', 'malformed_aws.elb.node.ip'];
/** By bit set: the items of the tags array between its first and last quote. */
const TAG_LISTS = Array.from({ length: 8 }, (_, bits) => bytesOf(TAG_NAMES.filter((_, i) => (bits & (1 << i)) !== 0).join('","')));
let tags = 0;

// ---- The line's tokens ----

/** Byte classes: 0 plain, 1 space, 2 quote, 3 anything the byte path does not take (controls, non-ASCII, `\`). */
const CLASS = new Uint8Array(256).fill(3);
for (let c = 0x21; c < 0x7f; c++) CLASS[c] = 0;
CLASS[32] = 1;
CLASS[34] = 2;
CLASS[92] = 3;

const MAX_TOKENS = ALB_FIELD_NAMES.length;   // more tokens: aws.elb.extra_fields, left to the string path
const starts = new Int32Array(MAX_TOKENS);
const ends = new Int32Array(MAX_TOKENS);
const quoted = new Uint8Array(MAX_TOKENS);
let count = 0;
let src: Buffer = Buffer.alloc(0);

// Four bytes at a time (SWAR, as in "Bit Twiddling Hacks"): whether any byte of the int32 x is
// below 0x20, above 0x7e, a backslash, a quote (and for a bare token, a space); the scan then
// takes the lowest flagged byte, which is always a real one.
const ONES = 0x01010101;
const HIGHS = 0x80808080 | 0;
function zeroByte(x: number): number {
  return ((x - ONES) | 0) & ~x;
}
function quotedStop(x: number): number {
  return (((x - 0x20202020) | 0) & ~x | ((x + ONES) | 0) | x | zeroByte(x ^ 0x5c5c5c5c) | zeroByte(x ^ 0x22222222)) & HIGHS;
}
function bareStop(x: number): number {
  return (((x - 0x20202020) | 0) & ~x | ((x + ONES) | 0) | x | zeroByte(x ^ 0x5c5c5c5c) | zeroByte(x ^ 0x22222222) | zeroByte(x ^ 0x20202020)) & HIGHS;
}

/**
 * Splits src[start, end) like tokenize() (tokenizer.ts); false for what the byte path leaves to the
 * string path: more tokens than known fields, a quote glued to the next token, in a bare token or
 * never closed, and any byte of class 3.
 */
function tokenizeBytes(start: number, end: number): boolean {
  const bytes = src;
  const view = srcView;
  let n = 0;
  let i = start;
  while (i < end) {
    const c = bytes[i]!;
    if (c === 32) {
      i++;
      continue;
    }
    if (n === MAX_TOKENS) return false;
    if (c === 34) {
      let close = i + 1;
      for (; close + 4 <= end; close += 4) {
        const stops = quotedStop(view.getInt32(close, true));
        // (the lowest flagged byte is a real one: false positives only ever sit above a real one)
        if (stops !== 0) {
          close += (31 - Math.clz32(stops & -stops)) >>> 3;
          break;
        }
      }
      for (; close < end; close++) if (CLASS[bytes[close]!]! >= 2) break;
      if (close === end || bytes[close] !== 34) return false;
      starts[n] = i + 1;
      ends[n] = close;
      quoted[n] = 1;
      n++;
      i = close + 1;
      if (i < end && bytes[i] !== 32) return false;
      continue;
    }
    if (CLASS[c] !== 0) return false;
    let stop = i + 1;
    for (; stop + 4 <= end; stop += 4) {
      const stops = bareStop(view.getInt32(stop, true));
      if (stops !== 0) {
        stop += (31 - Math.clz32(stops & -stops)) >>> 3;
        break;
      }
    }
    for (; stop < end; stop++) if (CLASS[bytes[stop]!]! !== 0) break;
    if (stop < end && bytes[stop] !== 32) return false;
    starts[n] = i;
    ends[n] = stop;
    quoted[n] = 0;
    n++;
    i = stop + 1;
  }
  count = n;
  return true;
}

// ---- Readers over src; each returns false where the string parser would tag or fail ----

function setRange(slot: number, from: number, to: number): void {
  KIND[slot] = RANGE;
  FROM[slot] = from;
  TO[slot] = to;
}

function setBytes(slot: number, bytes: Piece): void {
  KIND[slot] = BYTES;
  VALUE_BYTES[slot] = bytes;
}

function isNoValueAt(from: number, to: number): boolean {
  return to === from || (to === from + 1 && src[from] === 45 /* - */);
}

function absent(i: number): boolean {
  return isNoValueAt(starts[i]!, ends[i]!);
}

/** Token i is `-1` ("not measured", "no rule"). */
function isMinusOne(i: number): boolean {
  return ends[i] === starts[i]! + 2 && src[starts[i]!] === 45 && src[starts[i]! + 1] === 49;
}

function indexOfByte(byte: number, from: number, to: number): number {
  for (let i = from; i < to; i++) if (src[i] === byte) return i;
  return -1;
}

function lastIndexOfByte(byte: number, from: number, to: number): number {
  for (let i = to - 1; i >= from; i--) if (src[i] === byte) return i;
  return -1;
}

/** readUnsigned's value up to `max` as its digits without leading zeros (how JSON writes it); at most 15 digits. */
function unsigned(slot: number, from: number, to: number, max: number): boolean {
  if (to <= from || to - from > 15) return false;
  let value = 0;
  for (let i = from; i < to; i++) {
    const digit = src[i]! - 48;
    if (digit < 0 || digit > 9) return false;
    value = value * 10 + digit;
  }
  if (value > max) return false;
  while (from < to - 1 && src[from] === 48) from++;
  setRange(slot, from, to);
  return true;
}

/**
 * readSeconds' value as the range of its shortest decimal: leading zeros, trailing fraction
 * zeros and a bare dot dropped. With at most 15 digits and 9 decimals the number is the correctly
 * rounded mantissa / 10^decimals, and any two such decimals are different doubles, so
 * JavaScript's shortest round-trip form is exactly these digits, written without an exponent
 * from 1e-6 up. Other shapes (`.5`, tiny values, long mantissas) take the string path.
 */
function seconds(slot: number, from: number, to: number): boolean {
  let dot = -1;
  let digits = 0;
  for (let i = from; i < to; i++) {
    const c = src[i]!;
    if (c >= 48 && c <= 57) digits++;
    else if (c === 46 && dot === -1) dot = i;
    else return false;
  }
  if (digits === 0 || digits > 15 || dot === from || (dot !== -1 && to - dot - 1 > 9)) return false;
  const wholeEnd = dot === -1 ? to : dot;
  while (from < wholeEnd - 1 && src[from] === 48) from++;
  if (dot !== -1) {
    while (to > dot + 1 && src[to - 1] === 48) to--;
    if (to === dot + 1) {
      to = dot;
    } else if (wholeEnd - from === 1 && src[from] === 48 && indexOfNonZero(dot + 1, to) - dot > 6) {
      return false; // below 1e-6: JavaScript writes 1e-7
    }
  }
  setRange(slot, from, to);
  return true;
}

function indexOfNonZero(from: number, to: number): number {
  for (let i = from; i < to; i++) if (src[i] !== 48) return i;
  return to;
}

/** Whether [from, to) is what readSeconds reads as a number (digits and at most one dot, 1-24 characters). */
function isDecimal(from: number, to: number): boolean {
  if (to <= from || to - from > 24) return false;
  let dot = false;
  let digits = false;
  for (let i = from; i < to; i++) {
    const c = src[i]!;
    if (c >= 48 && c <= 57) digits = true;
    else if (c === 46 && !dot) dot = true;
    else return false;
  }
  return digits;
}

/** Dotted-quad IPv4 without leading zeros, as isIPv4 (values.ts). */
function isIPv4At(from: number, to: number): boolean {
  const length = to - from;
  if (length < 7 || length > 15) return false;
  let octets = 0;
  let value = 0;
  let digits = 0;
  let first = 0;
  for (let i = from; i <= to; i++) {
    const c = i === to ? 46 : src[i]!;
    if (c === 46) {
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

function isIpAt(from: number, to: number): boolean {
  // IPv6 (rarer) through the string check: node's isIPv6 is the reference
  return indexOfByte(58, from, to) === -1 ? isIPv4At(from, to) : isIp(src.toString('latin1', from, to));
}

/** Token i as `host:port` (hostPort in index.ts): the host into ipSlot (and addressSlot), the port into portSlot; a host that is no IP is tagged. */
function hostPort(i: number, ipSlot: number, portSlot: number, addressSlot: number, ipTag: number): boolean {
  const start = starts[i]!;
  const end = ends[i]!;
  const colon = lastIndexOfByte(58, start, end);
  if (colon === -1) return false;
  let from = start;
  let to = colon;
  if (src[from] === 91 /* [ */ && src[to - 1] === 93 /* ] */ && to - from >= 2) {
    from++;
    to--;
  }
  if (isIpAt(from, to)) setRange(ipSlot, from, to);
  else tags |= ipTag;
  if (addressSlot !== -1 && to > from) setRange(addressSlot, from, to);
  return unsigned(portSlot, colon + 1, end, 65535);
}

function time(i: number, slot: number): boolean {
  if (absent(i) || isMinusOne(i)) return true; // `-1`: not measured
  return seconds(slot, starts[i]!, ends[i]!);
}

function integer(i: number, max: number, slot: number): boolean {
  return absent(i) || unsigned(slot, starts[i]!, ends[i]!, max);
}

function text(i: number, slot: number): void {
  if (!absent(i)) setRange(slot, starts[i]!, ends[i]!);
}

// Timestamps: the date part is checked by readTimestamp itself (once per date: the lines of a
// file share their date), the time of day here.
let validDate = -1;

function twoDigits(at: number): number {
  const a = src[at]! - 48;
  const b = src[at + 1]! - 48;
  return a >= 0 && a <= 9 && b >= 0 && b <= 9 ? a * 10 + b : -1;
}

/** Nanoseconds since midnight of the timestamp [from, to) when readTimestamp accepts it, else -1. */
function timeOfDay(from: number, to: number): number {
  const length = to - from;
  if (length < 20 || length > 30 || src[from + 4] !== 45 || src[from + 7] !== 45 || src[from + 10] !== 84 ||
      src[from + 13] !== 58 || src[from + 16] !== 58 || src[to - 1] !== 90) return -1;
  const century = twoDigits(from);
  const yy = twoDigits(from + 2);
  const month = twoDigits(from + 5);
  const day = twoDigits(from + 8);
  if (century < 0 || yy < 0 || month < 0 || day < 0) return -1;
  const date = ((century * 100 + yy) * 100 + month) * 100 + day;
  if (date !== validDate) {
    if (readTimestamp(`${src.toString('latin1', from, from + 10)}T00:00:00Z`) === undefined) return -1;
    validDate = date;
  }
  const hour = twoDigits(from + 11);
  const minute = twoDigits(from + 14);
  const second = twoDigits(from + 17);
  if (hour < 0 || hour > 23 || minute < 0 || minute > 59 || second < 0 || second > 59) return -1;
  let nanos = 0;
  if (length > 20) {
    if (src[from + 19] !== 46 || length === 21) return -1;
    let scale = 100_000_000;
    for (let i = from + 20; i < to - 1; i++) {
      const digit = src[i]! - 48;
      if (digit < 0 || digit > 9) return -1;
      nanos += digit * scale;
      scale /= 10;
    }
  }
  return ((hour * 60 + minute) * 60 + second) * 1_000_000_000 + nanos;
}

function sameDate(a: number, b: number): boolean {
  for (let k = 0; k < 10; k++) if (src[a + k] !== src[b + k]) return false;
  return true;
}

/** splitList (index.ts): whether [from, to) split at `separator` has an item other than `-` and empty; the slot becomes the list. */
function list(i: number, slot: number, separator: number): void {
  const start = starts[i]!;
  const end = ends[i]!;
  for (let from = start; from <= end;) {
    let to = indexOfByte(separator, from, end);
    if (to === -1) to = end;
    if (!isNoValueAt(from, to)) {
      // (a whole `-` is no list at all, and without a separator the text is the one item)
      setRange(slot, start, end);
      LIST_SEPARATOR[slot] = separator;
      return;
    }
    from = to + 1;
  }
}

/** tlsVersion (index.ts). */
function tlsVersion(i: number): boolean {
  const start = starts[i]!;
  const end = ends[i]!;
  const tls = end - start >= 4 && src[start] === 84 && src[start + 1] === 76 && src[start + 2] === 83 && src[start + 3] === 118;
  const ssl = !tls && end - start >= 4 && src[start] === 83 && src[start + 1] === 83 && src[start + 2] === 76 && src[start + 3] === 118;
  const numberStart = Math.min(start + 4, end);
  if ((!tls && !ssl) || !isDecimal(numberStart, end)) {
    setRange(S['tls.version'], start, end);
    return true;
  }
  if (indexOfByte(46, numberStart, end) !== -1) {
    setRange(S['tls.version'], numberStart, end);   // (`1.2` and the like are their own text)
  } else if (end === numberStart + 1) {
    setBytes(S['tls.version'], DIGIT_DOT_ZERO[src[numberStart]! - 48]!);
  } else {
    return false;
  }
  setBytes(S['tls.version_protocol'], tls ? TLS : SSL);
  return true;
}

// ---- The request: parseRequest and parseUrl (request.ts) over bytes ----

function request(start: number, end: number): boolean {
  while (end > start && src[end - 1] === 32) end--;
  const firstSpace = indexOfByte(32, start, end);
  if (firstSpace === -1) {
    if (!isNoValueAt(start, end)) setRange(S['http.request.method'], start, end);
    return true;
  }
  if (!isNoValueAt(start, firstSpace)) setRange(S['http.request.method'], start, firstSpace);
  let urlEnd = end;
  const lastSpace = lastIndexOfByte(32, firstSpace, end);
  if (lastSpace > firstSpace) {
    const version = isHttpVersion(lastSpace + 1, end);
    if (version) setRange(S['http.version'], lastSpace + 6, end);   // (`1.1`, `2.0`: the constants are their own text)
    if (version || isNoValueAt(lastSpace + 1, end)) urlEnd = lastSpace;
  }
  return isNoValueAt(firstSpace + 1, urlEnd) || url(firstSpace + 1, urlEnd);
}

/** `HTTP/<digits>[.<digits>]` (httpVersion in request.ts). */
function isHttpVersion(start: number, end: number): boolean {
  if (end - start < 6 || src[start] !== 72 || src[start + 1] !== 84 || src[start + 2] !== 84 || src[start + 3] !== 80 || src[start + 4] !== 47) return false;
  const digits = start + 5;
  let dot = false;
  for (let i = digits; i < end; i++) {
    const c = src[i]!;
    if (c === 46 && !dot && i > digits && i < end - 1) dot = true;
    else if (c < 48 || c > 57) return false;
  }
  return true;
}

function isSchemeByte(c: number): boolean {
  return (c >= 97 && c <= 122) || (c >= 48 && c <= 57) || c === 43 || c === 45 || c === 46;
}

/** The URL at [start, end): url.original and its parts; false for a malformed port and an upper-case scheme. */
function url(start: number, end: number): boolean {
  setRange(S['url.original'], start, end);
  let restStart: number;
  let schemeEnd = -1;
  for (let i = start; i + 2 < end; i++) {
    if (src[i] === 58 && src[i + 1] === 47 && src[i + 2] === 47) {
      schemeEnd = i;
      break;
    }
  }
  if (schemeEnd > start) {
    for (let i = start; i < schemeEnd; i++) {
      const c = src[i]!;
      if (c >= 65 && c <= 90) return false;   // lower-cased in the document: the string path
      if (!isSchemeByte(c)) return true;
    }
    setRange(S['url.scheme'], start, schemeEnd);
    const hostStart = schemeEnd + 3;
    let hostEnd = end;
    let at = -1;
    let firstColon = -1;
    let lastColon = -1;
    for (let i = hostStart; i < end; i++) {
      const c = src[i]!;
      if (c === 47 || c === 63 || c === 35) {
        hostEnd = i;
        break;
      }
      if (c === 64) {
        at = i;
        firstColon = -1;
        lastColon = -1;
      } else if (c === 58) {
        if (firstColon === -1) firstColon = i;
        lastColon = i;
      }
    }
    const authorityStart = at === -1 ? hostStart : at + 1;
    let authorityEnd = hostEnd;
    if (hostEnd === end && authorityEnd > authorityStart && src[authorityEnd - 1] === 45) authorityEnd--;
    let hostFrom = authorityStart;
    let hostTo = authorityEnd;
    let portFrom = -1;
    if (authorityEnd > authorityStart && src[authorityStart] === 91) {
      const close = indexOfByte(93, authorityStart, end);
      if (close !== -1 && close < authorityEnd) {
        hostFrom = authorityStart + 1;
        hostTo = close;
        if (close + 1 < authorityEnd && src[close + 1] === 58) portFrom = close + 2;
      }
    } else if (lastColon !== -1 && firstColon === lastColon) {
      hostTo = lastColon;
      portFrom = lastColon + 1;
    }
    if (hostTo > hostFrom) setRange(S['url.domain'], hostFrom, hostTo);
    if (portFrom !== -1 && portFrom < authorityEnd && !unsigned(S['url.port'], portFrom, authorityEnd, 65535)) return false;
    restStart = hostEnd;
  } else if (src[start] === 47) {
    restStart = start;
  } else {
    return true;
  }
  const question = indexOfByte(63, restStart, end);
  const pathEnd = question === -1 ? end : question;
  if (pathEnd > restStart) setRange(S['url.path'], restStart, pathEnd);
  if (question !== -1 && question < end - 1) setRange(S['url.query'], question + 1, end);
  return true;
}

// ---- Where the line came from ----

interface SourceBytes {
  info: SourceInfo;
  idPrefix: Piece;
  path: Piece | undefined;
  account: Piece | undefined;
  region: Piece | undefined;
  /** Something needs JSON escaping: the string path writes it. */
  escaped: boolean;
}

let lastSource: SourceBytes | undefined;

function sourceBytes(source: LineSource): SourceBytes {
  const info = sourceInfo(source);
  if (lastSource?.info === info) return lastSource;
  const strings = [info.idPrefix, info.path, info.objectKey.accountId ?? '', info.objectKey.region ?? ''];
  lastSource = {
    info,
    idPrefix: bytesOf(info.idPrefix),
    path: info.path === '' ? undefined : bytesOf(info.path),
    account: info.objectKey.accountId === undefined ? undefined : bytesOf(info.objectKey.accountId),
    region: info.objectKey.region === undefined ? undefined : bytesOf(info.objectKey.region),
    escaped: strings.some((text) => NEEDS_ESCAPE.test(text)),
  };
  return lastSource;
}

/** arnRegionAccount (index.ts) on token i: sets cloud.region, and cloud.account.id unless `keepAccount`. */
function regionFromArn(i: number, keepAccount: boolean): void {
  const start = starts[i]!;
  const end = ends[i]!;
  if (end - start < 4 || src[start] !== 97 || src[start + 1] !== 114 || src[start + 2] !== 110 || src[start + 3] !== 58) return;
  const service = indexOfByte(58, start + 4, end);
  const region = service === -1 ? -1 : indexOfByte(58, service + 1, end);
  const account = region === -1 ? -1 : indexOfByte(58, region + 1, end);
  const resource = account === -1 ? -1 : indexOfByte(58, account + 1, end);
  if (resource === -1 || account === region + 1 || resource === account + 1) return;
  setRange(S['cloud.region'], region + 1, account);
  if (!keepAccount) setRange(S['cloud.account.id'], account + 1, resource);
}

// ---- The line ----

/** Fills the record from src[start, end) (trimmed); false when the string path must take the line. */
function read(start: number, end: number, source: SourceBytes | undefined, offset: number): boolean {
  if (!tokenizeBytes(start, end) || count < MIN_FIELDS || quoted[12] === 0 || quoted[13] === 0) return false;
  const endTime = timeOfDay(starts[1]!, ends[1]!);
  if (endTime < 0) return false;
  KIND.fill(ABSENT);
  tags = 0;
  setRange(S['@timestamp'], starts[1]!, ends[1]!);

  // fields 1-12
  text(0, S['aws.elb.type']);
  text(2, S['aws.elb.name']);
  if (!absent(3) && !hostPort(3, S['source.ip'], S['source.port'], S['source.address'], SOURCE_IP_TAG)) return false;
  if (!absent(4) && !hostPort(4, S['aws.elb.backend.ip'], S['aws.elb.backend.port'], -1, BACKEND_IP_TAG)) return false;
  if (!time(5, S['aws.elb.request_processing_time.sec']) || !time(6, S['aws.elb.backend_processing_time.sec']) ||
      !time(7, S['aws.elb.response_processing_time.sec'])) return false;
  if (!absent(8)) {
    if (!unsigned(S['http.response.status_code'], starts[8]!, ends[8]!, 999)) return false;
    // (FROM..TO is the status without leading zeros, at most 3 digits)
    const from = FROM[S['http.response.status_code']]!;
    const digits = TO[S['http.response.status_code']]! - from;
    setBytes(S['event.outcome'], digits === 3 && src[from]! >= 52 /* 4xx and up */ ? FAILURE : SUCCESS);
  }
  if (!integer(9, 999, S['aws.elb.backend.http.response.status_code']) || !integer(10, Number.MAX_SAFE_INTEGER, S['http.request.bytes']) ||
      !integer(11, Number.MAX_SAFE_INTEGER, S['http.response.bytes'])) return false;

  // fields 13-20
  if (!request(starts[12]!, ends[12]!)) return false;
  text(13, S['user_agent.original']);
  text(14, S['tls.cipher']);
  if (!absent(15) && !tlsVersion(15)) return false;
  text(16, S['aws.elb.target_group.arn']);
  text(17, S['trace.id']);
  text(18, S['tls.client.server_name']);
  text(19, S['aws.elb.chosen_cert.arn']);

  // fields 21 and later
  if (count > 20 && !absent(20)) {
    if (isMinusOne(20)) setRange(S['aws.elb.matched_rule_priority'], starts[20]!, ends[20]!); // -1
    else if (!unsigned(S['aws.elb.matched_rule_priority'], starts[20]!, ends[20]!, MAX_INTEGER)) return false;
  }
  if (count > 21 && !absent(21)) {
    const startTime = timeOfDay(starts[21]!, ends[21]!);
    // (across midnight the duration needs the dates' days: the string path)
    if (startTime < 0 || !sameDate(starts[1]!, starts[21]!)) return false;
    setRange(S['event.start'], starts[21]!, ends[21]!);
    if (endTime >= startTime) {
      KIND[S['event.duration']] = INTEGER;
      NUMBER[S['event.duration']] = endTime - startTime;
    }
  }
  if (count > 22) list(22, S['aws.elb.action_executed'], 44);
  if (count > 23) text(23, S['aws.elb.redirect_url']);
  if (count > 24) text(24, S['aws.elb.error.reason']);
  if (count > 25) list(25, S['aws.elb.target_port'], 32);
  if (count > 26) list(26, S['aws.elb.target_status_code'], 32);
  if (count > 27) text(27, S['aws.elb.classification']);
  if (count > 28) text(28, S['aws.elb.classification_reason']);
  if (count > 29) text(29, S['aws.elb.conn_trace_id']);
  if (count > 30) text(30, S['aws.elb.transformed_host']);
  if (count > 31) text(31, S['aws.elb.transformed_uri']);
  if (count > 32) text(32, S['aws.elb.request_transform_status']);
  if (count > 33 && !absent(33)) {
    if (isIpAt(starts[33]!, ends[33]!)) setRange(S['aws.elb.node.ip'], starts[33]!, ends[33]!);
    else tags |= NODE_IP_TAG;
  }
  if (tags !== 0) setBytes(S['tags'], TAG_LISTS[tags]!);

  // readSource (index.ts)
  if (source === undefined) {
    setBytes(S['event.id'], bytesOf(hash('sha256', src.subarray(start, end), 'base64url').slice(0, 22)));
  } else {
    // event.id = idPrefix + offset: written by the writer from these two
    setBytes(S['event.id'], source.idPrefix);
    KIND[S['log.offset']] = INTEGER;
    NUMBER[S['log.offset']] = offset;
    if (source.account !== undefined) setBytes(S['cloud.account.id'], source.account);
    if (source.region !== undefined) setBytes(S['cloud.region'], source.region);
    if (source.path !== undefined) setBytes(S['log.file.path'], source.path);
  }
  if (KIND[S['cloud.region']] === ABSENT && KIND[S['aws.elb.target_group.arn']] !== ABSENT) {
    regionFromArn(16, KIND[S['cloud.account.id']] !== ABSENT);
  }
  return true;
}

// ---- The writer, generated from the schema tree (json-writer.ts) ----

// Bytes are copied four at a time through DataViews: a byte loop costs about three times as
// much here, and a native copy (TypedArray#set, Buffer#copy) costs more than a loop per call for
// the short pieces a document is made of.
let out: Buffer = Buffer.alloc(0);
let outView: DataView = new DataView(out.buffer);
let srcView: DataView = new DataView(src.buffer);
let eventIdOffset = -1;
let lineEnd = 0;   // the end of the checked line: what lies before it is printable ASCII   // with a source, event.id is its prefix and then the offset

/**
 * Copies bytes[from, to) (`view` is a DataView of `bytes`) to out[p]; returns the position after.
 * Whole int32s, so up to three bytes past `to` are copied too: the document is written front to
 * back, so the next piece overwrites them (and the caller leaves room for them at the end).
 */
function copyBytes(p: number, view: DataView, bytes: Buffer, from: number, to: number): number {
  const target = outView;
  if (to + 3 < view.byteLength) {
    for (let k = 0; from + k < to; k += 4) target.setInt32(p + k, view.getInt32(from + k, true), true);
    return p + to - from;
  }
  for (; from + 4 <= to; from += 4, p += 4) target.setInt32(p, view.getInt32(from, true), true);
  for (; from < to; from++, p++) out[p] = bytes[from]!;
  return p;
}

/**
 * Copies line[from, to) to out[p], eight bytes at a time as float64s when every byte read lies in
 * the checked line: printable ASCII (0x20-0x7e) is never the bits of a NaN (a float64 copy may
 * change a NaN's bits, any other value's it keeps). Up to seven bytes past `to` are copied too
 * (see copyBytes). The constant pieces are copied the same way (printable ASCII, padded).
 */
function copyLine(p: number, from: number, to: number): number {
  if (to + 7 < lineEnd) {
    const target = outView;
    const view = srcView;
    for (let k = 0; from + k < to; k += 8) target.setFloat64(p + k, view.getFloat64(from + k, true), true);
    return p + to - from;
  }
  return copyBytes(p, srcView, src, from, to);
}

/** Every constant piece of the writer in one buffer; a piece is referred to as offset << 12 | length. */
const constantTexts: string[] = [];
let constantLength = 0;
function constantPiece(text: string): number {
  const length = Buffer.byteLength(text);
  if (length >= 4096 || constantLength + length >= 1 << 19) throw new Error('the byte writer\'s constants outgrew their references');
  constantTexts.push(text);
  constantLength += length;
  return ((constantLength - length) << 12) | length;
}
let constants = Buffer.alloc(0);
let constantsView: DataView = new DataView(constants.buffer);

function put(p: number, piece: number): number {
  // (the constants are printable ASCII and end in padding: see copyLine)
  const from = piece >>> 12;
  const to = from + (piece & 4095);
  const target = outView;
  const view = constantsView;
  for (let k = 0; from + k < to; k += 8) target.setFloat64(p + k, view.getFloat64(from + k, true), true);
  return p + (piece & 4095);
}

function putPiece(p: number, piece: Piece): number {
  return copyBytes(p, piece.view, piece.bytes, 0, piece.bytes.length);
}

function putInteger(p: number, value: number): number {
  if (value < 10) {
    out[p] = 48 + value;
    return p + 1;
  }
  if (value > 0x7fffffff) {
    // (durations of seconds and more: double arithmetic)
    let digits = 1;
    for (let rest = value; rest >= 10; rest = Math.floor(rest / 10)) digits++;
    for (let i = p + digits - 1, rest = value; i >= p; i--, rest = Math.floor(rest / 10)) out[i] = 48 + (rest % 10);
    return p + digits;
  }
  let digits = 1;
  for (let rest = value | 0; rest >= 10; rest = (rest / 10) | 0) digits++;
  for (let i = p + digits - 1, rest = value | 0; i >= p; i--) {
    const next = (rest / 10) | 0;
    out[i] = 48 + rest - next * 10;
    rest = next;
  }
  return p + digits;
}

/**
 * A field: its prefix piece, then the value of a string or number slot. One function for both
 * (the generated writer is too large for V8 to inline into, so each call is a real one).
 */
function field(p: number, piece: number, slot: number): number {
  const target = outView;
  const pieceFrom = piece >>> 12;
  const pieceTo = pieceFrom + (piece & 4095);
  const view = constantsView;
  for (let k = 0; pieceFrom + k < pieceTo; k += 8) target.setFloat64(p + k, view.getFloat64(pieceFrom + k, true), true);
  p += piece & 4095;
  const kind = KIND[slot]!;
  if (kind === RANGE) return copyLine(p, FROM[slot]!, TO[slot]!);
  if (kind === BYTES) {
    p = putPiece(p, VALUE_BYTES[slot]!);
    return slot === S['event.id'] && eventIdOffset >= 0 ? putInteger(p, eventIdOffset) : p;
  }
  return putInteger(p, NUMBER[slot]!);
}

const ITEM_SEPARATOR = constantPiece('","');

/** The items of a list slot between the array's first and last quote: `a","b` (`-` and empty items left out). */
function items(p: number, slot: number): number {
  if (KIND[slot] === BYTES) return putPiece(p, VALUE_BYTES[slot]!);   // tags
  const end = TO[slot]!;
  const separator = LIST_SEPARATOR[slot]!;
  let first = true;
  for (let from = FROM[slot]!; from <= end;) {
    let to = indexOfByte(separator, from, end);
    if (to === -1) to = end;
    if (!isNoValueAt(from, to)) {
      if (!first) p = put(p, ITEM_SEPARATOR);
      p = copyLine(p, from, to);
      first = false;
    }
    from = to + 1;
  }
  return p;
}

const BYTE_DIALECT: WriterDialect = {
  piece: (text) => constantPiece(text),
  literal: () => undefined,
  constant: (piece) => `p = put(p, ${piece});`,
  field(slot: number, field: SchemaField, jsonKey: string, prefix: (keyText: string) => string, open: string): string {
    let write: string;
    if ('array' in field && field.array) {
      // (a list slot always has an item; so does tags when set)
      write = `p = items(put(p, ${prefix(`${jsonKey}["`)}), ${slot}); st = ${TAIL.quoteBracket};`;
    } else if (field.type === 'geo_point') {
      write = 'throw new Error("enrichment is not on the byte path");';
    } else if (jsTypeOf(field.type) === 'number') {
      write = `p = field(p, ${prefix(jsonKey)}, ${slot}); st = ${TAIL.none};`;
    } else {
      write = `p = field(p, ${prefix(`${jsonKey}"`)}, ${slot}); st = ${TAIL.quote};`;
    }
    return `if (K[${slot}] !== 0) {\n  ${write}\n  ${open}\n}\n`;
  },
};

type ByteWriter = (p: number) => number;

interface CompiledWriter {
  write: ByteWriter;
  /** The longest the constant pieces of one document can be: every table's longest piece, the opening brace and the longest final. */
  constantBytes: number;
}
let compiled: CompiledWriter | undefined;

/**
 * Generates the byte writer on first use, not when the module loads: `albatross parse` loads this
 * module for every run, and an enriched one or one over an empty input never needs the writer
 * (its ~4,700 constant pieces and their code take tens of milliseconds to build).
 */
function writer(): CompiledWriter {
  if (compiled !== undefined) return compiled;
  const generated = generateWriter(BYTE_DIALECT);
  const finals = generated.finals.map(constantPiece);
  const brace = constantPiece('{');
  const text = `${constantTexts.join('')}${' '.repeat(8)}`;
  if (!/^[\x20-\x7e]*$/.test(text)) throw new Error('the byte writer copies its constants as float64s: they must be printable ASCII');
  constants = Buffer.from(text, 'latin1');
  constantsView = viewOf(constants);
  const write = new Function('tables', 'finals', 'brace', 'K', 'put', 'field', 'items',
    `${generated.tables.map((_, i) => `const t${i} = tables[${i}];`).join('\n')}\n` +
    `return function writeBytes(p) {\nlet st = 0;\nlet o0 = false;\np = put(p, brace);\n${generated.body}return put(p, finals[st]);\n};`,
  )(generated.tables, finals, brace, KIND, put, field, items) as ByteWriter;
  const constantBytes = 1 + generated.tables.reduce((sum, table) => sum + Math.max(...table.map((piece) => (piece as number) & 4095)), 0) +
    Math.max(...finals.map((piece) => piece & 4095));
  compiled = { write, constantBytes };
  return compiled;
}

/**
 * Room `writeAccessJson` may need after `at` for a line of `lineBytes` bytes: the constant pieces,
 * each byte of the line at most twice (url.original and its parts; source.address and source.ip;
 * an ARN and the region and account in it; a list's items and their separators), the source's
 * strings (the path holds bucket and key, UTF-8: up to 3 bytes a character) and, in the margin,
 * the short values (tags, outcome, digits, the seven bytes a copy may run over).
 */
export function maxDocumentBytes(lineBytes: number, source: LineSource | undefined): number {
  const sourceBytes = source === undefined ? 0 : 3 * (2 * source.key.length + (source.bucket?.length ?? 0) + 8);
  return writer().constantBytes + 2 * lineBytes + sourceBytes + 512;
}

/** Trailing characters trimLine (index.ts) removes: LF, CR, space, tab. */
function trimmedEnd(start: number, end: number): number {
  while (end > start) {
    const c = src[end - 1];
    if (c !== 10 && c !== 13 && c !== 32 && c !== 9) break;
    end--;
  }
  return end;
}

/**
 * Writes the JSON document of the access-log line line[start, end) into `output` at `at`, as
 * parseAlbLineToJson(line, { source }) would give it (`source` as there; no enrichment, no
 * event.original); returns the position after it, or FALLBACK when the line is one for the string
 * path. `output` must have maxDocumentBytes() of room after `at`.
 */
export function writeAccessJson(line: Buffer, start: number, end: number, source: LineSource | undefined, output: Buffer, at: number): number {
  if (line !== src) {
    src = line;
    srcView = viewOf(line);
  }
  end = trimmedEnd(start, end);
  lineEnd = end;
  // (empty and `Enable ...` control lines: skipped by the string path)
  if (end === start || src[start] === 69 /* E */) return FALLBACK;
  const info = source === undefined ? undefined : sourceBytes(source);
  if (info?.escaped) return FALLBACK;
  if (!read(start, end, info, source?.offset ?? 0)) return FALLBACK;
  if (output !== out) {
    out = output;
    outView = viewOf(output);
  }
  eventIdOffset = source === undefined ? -1 : source.offset;
  return writer().write(at);
}
