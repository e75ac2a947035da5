// parseAlbLine: one ALB access-log line -> one typed document (or a reason).
// Pure: no AWS, no I/O. Never throws. See docs/parser.md for the rules.
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
  durationNanos, isIp, MAX_INTEGER, MAX_LONG, readSeconds, readTimestamp, readUnsigned, unbracket,
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

function isControlLine(line: string): boolean {
  // "Enable AccessLog for ELB: app/... at 2025-...", "Enable ConnectionLog for ELB"
  return line.startsWith('Enable ') && line.includes('Log for ELB');
}

function trimLine(line: string): string {
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

/** Parses into the module-level `record`; the caller turns it into a document or JSON before the next call. */
function parse(rawLine: string, options: ParseOptions | undefined): Outcome {
  const line = trimLine(rawLine);
  if (line.length === 0) return { kind: 'skipped', reason: 'empty line' };
  if (isControlLine(line)) return { kind: 'skipped', reason: 'ELB logging control line' };

  tokenize(line, tokens);
  const count = tokens.count;
  const v = tokens.values;
  const quoted = tokens.quoted;
  if (tokens.unterminatedQuote && count <= MIN_FIELDS) {
    return { kind: 'failed', reason: `unterminated quote in field ${count} (${ALB_FIELD_NAMES[count - 1]})` };
  }
  if (count < MIN_FIELDS) {
    return { kind: 'failed', reason: `line has ${count} fields; an ALB access-log line has at least ${MIN_FIELDS}` };
  }
  const time = v[1]!;
  const end = readTimestamp(time);
  if (end === undefined) {
    return { kind: 'failed', reason: `time field ${JSON.stringify(time.slice(0, 40))} is not an ISO 8601 UTC timestamp in the date_nanos range` };
  }
  if (!quoted[12] || !quoted[13]) {
    return { kind: 'failed', reason: 'request and user_agent (fields 13 and 14) are not quoted: not an ALB access-log line, or fields are missing' };
  }

  const r = record;
  r.fill(undefined);
  tags = undefined;
  if (tokens.gluedAfterQuote) tag('missing_space_after_quote');
  if (tokens.unterminatedQuote) tag('unterminated_quote');

  r[S['@timestamp']] = time;   // event.kind, event.category, event.type, cloud.provider: constants, see emit.ts

  if (present(v[0])) r[S['aws.elb.type']] = v[0];
  if (present(v[2])) r[S['aws.elb.name']] = v[2];

  // client:port -> source.*
  const client = v[3]!;
  if (present(client)) {
    const host = hostPort(client, S['source.ip'], S['source.port'], 'malformed_source.ip', 'malformed_source.port');
    if (host !== '') r[S['source.address']] = host;
  }

  // target:port -> aws.elb.backend.*
  const target = v[4]!;
  if (present(target)) {
    hostPort(target, S['aws.elb.backend.ip'], S['aws.elb.backend.port'], 'malformed_aws.elb.backend.ip', 'malformed_aws.elb.backend.port');
  }

  // processing times: -1 = not measured
  readTime(v[5]!, S['aws.elb.request_processing_time.sec'], 'malformed_aws.elb.request_processing_time.sec');
  readTime(v[6]!, S['aws.elb.backend_processing_time.sec'], 'malformed_aws.elb.backend_processing_time.sec');
  readTime(v[7]!, S['aws.elb.response_processing_time.sec'], 'malformed_aws.elb.response_processing_time.sec');

  const elbStatus = v[8]!;
  if (present(elbStatus)) {
    const status = readUnsigned(elbStatus, 999);
    if (status !== undefined) {
      r[S['http.response.status_code']] = status;
      r[S['event.outcome']] = status < 400 ? 'success' : 'failure';
    } else {
      tag('malformed_http.response.status_code');
    }
  }
  readInteger(v[9]!, 999, S['aws.elb.backend.http.response.status_code'], 'malformed_aws.elb.backend.http.response.status_code');
  readInteger(v[10]!, MAX_LONG, S['http.request.bytes'], 'malformed_http.request.bytes');
  readInteger(v[11]!, MAX_LONG, S['http.response.bytes'], 'malformed_http.response.bytes');

  // request -> http.request.method, url.*, http.version
  const request = parseRequest(decodeAlbEscapes(v[12]!));
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

  if (present(v[13])) r[S['user_agent.original']] = decodeAlbEscapes(v[13]);
  if (present(v[14])) r[S['tls.cipher']] = v[14];
  if (present(v[15])) tlsVersion(v[15]);
  const targetGroup = v[16]!;
  if (present(targetGroup)) r[S['aws.elb.target_group.arn']] = targetGroup;
  if (present(v[17])) r[S['trace.id']] = decodeAlbEscapes(v[17]);
  if (present(v[18])) r[S['tls.client.server_name']] = decodeAlbEscapes(v[18]);
  if (present(v[19])) r[S['aws.elb.chosen_cert.arn']] = decodeAlbEscapes(v[19]);

  // fields added since 2018-03; older lines simply end earlier
  if (count > 20) {
    const priority = v[20]!;
    if (present(priority)) {
      const value = priority === '-1' ? -1 : readUnsigned(priority, MAX_INTEGER);
      if (value !== undefined) r[S['aws.elb.matched_rule_priority']] = value;
      else tag('malformed_aws.elb.matched_rule_priority');
    }
  }
  if (count > 21) {
    const created = v[21]!;
    if (present(created)) {
      const start = readTimestamp(created);
      if (start !== undefined) {
        r[S['event.start']] = created;
        r[S['event.duration']] = durationNanos(start, end);
      } else {
        tag('malformed_event.start');
      }
    }
  }
  if (count > 22) r[S['aws.elb.action_executed']] = splitList(v[22]!, ',');
  if (count > 23) quotedText(v[23]!, S['aws.elb.redirect_url']);
  if (count > 24) quotedText(v[24]!, S['aws.elb.error.reason']);
  if (count > 25) r[S['aws.elb.target_port']] = splitList(v[25]!, ' ');
  if (count > 26) r[S['aws.elb.target_status_code']] = splitList(v[26]!, ' ');
  if (count > 27) quotedText(v[27]!, S['aws.elb.classification']);
  if (count > 28) quotedText(v[28]!, S['aws.elb.classification_reason']);
  if (count > 29) quotedText(v[29]!, S['aws.elb.conn_trace_id']);
  if (count > 30) quotedText(v[30]!, S['aws.elb.transformed_host']);
  if (count > 31) quotedText(v[31]!, S['aws.elb.transformed_uri']);
  if (count > 32) quotedText(v[32]!, S['aws.elb.request_transform_status']);
  if (count > 33 && present(v[33])) {
    if (isIp(v[33])) r[S['aws.elb.node.ip']] = v[33];
    else tag('malformed_aws.elb.node.ip');
  }
  if (count > ALB_FIELD_NAMES.length) {
    const extra: string[] = [];
    for (let i = ALB_FIELD_NAMES.length; i < count; i++) extra.push(quoted[i] ? decodeAlbEscapes(v[i]!) : v[i]!);
    r[S['aws.elb.extra_fields']] = extra;
  }

  // where it came from
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
  if (r[S['cloud.region']] === undefined && present(targetGroup)) {
    const fromArn = arnRegionAccount(targetGroup);
    if (fromArn !== undefined) {
      r[S['cloud.region']] = fromArn[0];
      r[S['cloud.account.id']] ??= fromArn[1];
    }
  }
  r[S['tags']] = tags;
  return RECORD;
}

/** `host:port` (IPv6 host possibly bracketed) into an ip and a port slot, tagging what is not typed; returns the host text. */
function hostPort(text: string, ipSlot: number, portSlot: number, ipTag: string, portTag: string): string {
  const colon = text.lastIndexOf(':');
  const host = colon === -1 ? text : unbracket(text.slice(0, colon));
  if (isIp(host)) record[ipSlot] = host;
  else tag(ipTag);
  const port = colon === -1 ? undefined : readUnsigned(text, 65535, colon + 1);
  if (port !== undefined) record[portSlot] = port;
  else tag(portTag);
  return host;
}

function readTime(text: string, slot: number, malformedTag: string): void {
  if (!present(text) || text === '-1') return;
  const seconds = readSeconds(text);
  if (seconds !== undefined) record[slot] = seconds;
  else tag(malformedTag);
}

function readInteger(text: string, max: number, slot: number, malformedTag: string): void {
  if (!present(text)) return;
  const value = readUnsigned(text, max);
  if (value !== undefined) record[slot] = value;
  else tag(malformedTag);
}

function quotedText(text: string, slot: number): void {
  if (present(text)) record[slot] = decodeAlbEscapes(text);
}

function tlsVersion(protocol: string): void {
  // TLSv1.2 -> tls / 1.2; TLSv1 -> tls / 1.0; SSLv3 -> ssl / 3.0; anything else kept as the version text
  const prefix = protocol.startsWith('TLSv') ? 'tls' : protocol.startsWith('SSLv') ? 'ssl' : undefined;
  const number = protocol.slice(4);
  if (prefix === undefined || readSeconds(number) === undefined) {
    record[SLOT['tls.version']] = protocol;
    return;
  }
  record[SLOT['tls.version']] = number.indexOf('.') === -1 ? `${number}.0` : number;
  record[SLOT['tls.version_protocol']] = prefix;
}

/**
 * Parses one ALB access-log line. Never throws: a line is a document, a
 * deliberate skip (empty or control line) or a failure with its reason.
 */
export function parseAlbLine(line: string, options?: ParseOptions): ParseResult {
  try {
    const outcome = parse(line, options);
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
export function parseAlbLineToJson(line: string, options?: ParseOptions): JsonParseResult {
  try {
    const outcome = parse(line, options);
    if (outcome.kind !== 'record') return outcome;
    // event.original holds the delimiting quotes, so it always takes the escaping path
    const clean = recordSourceClean && !options?.original && !tokens.quoteInBareToken && !NEEDS_ESCAPE.test(line);
    return { kind: 'document', json: toJson(record, clean), tagged: record[SLOT.tags] !== undefined };
  } catch (error) {
    return internalError(error);
  }
}

function internalError(error: unknown): { kind: 'failed'; reason: string } {
  // Defensive: a bug must cost one line, never the batch.
  return { kind: 'failed', reason: `internal parser error: ${error instanceof Error ? error.message : String(error)}` };
}
