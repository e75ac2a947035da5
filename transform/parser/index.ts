// parseAlbLine: one ALB access-log line -> one typed document (or a reason).
// Pure: no AWS, no I/O. Never throws. See docs/parser.md for the rules.
import type { Enricher } from '../enrich/index.ts';
import type { AlbDocument } from '../schema/fields.ts';
import { SLOT, SLOT_COUNT, toDocument, type FieldRecord, type SlotValue } from './emit.ts';
import { toJson } from './json-writer.ts';
import { decodeAlbEscapes } from './escapes.ts';
import { lineEventId } from './event-id.ts';
import { parseRequest, parseUrl } from './request.ts';
import { sourceInfo } from './source-info.ts';
import { createTokenBuffer, tokenize } from './tokenizer.ts';
import type { LineSource, ParseOptions, ParseResult } from './types.ts';
import {
  durationNanos, isIp, isNoValue, lastIndexOfChar, MAX_INTEGER, MAX_LONG, readSeconds, readTimestamp, readUnsigned, unbracket, type Instant,
} from './values.ts';

export type { AlbDocument, LineSource, ParseOptions, ParseResult };

/** ALB access-log fields by position (0-based); everything after goes to aws.elb.extra_fields. */
export const ALB_FIELD_NAMES = [
  'type', 'time', 'elb', 'client:port', 'target:port', 'request_processing_time', 'target_processing_time',
  'response_processing_time', 'elb_status_code', 'target_status_code', 'received_bytes', 'sent_bytes', 'request',
  'user_agent', 'ssl_cipher', 'ssl_protocol', 'target_group_arn', 'trace_id', 'domain_name', 'chosen_cert_arn',
  'matched_rule_priority', 'request_creation_time', 'actions_executed', 'redirect_url', 'error_reason',
  'target:port_list', 'target_status_code_list', 'classification', 'classification_reason', 'conn_trace_id',
  'transformed_host', 'transformed_uri', 'request_transform_status', 'ip_address',
] as const;

/**
 * Tags a document can carry besides `malformed_<schema path>` (a value that
 * could not be typed and was left out of that field).
 */
export const STRUCTURE_TAGS = {
  missing_space_after_quote: 'a closing quote was directly followed by the next field; read as if a space were there',
  unterminated_quote: 'the last field opened a quote that never closed; it holds the rest of the line',
} as const;

/** The oldest ALB lines (2018-02) end at chosen_cert_arn: 20 fields. */
export const MIN_FIELDS = 20;

const tokens = createTokenBuffer();

// Flags for the document being built (module-level: parsing is synchronous, and a closure per line costs).
let tags: string[] | undefined;
function tag(name: string): void {
  if (tags === undefined) tags = [name];
  else tags.push(name);
}

/** `-` and the empty string mean "no value". */
function present(text: string | undefined): text is string {
  return text !== undefined && text !== '-' && text !== '';
}

/** arn:partition:service:region:account:resource -> [region, account] */
function arnRegionAccount(arn: string): [string, string] | undefined {
  if (!arn.startsWith('arn:')) return undefined;
  const service = arn.indexOf(':', 4);
  const region = arn.indexOf(':', service + 1);
  const account = arn.indexOf(':', region + 1);
  const resource = arn.indexOf(':', account + 1);
  if (service === -1 || region === -1 || account === -1 || resource === -1) return undefined;
  const regionText = arn.slice(region + 1, account);
  const accountText = arn.slice(account + 1, resource);
  return regionText !== '' && accountText !== '' ? [regionText, accountText] : undefined;
}

function splitList(text: string, separator: string): string[] | undefined {
  if (!present(text)) return undefined;
  if (text.indexOf(separator) === -1) return [text];
  const items = text.split(separator).filter(present);
  return items.length > 0 ? items : undefined;
}

export function isControlLine(line: string): boolean {
  // "Enable AccessLog for ELB: app/... at 2025-...", "Enable ConnectionLog for ELB"
  return line.startsWith('Enable ') && line.includes('Log for ELB');
}

export function trimLine(line: string): string {
  let start = 0;
  let end = line.length;
  if (line.charCodeAt(0) === 0xfeff) start = 1;
  while (end > start) {
    const c = line.charCodeAt(end - 1);
    if (c !== 10 && c !== 13 && c !== 32 && c !== 9) break;
    end--;
  }
  return start === 0 && end === line.length ? line : line.slice(start, end);
}

const record: FieldRecord = new Array<SlotValue>(SLOT_COUNT).fill(undefined);
const S = SLOT;
/** Characters that force JSON escaping (a `"` can only appear as a token delimiter or in a bare token). */
const NEEDS_ESCAPE = /[\\\u0000-\u001f\ud800-\udfff]/;

type Outcome = { kind: 'record' } | { kind: 'skipped'; reason: string } | { kind: 'failed'; reason: string };
const RECORD: Outcome = { kind: 'record' };
/** Whether the record's strings need no JSON escaping (set by parse, read by the JSON path). */
let recordSourceClean = true;

// The line being parsed and its token positions (module-level, like `record`): the
// field readers below read numbers, ports and timestamps in place and slice out
// only the text that goes into the document.
let line = '';
let starts = tokens.starts;
let ends = tokens.ends;

/** Token i is "no value": `-` or empty. */
function absent(i: number): boolean {
  return isNoValue(line, starts[i]!, ends[i]!);
}

/** Token i is `-1` ("not measured", "no rule"). */
function isMinusOne(i: number): boolean {
  return ends[i] === starts[i]! + 2 && line.startsWith('-1', starts[i]!);
}

/** The text of token i, escapes not decoded. */
function text(i: number): string {
  return line.slice(starts[i]!, ends[i]!);
}

/** The text of token i with `\xHH` escapes decoded. */
function decodedText(i: number): string {
  return decodeAlbEscapes(text(i));
}

/** Parses into the module-level `record`; the caller turns it into a document or JSON before the next call. */
function parse(rawLine: string, options: ParseOptions | undefined): Outcome {
  line = trimLine(rawLine);
  if (line.length === 0) return { kind: 'skipped', reason: 'empty line' };
  if (isControlLine(line)) return { kind: 'skipped', reason: 'ELB logging control line' };

  tokenize(line, tokens);
  starts = tokens.starts;
  ends = tokens.ends;
  const count = tokens.count;
  const quoted = tokens.quoted;
  if (tokens.unterminatedQuote && count <= MIN_FIELDS) {
    return { kind: 'failed', reason: `unterminated quote in field ${count} (${ALB_FIELD_NAMES[count - 1]})` };
  }
  if (count < MIN_FIELDS) {
    return { kind: 'failed', reason: `line has ${count} fields; an ALB access-log line has at least ${MIN_FIELDS}` };
  }
  const end = readTimestamp(line, starts[1]!, ends[1]!);
  if (end === undefined) {
    return { kind: 'failed', reason: `time field ${JSON.stringify(text(1).slice(0, 40))} is not an ISO 8601 UTC timestamp in the date_nanos range` };
  }
  if (quoted[12] === 0 || quoted[13] === 0) {
    return { kind: 'failed', reason: 'request and user_agent (fields 13 and 14) are not quoted: not an ALB access-log line, or fields are missing' };
  }

  const r = record;
  // a plain loop: about half the cost of calling the Array.prototype.fill builtin for ~60 slots
  for (let slot = 0; slot < SLOT_COUNT; slot++) r[slot] = undefined;
  tags = undefined;
  if (tokens.gluedAfterQuote) tag('missing_space_after_quote');
  if (tokens.unterminatedQuote) tag('unterminated_quote');

  r[S['@timestamp']] = text(1);   // event.kind, event.category, event.type, cloud.provider: constants, see emit.ts
  readConnectionFields();
  const targetGroup = readRequestFields();
  if (count > MIN_FIELDS) readNewerFields(count, end);
  readSource(options, targetGroup);
  enrichmentClean = true;
  if (options?.enrich !== undefined) enrich(options.enrich);
  return RECORD;
}

/** Whether the enrichment's strings need no JSON escaping (set by enrich, read by the JSON path). */
let enrichmentClean = true;

/** source.geo, source.as and user_agent fields from the parsed client address and User-Agent header. */
function enrich(enricher: Enricher): void {
  const r = record;
  const ip = r[S['source.ip']];
  if (ip !== undefined) {
    const found = enricher.ip(ip as string);
    if (found !== undefined) {
      const geo = found.geo;
      if (geo !== undefined) {
        r[S['source.geo.continent_name']] = geo.continent_name;
        r[S['source.geo.country_iso_code']] = geo.country_iso_code;
        r[S['source.geo.country_name']] = geo.country_name;
        r[S['source.geo.region_name']] = geo.region_name;
        r[S['source.geo.city_name']] = geo.city_name;
        r[S['source.geo.location']] = geo.location;
      }
      if (found.as !== undefined) {
        r[S['source.as.number']] = found.as.number;
        r[S['source.as.organization.name']] = found.as.organization_name;
      }
      if (!found.clean) enrichmentClean = false;
    }
  }
  const userAgent = r[S['user_agent.original']];
  if (userAgent !== undefined) {
    const found = enricher.userAgent(userAgent as string);
    if (found !== undefined) {
      const fields = found.fields;
      r[S['user_agent.name']] = fields.name;
      r[S['user_agent.version']] = fields.version;
      r[S['user_agent.os.name']] = fields.os?.name;
      r[S['user_agent.os.version']] = fields.os?.version;
      r[S['user_agent.device.name']] = fields.device?.name;
      if (!found.clean) enrichmentClean = false;
    }
  }
}

// The field readers, by section of the line. Each reads its tokens in place
// and slices out only the text that goes into the document.

/** Fields 1-12: type, elb, client and target addresses, processing times, status codes, byte counts. */
function readConnectionFields(): void {
  const r = record;
  if (!absent(0)) r[S['aws.elb.type']] = text(0);
  if (!absent(2)) r[S['aws.elb.name']] = text(2);

  // client:port -> source.*
  if (!absent(3)) {
    const host = hostPort(3, S['source.ip'], S['source.port'], 'malformed_source.ip', 'malformed_source.port');
    if (host !== '') r[S['source.address']] = host;
  }

  // target:port -> aws.elb.backend.*
  if (!absent(4)) {
    hostPort(4, S['aws.elb.backend.ip'], S['aws.elb.backend.port'], 'malformed_aws.elb.backend.ip', 'malformed_aws.elb.backend.port');
  }

  // processing times: -1 = not measured
  readTime(5, S['aws.elb.request_processing_time.sec'], 'malformed_aws.elb.request_processing_time.sec');
  readTime(6, S['aws.elb.backend_processing_time.sec'], 'malformed_aws.elb.backend_processing_time.sec');
  readTime(7, S['aws.elb.response_processing_time.sec'], 'malformed_aws.elb.response_processing_time.sec');

  if (!absent(8)) {
    const status = readUnsigned(line, 999, starts[8]!, ends[8]!);
    if (status !== undefined) {
      r[S['http.response.status_code']] = status;
      r[S['event.outcome']] = status < 400 ? 'success' : 'failure';
    } else {
      tag('malformed_http.response.status_code');
    }
  }
  readInteger(9, 999, S['aws.elb.backend.http.response.status_code'], 'malformed_aws.elb.backend.http.response.status_code');
  readInteger(10, MAX_LONG, S['http.request.bytes'], 'malformed_http.request.bytes');
  readInteger(11, MAX_LONG, S['http.response.bytes'], 'malformed_http.response.bytes');
}

/** Fields 13-20: request, user agent, TLS, target group, trace, SNI, certificate; returns the target group ARN. */
function readRequestFields(): string | undefined {
  const r = record;
  // request -> http.request.method, url.*, http.version (read in place unless it holds escapes)
  const backslash = line.indexOf('\\', starts[12]!);
  const request = backslash === -1 || backslash >= ends[12]!
    ? parseRequest(line, starts[12]!, ends[12]!)
    : parseRequest(decodedText(12));
  if (request.method !== undefined) r[S['http.request.method']] = request.method;
  if (request.version !== undefined) r[S['http.version']] = request.version;
  if (request.url !== undefined) {
    r[S['url.original']] = request.url;
    const parts = parseUrl(request.url);
    if (parts.scheme !== undefined) r[S['url.scheme']] = parts.scheme;
    if (parts.domain !== undefined) r[S['url.domain']] = parts.domain;
    if (parts.port !== undefined) r[S['url.port']] = parts.port;
    if (parts.portMalformed) tag('malformed_url.port');
    if (parts.path !== undefined) r[S['url.path']] = parts.path;
    if (parts.query !== undefined) r[S['url.query']] = parts.query;
  }

  if (!absent(13)) r[S['user_agent.original']] = decodedText(13);
  if (!absent(14)) r[S['tls.cipher']] = text(14);
  if (!absent(15)) tlsVersion(15);
  const targetGroup = absent(16) ? undefined : text(16);
  if (targetGroup !== undefined) r[S['aws.elb.target_group.arn']] = targetGroup;
  quotedText(17, S['trace.id']);
  quotedText(18, S['tls.client.server_name']);
  quotedText(19, S['aws.elb.chosen_cert.arn']);
  return targetGroup;
}

/** Fields 21 and later (added since 2018-03; older lines simply end earlier). */
function readNewerFields(count: number, end: Instant): void {
  const r = record;
  const quoted = tokens.quoted;
  if (count > 20 && !absent(20)) {
    const value = isMinusOne(20) ? -1 : readUnsigned(line, MAX_INTEGER, starts[20]!, ends[20]!);
    if (value !== undefined) r[S['aws.elb.matched_rule_priority']] = value;
    else tag('malformed_aws.elb.matched_rule_priority');
  }
  if (count > 21 && !absent(21)) {
    const start = readTimestamp(line, starts[21]!, ends[21]!);
    if (start !== undefined) {
      r[S['event.start']] = text(21);
      r[S['event.duration']] = durationNanos(start, end);
    } else {
      tag('malformed_event.start');
    }
  }
  if (count > 22) r[S['aws.elb.action_executed']] = splitList(text(22), ',');
  if (count > 23) quotedText(23, S['aws.elb.redirect_url']);
  if (count > 24) quotedText(24, S['aws.elb.error.reason']);
  if (count > 25) r[S['aws.elb.target_port']] = splitList(text(25), ' ');
  if (count > 26) r[S['aws.elb.target_status_code']] = splitList(text(26), ' ');
  if (count > 27) quotedText(27, S['aws.elb.classification']);
  if (count > 28) quotedText(28, S['aws.elb.classification_reason']);
  if (count > 29) quotedText(29, S['aws.elb.conn_trace_id']);
  if (count > 30) quotedText(30, S['aws.elb.transformed_host']);
  if (count > 31) quotedText(31, S['aws.elb.transformed_uri']);
  if (count > 32) quotedText(32, S['aws.elb.request_transform_status']);
  if (count > 33 && !absent(33)) {
    const node = text(33);
    if (isIp(node)) r[S['aws.elb.node.ip']] = node;
    else tag('malformed_aws.elb.node.ip');
  }
  if (count > ALB_FIELD_NAMES.length) {
    const extra: string[] = [];
    for (let i = ALB_FIELD_NAMES.length; i < count; i++) extra.push(quoted[i] === 1 ? decodedText(i) : text(i));
    r[S['aws.elb.extra_fields']] = extra;
  }
}

/** Where the line came from: event.id, log.*, cloud.* (else account and region from the target group ARN). */
function readSource(options: ParseOptions | undefined, targetGroup: string | undefined): void {
  const r = record;
  const source = options?.source;
  if (options?.original) r[S['event.original']] = line; // without a trailing CR/LF or BOM
  recordSourceClean = true;
  if (source === undefined) {
    r[S['event.id']] = lineEventId(line);
  } else {
    const info = sourceInfo(source);
    r[S['event.id']] = info.idPrefix + source.offset;
    r[S['cloud.account.id']] = info.objectKey.accountId;
    r[S['cloud.region']] = info.objectKey.region;
    if (info.path !== '') r[S['log.file.path']] = info.path;
    r[S['log.offset']] = source.offset;
    recordSourceClean = info.clean;
  }
  if (r[S['cloud.region']] === undefined && targetGroup !== undefined) {
    const fromArn = arnRegionAccount(targetGroup);
    if (fromArn !== undefined) {
      r[S['cloud.region']] = fromArn[0];
      r[S['cloud.account.id']] ??= fromArn[1];
    }
  }
  r[S['tags']] = tags;
}

/** Token i as `host:port` (IPv6 host possibly bracketed) into an ip and a port slot, tagging what is not typed; returns the host text. */
function hostPort(i: number, ipSlot: number, portSlot: number, ipTag: string, portTag: string): string {
  const start = starts[i]!;
  const end = ends[i]!;
  const colon = lastIndexOfChar(line, 58 /* : */, start, end);
  const host = colon === -1 ? text(i) : unbracket(line.slice(start, colon));
  if (isIp(host)) record[ipSlot] = host;
  else tag(ipTag);
  const port = colon === -1 ? undefined : readUnsigned(line, 65535, colon + 1, end);
  if (port !== undefined) record[portSlot] = port;
  else tag(portTag);
  return host;
}

function readTime(i: number, slot: number, malformedTag: string): void {
  if (absent(i) || isMinusOne(i)) return;
  const seconds = readSeconds(line, starts[i]!, ends[i]!);
  if (seconds !== undefined) record[slot] = seconds;
  else tag(malformedTag);
}

function readInteger(i: number, max: number, slot: number, malformedTag: string): void {
  if (absent(i)) return;
  const value = readUnsigned(line, max, starts[i]!, ends[i]!);
  if (value !== undefined) record[slot] = value;
  else tag(malformedTag);
}

function quotedText(i: number, slot: number): void {
  if (!absent(i)) record[slot] = decodedText(i);
}

function tlsVersion(i: number): void {
  // TLSv1.2 -> tls / 1.2; TLSv1 -> tls / 1.0; SSLv3 -> ssl / 3.0; anything else kept as the version text
  const start = starts[i]!;
  const end = ends[i]!;
  const prefix = line.startsWith('TLSv', start) ? 'tls' : line.startsWith('SSLv', start) ? 'ssl' : undefined;
  const numberStart = Math.min(start + 4, end);
  if (prefix === undefined || readSeconds(line, numberStart, end) === undefined) {
    record[SLOT['tls.version']] = text(i);
    return;
  }
  record[SLOT['tls.version']] = tlsVersionNumber(numberStart, end);
  record[SLOT['tls.version_protocol']] = prefix;
}

/** `1.2` → `1.2`, `1` → `1.0`; the common versions as constants (no string per line). */
function tlsVersionNumber(start: number, end: number): string {
  if (end === start + 3 && line.charCodeAt(start) === 49 /* 1 */ && line.charCodeAt(start + 1) === 46 /* . */) {
    switch (line.charCodeAt(start + 2)) {
      case 50: return '1.2';
      case 51: return '1.3';
      case 49: return '1.1';
      case 48: return '1.0';
    }
  }
  const number = line.slice(start, end);
  return number.indexOf('.') === -1 ? `${number}.0` : number;
}

/**
 * Parses one ALB access-log line. Never throws: a line is a document, a
 * deliberate skip (empty or control line) or a failure with its reason.
 */
export function parseAlbLine(rawLine: string, options?: ParseOptions): ParseResult {
  try {
    const outcome = parse(rawLine, options);
    return outcome.kind === 'record' ? { kind: 'document', document: toDocument(record) } : outcome;
  } catch (error) {
    return internalError(error);
  }
}

export type JsonParseResult =
  | { kind: 'document'; json: string; tagged: boolean }   // tagged: the document carries tags (malformed values)
  | { kind: 'skipped'; reason: string }
  | { kind: 'failed'; reason: string };

/**
 * Same as parseAlbLine, but gives the document as JSON text:
 * `json === JSON.stringify(parseAlbLine(line, options).document)`, several times faster.
 */
export function parseAlbLineToJson(rawLine: string, options?: ParseOptions): JsonParseResult {
  try {
    const outcome = parse(rawLine, options);
    if (outcome.kind !== 'record') return outcome;
    // event.original holds the delimiting quotes, so it always takes the escaping path;
    // `line` is the trimmed line just parsed
    const clean = recordSourceClean && enrichmentClean && !options?.original && !tokens.quoteInBareToken && !NEEDS_ESCAPE.test(line);
    return { kind: 'document', json: toJson(record, clean), tagged: record[SLOT.tags] !== undefined };
  } catch (error) {
    return internalError(error);
  }
}

function internalError(error: unknown): { kind: 'failed'; reason: string } {
  // Defensive: a bug must cost one line, never the batch.
  return { kind: 'failed', reason: `internal parser error: ${error instanceof Error ? error.message : String(error)}` };
}
