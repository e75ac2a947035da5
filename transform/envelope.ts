// Loader -> transform record envelope (docs/architecture.md, "Loader -> transform record envelope").
//
// A Firehose record's data is either a bare ALB line (any producer) or
//   \x1E <encodeURIComponent(bucket)> SP <encodeURIComponent(key)> SP [<log type> SP] <byte offset, decimal> LF <raw line>
// The log type (`connection`, `health`) says which parser the transform uses; it is left out for
// access logs, so access-log records are byte for byte what they were before other types existed.
// The header tells the transform where the line came from (for log.file.path, log.offset and a
// deterministic event.id) and costs about 100-250 bytes (an AWS key with its %2Fs). \x1E (ASCII
// record separator) never starts an ALB line, so a record that starts with it is an envelope and
// anything else is a bare line.
//
// Decoding policy: a record that starts with \x1E but whose header is malformed is NOT guessed at
// as a bare line; decodeRecord returns it with `error` set, and the transform reports it as
// ProcessingFailed (original data kept, reason counted and logged). A broken header means a
// producer bug, which must show up rather than silently lose the line's source.
import type { LineSource } from './parser/index.ts';
import type { LogType } from './log-types.ts';

/** First byte of an enveloped record (ASCII RS). */
export const ENVELOPE_MARKER = 0x1e;
const LF = 0x0a;
const CR = 0x0d;

/** The object a line comes from; `bucket` is absent for local files (then `key` is the file path). */
export type ObjectSource = Omit<LineSource, 'offset'> & {
  /** The log type of the object's lines; absent = access. */
  type?: LogType;
};

export interface DecodedRecord {
  /** Present when the record carried a valid envelope header. */
  source?: LineSource;
  /** The raw line, without the header and without one trailing LF / CRLF. */
  line: string;
  /** Set when the record starts with the envelope marker but the header is malformed; `line` is then the whole record text. */
  error?: string;
  /** The log type the envelope names; absent for access logs, bare lines and malformed headers. */
  type?: Exclude<LogType, 'access'>;
}

/**
 * The per-object header prefix (marker, bucket, key, each field followed by a space).
 * Computed once per object; each record then only appends its offset, LF and the line.
 */
export function envelopePrefix(source: ObjectSource): Buffer {
  if (source.key.length === 0) throw new RangeError('envelope: the object key must not be empty');
  return Buffer.from(
    `\x1e${encodeURIComponent(source.bucket ?? '')} ${encodeURIComponent(source.key)} ${source.type === undefined || source.type === 'access' ? '' : `${source.type} `}`,
    'latin1', // encodeURIComponent output is ASCII
  );
}

/** Records of one encoder are cut from shared chunks of up to this size (fewer, larger allocations). */
const RECORD_CHUNK_BYTES = 64 * 1024;

function digitCount(n: number): number {
  let digits = 1;
  for (let rest = n; rest >= 10; rest = Math.floor(rest / 10)) digits += 1;
  return digits;
}

/** Bytes of the record for a line of `lineBytes` at `offset`, given the object's envelopePrefix length. */
export function envelopeRecordLength(prefixLength: number, offset: number, lineBytes: number): number {
  return prefixLength + digitCount(offset) + 1 + lineBytes;
}

/**
 * Returns an encoder for the lines of one object: `(offset, line) => record data`. The records are
 * views into chunks the encoder allocates (a chunk is freed once none of its records is referenced).
 */
export function createRecordEncoder(source: ObjectSource): (offset: number, line: Buffer | string) => Buffer {
  const prefix = envelopePrefix(source);
  let chunk: Buffer = Buffer.alloc(0);
  let used = 0;
  return (offset, line) => {
    if (!Number.isSafeInteger(offset) || offset < 0) {
      throw new RangeError(`envelope: offset must be a non-negative integer, got ${offset}`);
    }
    const lineBytes = typeof line === 'string' ? Buffer.from(line, 'utf8') : line;
    const digits = digitCount(offset);
    const lineAt = prefix.length + digits + 1;
    const size = lineAt + lineBytes.length;
    if (used + size > chunk.length) {
      // Doubling up to the chunk size: a one-record encoder (encodeRecord) allocates just its record.
      chunk = Buffer.allocUnsafe(Math.max(size, Math.min(RECORD_CHUNK_BYTES, 2 * chunk.length)));
      used = 0;
    }
    const record = chunk.subarray(used, used + size);
    used += size;
    record.set(prefix, 0);
    let rest = offset;
    for (let i = lineAt - 2; i >= prefix.length; i -= 1) {
      record[i] = 0x30 + (rest % 10); // ASCII digit
      rest = Math.floor(rest / 10);
    }
    record[lineAt - 1] = LF;
    record.set(lineBytes, lineAt);
    return record;
  };
}

/** Encodes one line with its source (and log type). For many lines of one object use createRecordEncoder. */
export function encodeRecord(source: LineSource & { type?: LogType }, line: Buffer | string): Buffer {
  return createRecordEncoder(source)(source.offset, line);
}

// encodeURIComponent leaves only these characters unescaped; anything else in a header is not ours.
const HEADER = /^([A-Za-z0-9\-_.!~*'()%]*) ([A-Za-z0-9\-_.!~*'()%]+) (?:(connection|health) )?(\d{1,16})$/;

// Records of one batch mostly come from the same object: remember the last decoded bucket/key,
// and its header bytes up to the offset, so the next record of that object costs one memcmp.
let lastObjectFields = '';
let lastObject: { bucket?: string; key: string } = { key: '' };
let lastType: DecodedRecord['type'];
let lastPrefixBytes = Buffer.alloc(0);

function decodeHeader(header: string): { source: LineSource; type: DecodedRecord['type'] } | { error: string } {
  const match = HEADER.exec(header);
  if (match === null) {
    return { error: 'malformed envelope header: expected "<bucket> <key> <offset>" URI-encoded' };
  }
  const [, bucketField, keyField, typeField, offsetField] = match as unknown as [string, string, string, DecodedRecord['type'], string];
  const offset = Number(offsetField);
  if (!Number.isSafeInteger(offset)) return { error: 'malformed envelope header: offset beyond a safe integer' };
  const objectFields = header.slice(0, header.length - offsetField.length);
  if (objectFields !== lastObjectFields) {
    try {
      const bucket = decodeURIComponent(bucketField);
      lastObject = bucket.length > 0 ? { bucket, key: decodeURIComponent(keyField) } : { key: decodeURIComponent(keyField) };
      lastObjectFields = objectFields;
      lastType = typeField;
      lastPrefixBytes = Buffer.from(`\x1e${objectFields}`, 'latin1'); // ASCII: checked by HEADER
    } catch {
      return { error: 'malformed envelope header: invalid URI encoding in bucket or key' };
    }
  }
  return { source: sourceAt(offset), type: lastType };
}

// Built field by field: an object spread here cost more than the rest of the decoding.
function sourceAt(offset: number): LineSource {
  const { bucket, key } = lastObject;
  return bucket === undefined ? { key, offset } : { bucket, key, offset };
}

function withoutLineEnd(text: string): string {
  if (text.charCodeAt(text.length - 1) !== LF) return text;
  const end = text.charCodeAt(text.length - 2) === CR ? text.length - 2 : text.length - 1;
  return text.slice(0, end);
}

/** End of the line in `data`, before one trailing LF or CRLF. */
function lineEnd(data: Buffer): number {
  let end = data.length;
  if (data[end - 1] === LF) end -= data[end - 2] === CR ? 2 : 1;
  return end;
}

/** The offset digits after the cached prefix, when `data` has the last object's header; else undefined. */
function offsetAfterLastPrefix(data: Buffer): { offset: number; lf: number } | undefined {
  const start = lastPrefixBytes.length;
  if (start === 0 || data.length <= start || data.compare(lastPrefixBytes, 0, start, 0, start) !== 0) return undefined;
  let offset = 0;
  let i = start;
  for (; i < data.length && i - start < 16; i++) {
    const c = data[i]!;
    if (c === LF) break;
    if (c < 0x30 || c > 0x39) return undefined;
    offset = offset * 10 + (c - 0x30);
  }
  return i > start && data[i] === LF && Number.isSafeInteger(offset) ? { offset, lf: i } : undefined;
}

function decodeBytes(data: Buffer): DecodedRecord {
  if (data[0] !== ENVELOPE_MARKER) return { line: data.toString('utf8', 0, lineEnd(data)) };
  const fast = offsetAfterLastPrefix(data);
  if (fast !== undefined) {
    const line = data.toString('utf8', fast.lf + 1, Math.max(fast.lf + 1, lineEnd(data)));
    return lastType === undefined ? { source: sourceAt(fast.offset), line } : { source: sourceAt(fast.offset), line, type: lastType };
  }
  const lf = data.indexOf(LF);
  if (lf < 0) return { line: data.toString('utf8'), error: 'malformed envelope header: no line feed after the header' };
  // The header must be ASCII; latin1 maps each byte to one character, so a stray byte fails the pattern.
  const decoded = decodeHeader(data.toString('latin1', 1, lf));
  if ('error' in decoded) return { line: data.toString('utf8'), error: decoded.error };
  const line = data.toString('utf8', lf + 1, Math.max(lf + 1, lineEnd(data)));
  return decoded.type === undefined ? { source: decoded.source, line } : { source: decoded.source, line, type: decoded.type };
}

function decodeText(data: string): DecodedRecord {
  if (data.charCodeAt(0) !== ENVELOPE_MARKER) return { line: withoutLineEnd(data) };
  const lf = data.indexOf('\n');
  if (lf < 0) return { line: data, error: 'malformed envelope header: no line feed after the header' };
  const decoded = decodeHeader(data.slice(1, lf));
  if ('error' in decoded) return { line: data, error: decoded.error };
  const line = withoutLineEnd(data.slice(lf + 1));
  return decoded.type === undefined ? { source: decoded.source, line } : { source: decoded.source, line, type: decoded.type };
}

/**
 * Splits a record's data (raw bytes, or the same content as text; never base64) into its optional
 * source and the raw line. Never throws.
 */
export function decodeRecord(data: Buffer | string): DecodedRecord {
  return typeof data === 'string' ? decodeText(data) : decodeBytes(data);
}
