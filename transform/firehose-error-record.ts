// Firehose's error records: one JSON object per line in the backup bucket. Under
// `errors/processing-failed/` (records the transform returned as ProcessingFailed): attemptsMade,
// arrivalTimestamp, errorCode, errorMessage, attemptEndingTimestamp, rawData, lambdaArn, where
// `rawData` is the record as the loader sent it, base64: the envelope and the line. Under
// `errors/AmazonOpenSearchService-failed/` (documents OpenSearch refused until the retry window
// closed): the same plus esDocumentId, esIndexName, esTypeName, and `rawData` is the document.
// Reading them back lets a preserved failure be explained or replayed: a line with the event.id the
// transform would have given it, a document under the index and id Firehose used.
import { decodeRecord } from './envelope.ts';
import type { LineSource } from './parser/index.ts';
import type { LogType } from './log-types.ts';

/** Firehose's error record (processing-failed/ and AmazonOpenSearchService-failed/), one JSON object per line. */
export interface FirehoseErrorRecord {
  attemptsMade: number;
  arrivalTimestamp: number;
  errorCode: string;
  errorMessage: string;
  attemptEndingTimestamp: number;
  rawData: string;
  lambdaArn?: string;
  esDocumentId?: string;
  esIndexName?: string;
  esTypeName?: string;
}

/** The `!{firehose:error-output-type}` folders under `errors/`. */
export const PROCESSING_FAILED = 'processing-failed';
export const OPENSEARCH_FAILED = 'AmazonOpenSearchService-failed';
export type ErrorOutputType = typeof PROCESSING_FAILED | typeof OPENSEARCH_FAILED;

export type UnwrappedErrorRecord =
  | { kind: 'line'; line: string; source?: LineSource; type?: LogType }   // source and type from the envelope (no type there = access); neither for a bare line
  | { kind: 'document'; document: string; index: string; id: string; reason: string }
  | { kind: 'invalid'; error: string; raw: string };

interface ErrorRecord {
  rawData?: unknown; errorCode?: unknown; errorMessage?: unknown; esIndexName?: unknown; esDocumentId?: unknown;
  source?: { bucket?: unknown; key?: unknown; offset?: unknown };
}

/** What one Firehose error record holds: a log line (with its source), a refused document, or why neither. Never throws. */
export function unwrapErrorRecord(text: string): UnwrappedErrorRecord {
  let record: ErrorRecord | null;
  try {
    record = JSON.parse(text) as ErrorRecord | null;
  } catch {
    return { kind: 'invalid', error: 'not a Firehose error record: not JSON', raw: text };
  }
  const rawData = record?.rawData;
  if (typeof record?.errorCode === 'string' && record.errorCode.startsWith('Loader.')) {
    // The loader's own records (errors/loader-failed/): a line Firehose cannot take, kept in its source object.
    const at = record.source;
    return { kind: 'invalid', error: `a loader failure (${record.errorCode}), not replayable: the whole line is in s3://${String(at?.bucket)}/${String(at?.key)} at byte ${String(at?.offset)}`, raw: text };
  }
  if (typeof rawData !== 'string') return { kind: 'invalid', error: 'not a Firehose error record: no rawData', raw: text };
  const decoded = decodeRecord(Buffer.from(rawData, 'base64'));
  if (decoded.error !== undefined) return { kind: 'invalid', error: decoded.error, raw: decoded.line };
  if (decoded.line.startsWith('{')) {
    const { esIndexName: index, esDocumentId: id, errorMessage } = record!;
    if (typeof index !== 'string' || typeof id !== 'string' || index === '' || id === '') {
      return { kind: 'invalid', error: 'rawData is a document, but the record names no esIndexName/esDocumentId', raw: decoded.line };
    }
    return { kind: 'document', document: decoded.line, index, id, reason: typeof errorMessage === 'string' ? errorMessage : '' };
  }
  return decoded.source === undefined ? { kind: 'line', line: decoded.line } : { kind: 'line', line: decoded.line, source: decoded.source, type: decoded.type ?? 'access' };
}
