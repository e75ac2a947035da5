// Transform Lambda benchmark: records/s through the Firehose transformation handler for realistic
// ~1 MB batches (base64 decode, envelope, parse to JSON text, base64 encode, Powertools logs and
// metrics), next to a naive handler of the same shape measured in the same run: the AWS Athena
// RegexSerDe pattern for ALB access logs + JSON.stringify of its captured groups.
// Also measures the worst-case response expansion that limits.ts relies on.
import os from 'node:os';
import type {
  FirehoseTransformationEvent,
  FirehoseTransformationEventRecord,
  FirehoseTransformationResult,
  FirehoseTransformationResultRecord,
} from 'aws-lambda';
import { decodeRecord, encodeRecord } from '../../transform/envelope.ts';
import { handler } from '../../transform/firehose-transform/handler.ts';
import {
  LAMBDA_RESPONSE_LIMIT_BYTES,
  MEASURED_WORST_CASE_EXPANSION,
  PROCESSOR_BUFFER_SIZE_MB,
} from '../../transform/firehose-transform/limits.ts';
import { decodeBase64, encodeBase64, processRecords } from '../../transform/firehose-transform/process.ts';
import { parseAlbLineToJson } from '../../transform/parser/index.ts';
import type { Bench, BenchFigure, BenchResult } from './index.ts';
import { ATHENA_ALB_REGEX } from './parser.ts';
import { ACCESS_LOG_SAMPLE_FILES, readSampleLines } from '../samples.ts';

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
  return [minimal, shortIps, everyField, controlBytes, longUrlLine, manyTrailing, ipv6, searched];
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
export function measureExpansion(data: ReadonlyArray<Buffer | string>, options: { original?: boolean } = {}): ExpansionMeasurement {
  const event = firehoseEvent(data);
  const { records } = processRecords(event.records, { ...options, maxResponseBytes: Number.POSITIVE_INFINITY });
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

/**
 * The naive baseline of the parser issue (scripts/bench/parser.ts: the AWS Athena RegexSerDe pattern
 * + JSON.stringify of its captured groups) in the same handler shape: decode, envelope, regex,
 * stringify, encode.
 */
export async function naiveHandler(event: FirehoseTransformationEvent): Promise<FirehoseTransformationResult> {
  const records: FirehoseTransformationResultRecord[] = event.records.map((record: FirehoseTransformationEventRecord) => {
    const { line } = decodeRecord(Buffer.from(record.data, 'base64'));
    const match = ATHENA_ALB_REGEX.exec(line);
    if (match === null) return { recordId: record.recordId, result: 'ProcessingFailed', data: record.data };
    return { recordId: record.recordId, result: 'Ok', data: Buffer.from(JSON.stringify(match.slice(1)), 'utf8').toString('base64') };
  });
  return { records };
}

type Handler = (event: FirehoseTransformationEvent) => Promise<FirehoseTransformationResult>;

// Powertools writes logs and EMF to stdout/stderr, where `npm run bench` prints its results: the
// writes still happen (their serialization is measured), their output is discarded while timing.
async function withoutOutput<T>(work: () => Promise<T>): Promise<T> {
  const stdout = process.stdout.write;
  const stderr = process.stderr.write;
  process.stdout.write = (() => true) as typeof process.stdout.write;
  process.stderr.write = (() => true) as typeof process.stderr.write;
  try {
    return await work();
  } finally {
    process.stdout.write = stdout;
    process.stderr.write = stderr;
  }
}

interface Rates { wall: number; cpu: number }

/** Records/s by wall clock, and per CPU-second of this process (closer to "one core" on a shared machine). */
async function recordsPerSecond(run: Handler, event: FirehoseTransformationEvent, minMs: number): Promise<Rates> {
  let batches = 0;
  const cpuStart = process.cpuUsage();
  const start = process.hrtime.bigint();
  let elapsedMs = 0;
  while (elapsedMs < minMs) {
    await run(event);
    batches++;
    elapsedMs = Number(process.hrtime.bigint() - start) / 1e6;
  }
  const cpu = process.cpuUsage(cpuStart);
  const records = batches * event.records.length;
  return { wall: records / (elapsedMs / 1000), cpu: records / ((cpu.user + cpu.system) / 1e6) };
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

export const bench: Bench = {
  name: 'transform',
  async run(): Promise<BenchResult> {
    const samples = accessLogSampleLines();
    const batch = batchOfSize(samples, 1024 * 1024);
    const event = firehoseEvent(batch);
    const rounds = Number(process.env.ALBATROSS_BENCH_ROUNDS ?? 5);
    const roundMs = Number(process.env.ALBATROSS_BENCH_ROUND_MS ?? 1000);

    // The parser's share: parseAlbLineToJson alone over the same (already decoded) lines, its JSON
    // materialised as a flat string (Buffer.byteLength), as scripts/bench/parser.ts does.
    const decoded = event.records.map((r) => decodeRecord(Buffer.from(r.data, 'base64')));
    let sink = 0;
    const parseOnly = async () => {
      for (const { line, source } of decoded) {
        const parsed = parseAlbLineToJson(line, source === undefined ? {} : { source });
        if (parsed.kind === 'document') sink += Buffer.byteLength(parsed.json);
      }
      return { records: [] };
    };
    // The handler shape without parsing (base64 in, envelope, base64 of the same JSON out, result
    // objects): the ceiling any parser could reach through this handler on this machine.
    const jsons = decoded.map(({ line, source }) => {
      const parsed = parseAlbLineToJson(line, source === undefined ? {} : { source });
      return parsed.kind === 'document' ? parsed.json : '';
    });
    const withoutParsing = async (e: FirehoseTransformationEvent) => ({
      records: e.records.map((r, i): FirehoseTransformationResultRecord => {
        decodeRecord(decodeBase64(r.data));
        return { recordId: r.recordId, result: 'Ok', data: encodeBase64(jsons[i]!) };
      }),
    });
    const floor: Rates[] = [];
    const parserOnly: Rates[] = [];
    const ours: Rates[] = [];
    const naive: Rates[] = [];
    const loadBefore = os.loadavg()[0]!;
    await withoutOutput(async () => {
      await recordsPerSecond(handler, event, roundMs); // warm-up (JIT)
      await recordsPerSecond(naiveHandler, event, roundMs);
      for (let r = 0; r < rounds; r++) {
        ours.push(await recordsPerSecond(handler, event, roundMs));
        naive.push(await recordsPerSecond(naiveHandler, event, roundMs));
        parserOnly.push(await recordsPerSecond(parseOnly, event, roundMs));
        floor.push(await recordsPerSecond(withoutParsing, event, roundMs));
      }
    });
    const loadAfter = os.loadavg()[0]!;
    const value = median(ours.map((r) => r.cpu));
    const baseline = median(naive.map((r) => r.cpu));
    const wall = median(ours.map((r) => r.wall));
    const wallBaseline = median(naive.map((r) => r.wall));

    const { stats } = processRecords(event.records);
    const naiveResult = await naiveHandler(event);
    const naiveOk = naiveResult.records.filter((r) => r.result === 'Ok').length;
    const expansion = [
      measureExpansion(samples),
      measureExpansion(envelopedLines(samples)),
      measureExpansion(adversarialLines()),
      measureExpansion(envelopedLines(adversarialLines())),
      measureExpansion(samples, { original: true }),
      measureExpansion(envelopedLines(samples), { original: true }),
      measureExpansion(adversarialLines(), { original: true }),
      measureExpansion(envelopedLines(adversarialLines()), { original: true }),
    ];
    const worst = expansion.reduce((a, b) => (b.worst > a.worst ? b : a));
    const realistic = stats.responseBytes / (1024 * 1024);
    const worstCaseResponseMB = PROCESSOR_BUFFER_SIZE_MB * MEASURED_WORST_CASE_EXPANSION;
    const limitMB = LAMBDA_RESPONSE_LIMIT_BYTES / (1024 * 1024);

    const figures: BenchFigure[] = [
      {
        metric: 'transform handler records per CPU-second (1 MB batches)',
        value,
        unit: 'records/s',
        baseline,
        baselineName: 'Athena regex + JSON.stringify, same handler shape',
        target: '>= 2.5x baseline and >= 250,000 records/s',
        met: value >= 2.5 * baseline && value >= 250_000,
      },
      {
        metric: 'transform handler records/s, wall clock (1 MB batches)',
        value: wall,
        unit: 'records/s',
        baseline: wallBaseline,
        baselineName: 'Athena regex + JSON.stringify, same handler shape',
        target: '>= 2.5x baseline and >= 250,000 records/s',
        met: wall >= 2.5 * wallBaseline && wall >= 250_000,
      },
      { metric: 'parseAlbLineToJson alone, lines per CPU-second (same lines)', value: median(parserOnly.map((r) => r.cpu)), unit: 'lines/s' },
      { metric: 'handler shape without parsing, records per CPU-second (ceiling)', value: median(floor.map((r) => r.cpu)), unit: 'records/s' },
      { metric: 'worst-case expansion measured (response bytes / input bytes)', value: worst.worst, unit: 'x', target: `<= ${MEASURED_WORST_CASE_EXPANSION} (limits.ts)`, met: worst.worst <= MEASURED_WORST_CASE_EXPANSION },
      { metric: 'realistic expansion (1 MB sample batch, enveloped)', value: stats.responseBytes / stats.inputBytes, unit: 'x' },
      { metric: 'response for a realistic 1 MB batch', value: realistic, unit: 'MB' },
      {
        metric: `worst-case response at BufferSizeInMBs=${PROCESSOR_BUFFER_SIZE_MB}`,
        value: worstCaseResponseMB,
        unit: 'MB',
        target: `<= 75% of ${limitMB} MB`,
        met: worstCaseResponseMB <= 0.75 * limitMB,
      },
    ];
    return {
      name: 'transform',
      figures,
      notes: [
        `batch (${sink > 0 ? 'parsed' : 'nothing parsed'}): ${event.records.length} enveloped records, ${stats.inputBytes} bytes of sample lines; ours Ok ${stats.ok}, failed ${stats.processingFailed}, dropped ${stats.dropped}; naive Ok ${naiveOk}`,
        `rounds: ${rounds} x ${roundMs} ms each, interleaved; medians. CPU-second rates, ours: ${ours.map((r) => Math.round(r.cpu)).join(', ')}; naive: ${naive.map((r) => Math.round(r.cpu)).join(', ')}`,
        `1-minute load average ${loadBefore.toFixed(1)} before, ${loadAfter.toFixed(1)} after, on ${os.cpus().length} cores: wall-clock rates fall when other work shares the cores`,
        `worst expansion line: ${worst.worstLine.slice(0, 160)}`,
        'excludes the Lambda runtime\'s own JSON parse of the event and JSON serialization of the response (same for both)',
      ],
    };
  },
};
