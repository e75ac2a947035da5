// Firehose's error records: what Firehose writes to `errors/processing-failed/` in the backup
// bucket for every record the transform returned as ProcessingFailed (one JSON object per line:
// attemptsMade, arrivalTimestamp, errorCode, errorMessage, attemptEndingTimestamp, rawData,
// lambdaArn). `rawData` is the record as the loader sent it, base64: the envelope and the line.
// Reading them back lets a preserved failure be explained or, after a parser fix, indexed with
// the event.id the transform would have given it.
import { decodeRecord } from './envelope.ts';
import type { LineSource } from './parser/index.ts';

export type UnwrappedErrorRecord = { line: string; source?: LineSource } | { error: string; raw: string };

/** The log line (and its source) inside one Firehose error record, or why there is none. Never throws. */
export function unwrapErrorRecord(text: string): UnwrappedErrorRecord {
  let record: unknown;
  try {
    record = JSON.parse(text);
  } catch {
    return { error: 'not a Firehose error record: not JSON', raw: text };
  }
  const rawData = (record as { rawData?: unknown } | null)?.rawData;
  if (typeof rawData !== 'string') return { error: 'not a Firehose error record: no rawData', raw: text };
  const decoded = decodeRecord(Buffer.from(rawData, 'base64'));
  if (decoded.error !== undefined) return { error: decoded.error, raw: decoded.line };
  // Delivery failures (errors/AmazonOpenSearchService-failed/) hold transformed documents, not log lines.
  if (decoded.line.startsWith('{')) {
    return { error: 'rawData is a transformed document (an OpenSearch delivery failure), not a log line', raw: decoded.line };
  }
  return decoded.source === undefined ? { line: decoded.line } : { line: decoded.line, source: decoded.source };
}
