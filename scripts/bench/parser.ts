// Parser benchmark: lines/s of parseAlbLine (document object), parseAlbLineToJson
// (document as JSON text) and the `albatross parse` pipeline (parseStream: bytes ->
// lines -> JSON lines, in-process), each next to the baseline measured in the
// same run: the AWS-documented Athena RegexSerDe pattern for ALB access logs
// applied per line, with JSON.stringify of its captured groups. JSON outputs are
// materialised the same way (Buffer.byteLength: a flat UTF-8 string, as when it is
// sent on), so a lazily concatenated string does not escape its cost.
// Single-threaded (one core). Rates are lines per CPU-second of this process
// (process.cpuUsage), so other load on a shared machine does not count against
// a variant; variants run in interleaved rounds and each figure is the median.
import { Readable, Writable } from 'node:stream';
import { parseAlbLine, parseAlbLineToJson } from '../../transform/parser/index.ts';
import { parseStream } from '../commands/parse.ts';
import type { Bench, BenchFigure } from './index.ts';
import { accessLogSampleLines, SAMPLE_BUCKET, SAMPLE_KEY } from '../transform-fixtures.ts';

/**
 * The Athena `input.regex` for ALB access logs (2024 version, with conn_trace_id and the
 * trailing `( .*)?`), from the AWS Athena user guide "Create the table for ALB access logs".
 * RegexSerDe requires a full match, hence the anchors.
 */
export const ATHENA_ALB_REGEX =
  /^([^ ]*) ([^ ]*) ([^ ]*) ([^ ]*):([0-9]*) ([^ ]*)[:-]([0-9]*) ([-.0-9]*) ([-.0-9]*) ([-.0-9]*) (|[-0-9]*) (-|[-0-9]*) ([-0-9]*) ([-0-9]*) "([^ ]*) (.*) (- |[^ ]*)" "([^"]*)" ([A-Z0-9-_]+) ([A-Za-z0-9.-]*) ([^ ]*) "([^"]*)" "([^"]*)" "([^"]*)" ([-.0-9]*) ([^ ]*) "([^"]*)" "([^"]*)" "([^ ]*)" "([^\s]+?)" "([^\s]+)" "([^ ]*)" "([^ ]*)" ?([^ ]*)?( .*)?$/;

const MIX_LINES = 20_000;
const ROUNDS = 7;

/** The realistic mix: every sample access-log line, repeated in a fixed shuffled order. */
function buildMix(): string[] {
  const samples = accessLogSampleLines();
  const mix: string[] = [];
  let seed = 42;
  for (let i = 0; i < MIX_LINES; i++) {
    seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
    mix.push(samples[seed % samples.length]!);
  }
  return mix;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

class Discard extends Writable {
  override _write(_chunk: unknown, _encoding: BufferEncoding, callback: () => void): void {
    callback();
  }
}

export const bench: Bench = {
  name: 'parser',
  async run() {
    const mix = buildMix();
    const text = Buffer.from(mix.join('\n') + '\n');
    const offsets: number[] = [];
    for (let i = 0, offset = 0; i < mix.length; offset += Buffer.byteLength(mix[i]!) + 1, i++) offsets.push(offset);
    let sink = 0;
    // Write-only floor: each line's finished document JSON, cut at every `,"` (one piece per key and
    // value, fewer pieces than any writer appends), concatenated and materialised. No parsing at all:
    // what just producing this many bytes of JSON per line costs in V8.
    const documentPieces = new Map<string, string[]>();
    for (let i = 0; i < mix.length; i++) {
      const result = parseAlbLineToJson(mix[i]!, { source: { bucket: SAMPLE_BUCKET, key: SAMPLE_KEY, offset: offsets[i]! } });
      if (result.kind === 'document' && !documentPieces.has(mix[i]!)) documentPieces.set(mix[i]!, result.json.split(/(?=,")/));
    }
    const pieces = mix.map((line) => documentPieces.get(line) ?? []);

    const variants: Record<string, () => Promise<void> | void> = {
      baseline: () => {
        for (const line of mix) {
          const match = ATHENA_ALB_REGEX.exec(line);
          if (match) sink += Buffer.byteLength(JSON.stringify(match.slice(1)));
        }
      },
      parseAlbLine: () => {
        for (let i = 0; i < mix.length; i++) {
          const result = parseAlbLine(mix[i]!, { source: { bucket: SAMPLE_BUCKET, key: SAMPLE_KEY, offset: offsets[i]! } });
          if (result.kind === 'document') sink++;
        }
      },
      parseAlbLineToJson: () => {
        for (let i = 0; i < mix.length; i++) {
          const result = parseAlbLineToJson(mix[i]!, { source: { bucket: SAMPLE_BUCKET, key: SAMPLE_KEY, offset: offsets[i]! } });
          if (result.kind === 'document') sink += Buffer.byteLength(result.json);
        }
      },
      parseAlbLineStringify: () => {
        for (let i = 0; i < mix.length; i++) {
          const result = parseAlbLine(mix[i]!, { source: { bucket: SAMPLE_BUCKET, key: SAMPLE_KEY, offset: offsets[i]! } });
          if (result.kind === 'document') sink += Buffer.byteLength(JSON.stringify(result.document));
        }
      },
      jsonWriteFloor: () => {
        for (const parts of pieces) {
          let out = '';
          for (let k = 0; k < parts.length; k++) out = out + parts[k]!;
          sink += Buffer.byteLength(out);
        }
      },
      command: async () => {
        const chunks: Buffer[] = [];
        for (let at = 0; at < text.length; at += 64 * 1024) chunks.push(text.subarray(at, at + 64 * 1024));
        const stats = await parseStream(Readable.from(chunks), new Discard(), new Discard(), { path: SAMPLE_KEY });
        sink += stats.documents;
      },
    };

    const rates: Record<string, number[]> = Object.fromEntries(Object.keys(variants).map((name) => [name, []]));
    for (const run of Object.values(variants)) await run(); // warm-up: JIT
    const names = Object.keys(variants);
    for (let round = 0; round < ROUNDS; round++) {
      for (let k = 0; k < names.length; k++) {
        const name = names[(round + k) % names.length]!;
        const started = process.cpuUsage();
        await variants[name]!();
        const used = process.cpuUsage(started);
        rates[name]!.push(mix.length / ((used.user + used.system) / 1e6));
      }
    }
    const baseline = median(rates.baseline!);
    // Regression guards (the 3x targets are retired): a little under the ratios of quiet and busy runs alike.
    const figure = (metric: string, name: string, guard?: number): BenchFigure => {
      const value = median(rates[name]!);
      return {
        metric, value, unit: 'lines/s', baseline, baselineName: 'Athena regex + JSON.stringify',
        ...(guard !== undefined && { target: `>= ${guard}x baseline (regression guard)`, met: value >= guard * baseline }),
      };
    };
    const athenaMatches = mix.filter((line) => ATHENA_ALB_REGEX.test(line)).length;
    const average = (sizes: number[]): number => Math.round(sizes.reduce((a, b) => a + b, 0) / sizes.length);
    const baselineBytes = average(mix.map((line) => Buffer.byteLength(JSON.stringify(ATHENA_ALB_REGEX.exec(line)?.slice(1) ?? []))));
    const documentBytes = average(mix.map((line, i) => {
      const result = parseAlbLineToJson(line, { source: { bucket: SAMPLE_BUCKET, key: SAMPLE_KEY, offset: offsets[i]! } });
      return result.kind === 'document' ? Buffer.byteLength(result.json) : 0;
    }));
    return {
      name: 'parser',
      figures: [
        figure('parseAlbLine (document object)', 'parseAlbLine', 0.9),
        figure('parseAlbLineToJson (document JSON)', 'parseAlbLineToJson', 0.5),
        figure('parseAlbLine + JSON.stringify', 'parseAlbLineStringify'),
        figure('albatross parse pipeline (bytes -> JSON lines)', 'command', 0.4),
        figure('floor: write the finished JSON only (no parsing)', 'jsonWriteFloor'),
      ],
      notes: [
        `mix: ${mix.length} lines drawn from the ${accessLogSampleLines().length} sample access-log lines; lines per CPU-second, ${ROUNDS} interleaved rounds, median`,
        `the Athena regex matched ${athenaMatches} of ${mix.length} lines (the others give no output at all); ours parsed all`,
        `average JSON per line: baseline ${baselineBytes} bytes (35 untyped strings), document ${documentBytes} bytes (typed, nested, ECS names)`,
        `floor: each document's JSON cut at every \`,"\` (${average(pieces.map((parts) => parts.length))} pieces per line), concatenated and materialised`,
        `checksum ${sink}`,
      ],
    };
  },
};
