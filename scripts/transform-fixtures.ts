// Realistic Firehose transformation events built from the sample ALB lines (bare and in the
// loader's envelope), adversarial lines, and the response-expansion measurement that
// transform/firehose-transform/limits.ts relies on. Shared by the transform tests and the
// transform benchmark, so both look at the same records.
import { sharedEnricher } from '../transform/enrich/data.ts';
import type { Enricher } from '../transform/enrich/index.ts';
import type { FirehoseTransformationEvent } from 'aws-lambda';
import { decodeRecord, encodeRecord } from '../transform/envelope.ts';
import { processRecords } from '../transform/firehose-transform/process.ts';
import { ACCESS_LOG_SAMPLE_FILES, readSampleLines } from './samples.ts';

export function accessLogSampleLines(): string[] {
  return ACCESS_LOG_SAMPLE_FILES.flatMap(readSampleLines);
}

/** A real-shaped ALB object key (AWS documentation example) and bucket for enveloped records. */
export const SAMPLE_BUCKET = 'amzn-s3-demo-logging-bucket';
export const SAMPLE_KEY =
  'logging-prefix/AWSLogs/123456789012/elasticloadbalancing/us-east-2/2022/05/01/' +
  '123456789012_elasticloadbalancing_us-east-2_app.my-loadbalancer.1234567890abcdef_20220215T2340Z_172.160.001.192_20sg8hgm.log.gz';

/** Firehose record ids are 56 decimal digits; the index makes each one unique. */
export function firehoseRecordId(index: number): string {
  return `49546986683135544286507457936321625675700192471156${String(index).padStart(6, '0')}`;
}

/** A genuine Firehose transformation event (Direct PUT source) carrying `data` as its records. */
export function firehoseEvent(data: ReadonlyArray<Buffer | string>, arrival = 1_700_000_000_000): FirehoseTransformationEvent {
  return {
    invocationId: '6f6c1b0e-7a5e-4a0b-9b0e-2f3c1a2b3c4d',
    deliveryStreamArn: 'arn:aws:firehose:us-east-2:123456789012:deliverystream/alb-logs',
    region: 'us-east-2',
    records: data.map((d, i) => ({
      recordId: firehoseRecordId(i),
      approximateArrivalTimestamp: arrival + i,
      data: (typeof d === 'string' ? Buffer.from(d, 'utf8') : d).toString('base64'),
    })),
  };
}

/** Lines enveloped as the loader sends them: one object, consecutive byte offsets. */
export function envelopedLines(lines: readonly string[], bucket = SAMPLE_BUCKET, key = SAMPLE_KEY): Buffer[] {
  let offset = 0;
  return lines.map((line) => {
    const record = encodeRecord({ bucket, key, offset }, line);
    offset += Buffer.byteLength(line) + 1;
    return record;
  });
}

/** Cycles through `lines` (enveloped) until the raw record data reaches `bytes`. */
export function batchOfSize(lines: readonly string[], bytes: number): Buffer[] {
  const records: Buffer[] = [];
  let total = 0;
  let offset = 0;
  for (let i = 0; total < bytes; i++) {
    const line = lines[i % lines.length]!;
    const record = encodeRecord({ bucket: SAMPLE_BUCKET, key: SAMPLE_KEY, offset }, line);
    offset += Buffer.byteLength(line) + 1;
    if (total + record.length > bytes) break;
    records.push(record);
    total += record.length;
  }
  return records;
}

/**
 * Lines built to make the response as large as possible per input byte: the shortest lines that
 * still give a document (20 fields, all `-`), every field present with one-character values,
 * long URLs that are split into url.original + url.path + url.query + url.domain, \xHH control
 * bytes that JSON escapes as \u00XX (6 bytes for 4) in several fields, and many trailing fields.
 */
export function adversarialLines(): string[] {
  const time = '2024-01-01T00:00:00.000000Z';
  const minimal = `h2 ${time} a 1.1.1.1:1 - -1 -1 -1 - - - - "- - -" "-" - - - "-" "-" "-"`;
  const shortIps = `h2 ${time} a 1.1.1.1:1 1.1.1.1:1 0 0 0 200 200 0 0 "G h://a:1/ HTTP/1.1" "a" c d e "f" "g" "h"`;
  const everyField =
    `wss ${time} app/a/b 1.1.1.1:1 1.1.1.1:1 0 0 0 200 200 1 1 "G h://a:1/b?c HTTP/1.1" "u" c TLSv1.3 ` +
    `arn "t" "d" "c" 1 ${time} "a,b,c,d,e,f,g,h" "r" "e" "1.1.1.1:1" "200" "c" "r" TID_1 "h" "u" "s" 1.1.1.1 "x" "y"`;
  const control = '\\x01'.repeat(200);
  const controlBytes =
    `https ${time} app/a/b 1.1.1.1:1 - -1 -1 -1 400 - 1 1 "GET http://${control}:80/${control}?${control} HTTP/1.1" ` +
    `"${control}" - - - "-" "${control}" "-" 0 ${time} "${'a,'.repeat(100)}a" "${control}" "${control}" "-" "-" "-" "-"`;
  const longUrl = `/${'p'.repeat(4000)}?${'q'.repeat(4000)}`;
  const longUrlLine =
    `https ${time} app/a/b 1.1.1.1:1 1.1.1.1:1 0 0 0 200 200 1 1 "GET https://${'d'.repeat(200)}:443${longUrl} HTTP/1.1" ` +
    `"-" - - - "-" "-" "-" 0 ${time} "forward" "https://x:443${longUrl}" "-" "1.1.1.1:1" "200" "-" "-"`;
  const manyTrailing = `${everyField}${' x'.repeat(500)}`;
  const ipv6 = `h2 ${time} a 1::1:1 1::1:1 0 0 0 200 200 0 0 "G h://a:1/ HTTP/1.1" "a" c d e "f" "g" "h"`;
  // The worst line a random search found (one-character values per field, shortest valid time,
  // 20-36 fields, mutated 3,000 times per length, keeping the highest ratio): 21 fields, ~76 bytes.
  const searched = 'a 2024-01-01T00:00:00Z a a:1 - 0 1 0 2 2 1 0 "- - -" "a" c d e "f" "g" "h" 1';
  // The same with what enrichment grows most: a public client (geo + AS fields) and a tool's user
  // agent (name, version, device), IPv4 and IPv6.
  const enrichedV4 = 'a 2024-01-01T00:00:00Z a 81.2.69.193:1 - 0 1 0 2 2 1 0 "- - -" "a/1" c d e "f" "g" "h" 1';
  const enrichedV6 = 'a 2024-01-01T00:00:00Z a 2a01:e0a::1:1 - 0 1 0 2 2 1 0 "- - -" "a/1" c d e "f" "g" "h" 1';
  return [minimal, shortIps, everyField, controlBytes, longUrlLine, manyTrailing, ipv6, searched, enrichedV4, enrichedV6];
}

export interface ExpansionMeasurement {
  /** Highest (serialized result record bytes) / (record data bytes) over the Ok records. */
  worst: number;
  worstLine: string;
  /** Response bytes / input data bytes over the whole set. */
  overall: number;
  records: number;
}

/**
 * Measures response expansion of Ok records: each result record as the Lambda runtime serializes it
 * (with a 56-digit record id and the separating comma), divided by the record's raw data bytes.
 */
export function measureExpansion(data: ReadonlyArray<Buffer | string>, options: { original?: boolean; enrich?: Enricher | undefined } = {}): ExpansionMeasurement {
  const event = firehoseEvent(data);
  // with enrichment, as the transform runs by default, unless the caller says otherwise
  const enrich = 'enrich' in options ? options.enrich : sharedEnricher('all');
  const { records } = processRecords(event.records, { original: options.original, enrich, maxResponseBytes: Number.POSITIVE_INFINITY });
  let worst = 0;
  let worstLine = '';
  let inputBytes = 0;
  let outputBytes = 0;
  let counted = 0;
  records.forEach((result, i) => {
    if (result.result !== 'Ok') return;
    const input = Buffer.from(event.records[i]!.data, 'base64');
    const output = JSON.stringify(result).length + 1;
    inputBytes += input.length;
    outputBytes += output;
    counted++;
    const ratio = output / input.length;
    if (ratio > worst) {
      worst = ratio;
      worstLine = decodeRecord(input).line;
    }
  });
  return { worst, worstLine, overall: outputBytes / inputBytes, records: counted };
}
