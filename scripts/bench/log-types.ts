// Connection- and health-check-log benchmark: lines per CPU-second of the transform's per-record
// work for each type (envelope decode + parse to JSON, through processRecords with the stream's
// log type), next to the same run's baseline, a naive split-on-spaces + JSON.stringify of the
// tokens. Lines from the generator (realistic shapes, failures mixed in). These logs are a small
// fraction of access-log volume (one connection per many requests, one check per target every few
// seconds), so their parsers build plain objects: this shows what that costs.
import { gunzipSync } from 'node:zlib';
import { encodeRecord } from '../../transform/envelope.ts';
import { processRecords } from '../../transform/firehose-transform/process.ts';
import type { LogType } from '../../transform/log-types.ts';
import { firehoseEvent } from '../transform-fixtures.ts';
import { generateObjects } from '../local/generator.ts';
import type { Bench, BenchFigure } from './index.ts';

const LINES = 20_000;
const BATCH = 500;
const ROUNDS = 7;

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

function linesOf(type: Exclude<LogType, 'access'>): { key: string; lines: string[] } {
  const options = { lines: 0, days: 1, seed: 9, end: new Date('2026-01-01T00:00:00Z'), [type === 'connection' ? 'connectionLines' : 'healthLines']: LINES };
  const object = [...generateObjects(options)].find((o) => o.type === type)!;
  return { key: object.key, lines: gunzipSync(object.body).toString('latin1').trimEnd().split('\n') };
}

export const bench: Bench = {
  name: 'log-types',
  async run() {
    let sink = 0;
    const figures: BenchFigure[] = [];
    const notes: string[] = [];
    for (const type of ['connection', 'health'] as const) {
      const { key, lines } = linesOf(type);
      // Firehose events of 500 enveloped records, built once: the timed work is the transform's.
      const events: ReturnType<typeof firehoseEvent>[] = [];
      for (let i = 0; i < lines.length; i += BATCH) {
        events.push(firehoseEvent(lines.slice(i, i + BATCH).map((line, j) => encodeRecord({ bucket: 'logs', key, offset: (i + j) * 200, type }, line))));
      }
      const variants: Record<string, () => void> = {
        baseline: () => {
          for (const line of lines) sink += JSON.stringify(line.split(' ')).length;
        },
        transform: () => {
          for (const event of events) sink += processRecords(event.records, { logType: type }).stats.ok;
        },
      };
      const rates: Record<string, number[]> = { baseline: [], transform: [] };
      for (const run of Object.values(variants)) run(); // warm-up: JIT
      for (let round = 0; round < ROUNDS; round++) {
        for (const name of round % 2 === 0 ? ['baseline', 'transform'] : ['transform', 'baseline']) {
          const started = process.cpuUsage();
          variants[name]!();
          const used = process.cpuUsage(started);
          rates[name]!.push(lines.length / ((used.user + used.system) / 1e6));
        }
      }
      figures.push({
        metric: `${type} transform (decode + parse + JSON + base64)`, value: median(rates.transform!), unit: 'lines/s',
        baseline: median(rates.baseline!), baselineName: 'split on spaces + JSON.stringify',
      });
      const stats = events.map((event) => processRecords(event.records, { logType: type }).stats);
      const documents = stats.reduce((sum, s) => sum + s.ok, 0);
      const failed = stats.reduce((sum, s) => sum + s.processingFailed, 0);
      notes.push(`${type}: ${lines.length} generated lines (${documents} documents, ${failed} failed), ${BATCH} records per event`);
    }
    notes.push(`lines per CPU-second, ${ROUNDS} interleaved rounds, median; checksum ${sink}`);
    return { name: 'log-types', figures, notes };
  },
};
