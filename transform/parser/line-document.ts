// What the connection- and health-check-log parsers share: the result types, the tokenized line
// being read, typed readers that tag what they cannot type, and the bookkeeping fields (event.id,
// log.*, cloud.*, event.original). These lines are short and far fewer than access-log lines, so
// their documents are built as plain objects and written with JSON.stringify.
import { decodeAlbEscapes } from './escapes.ts';
import { lineEventId } from './event-id.ts';
import { isControlLine, trimLine } from './index.ts';
import { sourceInfo } from './source-info.ts';
import { createTokenBuffer, tokenize } from './tokenizer.ts';
import type { ParseOptions } from './types.ts';
import { isIp, isNoValue, lastIndexOfChar, readSeconds, readTimestamp, readUnsigned, unbracket, type Instant } from './values.ts';

export type DocumentResult<D> =
  | { kind: 'document'; document: D }
  | { kind: 'skipped'; reason: string }
  | { kind: 'failed'; reason: string };

export type JsonResult =
  | { kind: 'document'; json: string; tagged: boolean }
  | { kind: 'skipped'; reason: string }
  | { kind: 'failed'; reason: string };

export type Outcome = { kind: 'skipped'; reason: string } | { kind: 'failed'; reason: string };

/** A nested document under construction. */
export type Doc = Record<string, unknown>;

/** Sets a dotted path in a nested object (the parsers only ever pass schema paths, see the tests). */
export function put(doc: Doc, path: string, value: unknown): void {
  if (value === undefined) return;
  let node = doc;
  let start = 0;
  for (let dot = path.indexOf('.'); dot !== -1; dot = path.indexOf('.', start)) {
    const key = path.slice(start, dot);
    node = (node[key] ??= {}) as Doc;
    start = dot + 1;
  }
  node[path.slice(start)] = value;
}

/**
 * One tokenized line and typed readers over its tokens. Parsing is synchronous, so each parser
 * keeps one instance and reuses its token buffer.
 */
export class LineReader {
  private readonly tokens = createTokenBuffer();
  line = '';
  count = 0;
  tags: string[] | undefined;

  /** Trims and tokenizes; returns a skip outcome for empty and control lines. */
  read(rawLine: string): Outcome | undefined {
    this.line = trimLine(rawLine);
    if (this.line.length === 0) return { kind: 'skipped', reason: 'empty line' };
    if (isControlLine(this.line)) return { kind: 'skipped', reason: 'ELB logging control line' };
    tokenize(this.line, this.tokens);
    this.count = this.tokens.count;
    this.tags = undefined;
    if (this.tokens.gluedAfterQuote) this.tag('missing_space_after_quote');
    if (this.tokens.unterminatedQuote) this.tag('unterminated_quote');
    return undefined;
  }

  get unterminatedQuote(): boolean {
    return this.tokens.unterminatedQuote;
  }

  tag(name: string): void {
    if (this.tags === undefined) this.tags = [name];
    else this.tags.push(name);
  }

  quoted(i: number): boolean {
    return this.tokens.quoted[i] === 1;
  }

  /** Token i is `-`, empty or beyond the line. */
  absent(i: number): boolean {
    return i >= this.count || isNoValue(this.line, this.tokens.starts[i]!, this.tokens.ends[i]!);
  }

  /** The raw text of token i (quotes removed, escapes not decoded). */
  text(i: number): string {
    return this.line.slice(this.tokens.starts[i]!, this.tokens.ends[i]!);
  }

  /** Token i with `\xHH` escapes decoded, or undefined when absent. */
  value(i: number): string | undefined {
    return this.absent(i) ? undefined : decodeAlbEscapes(this.text(i));
  }

  timestamp(i: number): Instant | undefined {
    return readTimestamp(this.line, this.tokens.starts[i]!, this.tokens.ends[i]!);
  }

  /** Unsigned integer up to `max`; absent -> undefined, malformed -> tagged and undefined. */
  unsigned(i: number, max: number, path: string): number | undefined {
    if (this.absent(i)) return undefined;
    const value = readUnsigned(this.line, max, this.tokens.starts[i]!, this.tokens.ends[i]!);
    if (value === undefined) this.tag(`malformed_${path}`);
    return value;
  }

  /** Seconds as exact nanoseconds; absent -> undefined, malformed -> tagged and undefined. */
  nanos(i: number, path: string): number | undefined {
    if (this.absent(i)) return undefined;
    const value = secondsToNanos(this.line, this.tokens.starts[i]!, this.tokens.ends[i]!);
    if (value === undefined) this.tag(`malformed_${path}`);
    return value;
  }

  /** An IP value; absent -> undefined, not an IP -> tagged and undefined. */
  ip(text: string | undefined, path: string): string | undefined {
    if (text === undefined) return undefined;
    const host = unbracket(text);
    if (isIp(host)) return host;
    this.tag(`malformed_${path}`);
    return undefined;
  }

  /** Token i as `host:port` split at the last colon: [host, port]; tags an untyped port. */
  hostPort(i: number, portPath: string): [string, number | undefined] {
    const start = this.tokens.starts[i]!;
    const end = this.tokens.ends[i]!;
    const colon = lastIndexOfChar(this.line, 58 /* : */, start, end);
    if (colon === -1) {
      this.tag(`malformed_${portPath}`);
      return [this.text(i), undefined];
    }
    const port = readUnsigned(this.line, 65535, colon + 1, end);
    if (port === undefined) this.tag(`malformed_${portPath}`);
    return [this.line.slice(start, colon), port];
  }

  /** Tokens from `first` on, for aws.elb.extra_fields. */
  extra(first: number): string[] | undefined {
    if (this.count <= first) return undefined;
    const extra: string[] = [];
    for (let i = first; i < this.count; i++) extra.push(this.quoted(i) ? decodeAlbEscapes(this.text(i)) : this.text(i));
    return extra;
  }

  /** The shortened text of token i, for a failure reason. */
  quote(i: number): string {
    return JSON.stringify(this.text(i).slice(0, 40));
  }
}

/** `1.5`, `0.019584011` -> exact nanoseconds (fraction digits beyond 9 are cut); undefined when not a number. */
export function secondsToNanos(text: string, start = 0, end = text.length): number | undefined {
  if (readSeconds(text, start, end) === undefined) return undefined;
  const dot = text.indexOf('.', start);
  const wholeEnd = dot === -1 || dot >= end ? end : dot;
  const whole = readUnsigned(text, Number.MAX_SAFE_INTEGER, start, wholeEnd) ?? 0;
  let fraction = 0;
  let scale = 100_000_000;
  for (let i = wholeEnd + 1; i < end && scale >= 1; i++, scale /= 10) fraction += (text.charCodeAt(i) - 48) * scale;
  const nanos = whole * 1_000_000_000 + fraction;
  return Number.isSafeInteger(nanos) ? nanos : undefined;
}

/** `TLSv1.2` -> ['1.2', 'tls']; `SSLv3` -> ['3.0', 'ssl']; anything else -> [text, undefined]. */
export function tlsVersion(text: string): [string, string | undefined] {
  const protocol = text.startsWith('TLSv') ? 'tls' : text.startsWith('SSLv') ? 'ssl' : undefined;
  const number = text.slice(4);
  if (protocol === undefined || readSeconds(number) === undefined) return [text, undefined];
  return [number.includes('.') ? number : `${number}.0`, protocol];
}

/** event.id, event.original, log.*, cloud.* and tags: the same rules as access logs (docs/parser.md). */
export function addSource(doc: Doc, event: Doc, reader: LineReader, options: ParseOptions | undefined): void {
  const source = options?.source;
  // event.id before event.original: readers that scan the JSON for the id (backfill) meet it first
  const info = source === undefined ? undefined : sourceInfo(source);
  event['id'] = info === undefined ? lineEventId(reader.line) : info.idPrefix + source!.offset;
  if (options?.original) event['original'] = reader.line;
  if (info === undefined) {
    doc['cloud'] = { provider: 'aws' };
    return;
  }
  const cloud: Doc = { provider: 'aws' };
  if (info.objectKey.accountId !== undefined) cloud['account'] = { id: info.objectKey.accountId };
  if (info.objectKey.region !== undefined) cloud['region'] = info.objectKey.region;
  doc['cloud'] = cloud;
  doc['log'] = info.path === '' ? { offset: source!.offset } : { file: { path: info.path }, offset: source!.offset };
}

/** Runs a parser body; a bug costs one line (a failure with its reason), never a throw. */
export function guarded<T>(parse: () => T | Outcome): T | Outcome {
  try {
    return parse();
  } catch (error) {
    return { kind: 'failed', reason: `internal parser error: ${error instanceof Error ? error.message : String(error)}` };
  }
}

export function toJsonResult<D>(result: DocumentResult<D>): JsonResult {
  if (result.kind !== 'document') return result;
  return { kind: 'document', json: JSON.stringify(result.document), tagged: (result.document as { tags?: unknown }).tags !== undefined };
}
