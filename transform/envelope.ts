// Loader -> transform record envelope (docs/architecture.md, "Loader -> transform record envelope").
//
// A Firehose record's data is either a bare ALB line (any producer) or
//   \x1E <encodeURIComponent(bucket)> SP <encodeURIComponent(key)> SP <byte offset, decimal> LF <raw line>
// The header tells the transform where the line came from (for log.file.path, log.offset and a
// deterministic event.id) and costs about 100 bytes. \x1E (ASCII record separator) never starts an
// ALB line, so a record that starts with it is an envelope and anything else is a bare line.
//
// Decoding policy: a record that starts with \x1E but whose header is malformed is NOT guessed at
// as a bare line; decodeRecord returns it with `error` set, and the transform reports it as
// ProcessingFailed (original data kept, reason counted and logged). A broken header means a
// producer bug, which must show up rather than silently lose the line's source.
import type { LineSource } from './parser/index.ts';

/** First byte of an enveloped record (ASCII RS). */
export const ENVELOPE_MARKER = 0x1e;
const LF = 0x0a;
const CR = 0x0d;

/** The object a line comes from; `bucket` is absent for local files (then `key` is the file path). */
export type ObjectSource = Omit<LineSource, 'offset'>;

export interface DecodedRecord {
  /** Present when the record carried a valid envelope header. */
  source?: LineSource;
  /** The raw line, without the header and without one trailing LF / CRLF. */
  line: string;
  /** Set when the record starts with the envelope marker but the header is malformed; `line` is then the whole record text. */
  error?: string;
}

/**
 * The per-object header prefix (marker, bucket, key, each field followed by a space).
 * Computed once per object; each record then only appends its offset, LF and the line.
 */
export function envelopePrefix(source: ObjectSource): Buffer {
  if (source.key.length === 0) throw new RangeError('envelope: the object key must not be empty');
  return Buffer.from(
    `\x1e${encodeURIComponent(source.bucket ?? '')} ${encodeURIComponent(source.key)} `,
    'latin1', // encodeURIComponent output is ASCII
  );
}

/** Returns an encoder for the lines of one object: `(offset, line) => record data`. */
export function createRecordEncoder(source: ObjectSource): (offset: number, line: Buffer | string) => Buffer {
  const prefix = envelopePrefix(source);
  return (offset, line) => {
    if (!Number.isSafeInteger(offset) || offset < 0) {
      throw new RangeError(`envelope: offset must be a non-negative integer, got ${offset}`);
    }
    const offsetAndLf = `${offset}\n`;
    const lineBytes = typeof line === 'string' ? Buffer.from(line, 'utf8') : line;
    const record = Buffer.allocUnsafe(prefix.length + offsetAndLf.length + lineBytes.length);
    prefix.copy(record, 0);
    record.write(offsetAndLf, prefix.length, 'latin1');
    lineBytes.copy(record, prefix.length + offsetAndLf.length);
    return record;
  };
}

/** Encodes one line with its source. For many lines of one object use createRecordEncoder. */
export function encodeRecord(source: LineSource, line: Buffer | string): Buffer {
  return createRecordEncoder(source)(source.offset, line);
}

// encodeURIComponent leaves only these characters unescaped; anything else in a header is not ours.
const HEADER = /^([A-Za-z0-9\-_.!~*'()%]*) ([A-Za-z0-9\-_.!~*'()%]+) (\d{1,16})$/;

// Records of one batch mostly come from the same object: remember the last decoded bucket/key.
let lastObjectFields = '';
let lastObject: { bucket?: string; key: string } = { key: '' };

function decodeHeader(header: string): { source: LineSource } | { error: string } {
  const match = HEADER.exec(header);
  if (match === null) {
    return { error: 'malformed envelope header: expected "<bucket> <key> <offset>" URI-encoded' };
  }
  const [, bucketField, keyField, offsetField] = match as unknown as [string, string, string, string];
  const offset = Number(offsetField);
  if (!Number.isSafeInteger(offset)) return { error: 'malformed envelope header: offset beyond a safe integer' };
  const objectFields = header.slice(0, header.length - offsetField.length);
  if (objectFields !== lastObjectFields) {
    try {
      const bucket = decodeURIComponent(bucketField);
      lastObject = bucket.length > 0 ? { bucket, key: decodeURIComponent(keyField) } : { key: decodeURIComponent(keyField) };
      lastObjectFields = objectFields;
    } catch {
      return { error: 'malformed envelope header: invalid URI encoding in bucket or key' };
    }
  }
  return { source: { ...lastObject, offset } };
}

function withoutLineEnd(text: string): string {
  if (text.charCodeAt(text.length - 1) !== LF) return text;
  const end = text.charCodeAt(text.length - 2) === CR ? text.length - 2 : text.length - 1;
  return text.slice(0, end);
}

/**
 * Splits a record's data (raw bytes, or the same content as text; never base64) into its optional
 * source and the raw line. Never throws.
 */
export function decodeRecord(data: Buffer | string): DecodedRecord {
  const text = typeof data === 'string';
  const first = text ? data.charCodeAt(0) : data[0];
  if (first !== ENVELOPE_MARKER) {
    return { line: withoutLineEnd(text ? data : data.toString('utf8')) };
  }
  const lf = text ? data.indexOf('\n') : data.indexOf(LF);
  if (lf < 0) {
    return { line: text ? data : data.toString('utf8'), error: 'malformed envelope header: no line feed after the header' };
  }
  // The header must be ASCII; latin1 maps each byte to one character, so a stray byte fails the pattern.
  const header = text ? data.slice(1, lf) : data.toString('latin1', 1, lf);
  const decoded = decodeHeader(header);
  if ('error' in decoded) return { line: text ? data : data.toString('utf8'), error: decoded.error };
  const line = text ? data.slice(lf + 1) : data.toString('utf8', lf + 1);
  return { source: decoded.source, line: withoutLineEnd(line) };
}
