// Loader benchmark: one ALB-like gzip object (1 GB uncompressed by default, generated as a stream
// from the real sample lines) in the local S3, loaded into the local Firehose stand-in by
// loadObject() - in a child process, so its CPU time and peak RSS are the loader's alone. The
// baseline, measured in the same run on the same object, is the ceiling: GetObject + gunzip + line
// split with nothing sent. Throughput is in MB (10^6 bytes) of uncompressed log.
// ALBATROSS_BENCH_LOADER_MB sets the object size (e.g. 100 for a quick run).
// The MB/s-per-core figure divides by the loader process's CPU time (user + system), so the
// stand-ins' work in the parent process is not counted against the loader.
import { spawn } from 'node:child_process';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { fileURLToPath } from 'node:url';
import { createGzip } from 'node:zlib';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { LOCAL_S3_CREDENTIALS, startLocalS3 } from '../local/s3-server.ts';
import { startLocalFirehose } from '../local/firehose-server.ts';
import type { ChildReport } from './loader-child.ts';
import type { Bench, BenchResult } from './index.ts';
import { lambdaMs, MEASURED } from '../cost/model.ts';
import { readSampleLines } from '../samples.ts';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const SAMPLE_FILES = ['coralogix-aws-shipper_elb.log', 'opensearch-catalog_amazon_elb_raw.log', 'beats_application-lb-http.log', 'aws-docs_2023-04_access-log-examples.log'];
const BUCKET = 'alb-logs-bench';
const STREAM = 'alb-logs';
const KEY = 'AWSLogs/123456789012/elasticloadbalancing/us-east-2/2026/01/01/'
  + '123456789012_elasticloadbalancing_us-east-2_app.bench-alb.1234567890abcdef_20260101T0005Z_10.0.0.1_bench000.log.gz';
const MB = 1e6;

function sampleLines(): string[] {
  return SAMPLE_FILES.flatMap(readSampleLines);
}

/** Sample lines repeated up to `bytes`, in ~1 MB chunks: never the whole object in memory. */
function* logText(bytes: number): Generator<Buffer> {
  const lines = sampleLines();
  let written = 0;
  let i = 0;
  while (written < bytes) {
    const parts: string[] = [];
    let size = 0;
    while (size < 1_000_000 && written + size < bytes) {
      const line = lines[i++ % lines.length]! + '\n';
      parts.push(line);
      size += line.length;
    }
    written += size;
    yield Buffer.from(parts.join(''));
  }
}

function runChild(args: string[]): Promise<ChildReport> {
  return new Promise((resolve, reject) => {
    // ALBATROSS_BENCH_NODE_ARGS, e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof", to profile the children.
    const nodeArgs = (process.env['ALBATROSS_BENCH_NODE_ARGS'] ?? '').split(' ').filter(Boolean);
    const child = spawn(process.execPath, [...nodeArgs, '--import', 'tsx', path.join(HERE, 'loader-child.ts'), ...args], {
      stdio: ['ignore', 'pipe', 'inherit'], // the runner turned the SDK's Node-version notice off for its children
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => { out += d.toString(); });
    child.on('error', reject);
    child.on('exit', (code) => {
      if (code !== 0) return reject(new Error(`loader bench child (${args[0]}) exited with ${code}`));
      resolve(JSON.parse(out.trim().split('\n').pop()!) as ChildReport);
    });
  });
}

export const bench: Bench = {
  name: 'loader',
  async run(): Promise<BenchResult> {
    const targetBytes = Number(process.env['ALBATROSS_BENCH_LOADER_MB'] ?? 1000) * MB;
    const work = await mkdtemp(path.join(os.tmpdir(), 'albatross-loader-bench-'));
    let accepted = 0;
    let calls = 0;
    const s3Server = await startLocalS3({ directory: path.join(work, 's3'), buckets: [BUCKET] });
    const firehose = await startLocalFirehose({
      streams: [STREAM],
      sink: { accept: async (_stream, records) => { accepted += records.length; calls += 1; } },
    });
    try {
      const file = path.join(work, 'object.log.gz');
      await pipeline(Readable.from(logText(targetBytes)), createGzip(), createWriteStream(file));
      const compressed = (await stat(file)).size;
      const s3 = new S3Client({ endpoint: s3Server.endpoint, forcePathStyle: true, region: 'us-east-1', credentials: LOCAL_S3_CREDENTIALS });
      await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: KEY, Body: createReadStream(file), ContentLength: compressed }));
      s3.destroy();

      const args = [s3Server.endpoint, firehose.endpoint, STREAM, BUCKET, KEY];
      const baseline = await runChild(['baseline', ...args]);
      const loader = await runChild(['loader', ...args]);
      const loaderCalls = calls;
      if (loader.recordsSent !== baseline.lines || accepted !== baseline.lines || loader.bytes !== baseline.bytes) {
        throw new Error(`loader bench: sent ${loader.recordsSent} (sink ${accepted}) of ${baseline.lines} lines, ${loader.bytes} of ${baseline.bytes} bytes`);
      }
      // Half the object's bytes are enough to measure the SDK's per-MB cost.
      const linesFile = path.join(work, 'lines.txt');
      await writeFile(linesFile, sampleLines().slice(0, 500).join('\n'));
      const sendOnly = await runChild(['send-only', ...args, String(Math.round(loader.bytes / 2)), linesFile]);
      // The same with the SDK's stock client (schema walk per record, JavaScript base64): what createFirehoseClient() saves.
      const sendOnlyStock = await runChild(['send-only-stock', ...args, String(Math.round(loader.bytes / 2)), linesFile]);
      const wallMBs = (r: ChildReport) => r.bytes / MB / (r.wallMs / 1000);
      const cpuMBs = (r: ChildReport) => r.bytes / MB / (r.cpuMs / 1000);
      const cpuSplit = (r: ChildReport) => `${(r.cpuMs / 1000).toFixed(2)} s CPU (${(r.userMs / 1000).toFixed(2)} user + ${(r.systemMs / 1000).toFixed(2)} system)`;
      const perCore = cpuMBs(loader);
      const peakMB = loader.peakRssBytes / MB;
      return {
        name: 'loader',
        figures: [
          { metric: 'loader throughput per core (MB uncompressed per CPU-second)', value: perCore, unit: 'MB/s', baseline: cpuMBs(baseline), baselineName: 'gunzip+split, no send', target: '>= 40 MB/s per core (regression guard; the 100 MB/s target is retired)', met: perCore >= 40 },
          { metric: 'loader Lambda ms per million lines at 1024 MB (Firehose delivery)', value: lambdaMs(loader.cpuMs / loader.lines * 1e6, 1024), unit: 'ms', baseline: lambdaMs(MEASURED.loaderFirehoseCpuMsPerMillion, 1024), baselineName: 'cost model (scripts/cost/model.ts)' },
          { metric: 'loader throughput (wall clock)', value: wallMBs(loader), unit: 'MB/s', baseline: wallMBs(baseline), baselineName: 'gunzip+split, no send' },
          { metric: 'loader lines/s (wall clock)', value: loader.lines / (loader.wallMs / 1000), unit: 'lines/s', baseline: baseline.lines / (baseline.wallMs / 1000), baselineName: 'gunzip+split, no send' },
          { metric: 'SDK PutRecordBatch alone per core (same records, no S3/gunzip)', value: cpuMBs(sendOnly), unit: 'MB/s', baseline: cpuMBs(sendOnlyStock), baselineName: 'same with a stock FirehoseClient' },
          { metric: `loader peak RSS, ${Math.round(loader.bytes / MB)} MB object`, value: peakMB, unit: 'MB', baseline: baseline.peakRssBytes / MB, baselineName: 'gunzip+split process', target: '< 256 MB', met: peakMB < 256 },
        ],
        notes: [
          `object: ${(loader.bytes / MB).toFixed(0)} MB uncompressed, ${(compressed / MB).toFixed(1)} MB gzip, ${loader.lines} lines; ${loaderCalls} PutRecordBatch calls into the local Firehose (same machine, parent process)`,
          `loader child: ${(loader.wallMs / 1000).toFixed(1)} s wall, ${cpuSplit(loader)}; baseline child: ${(baseline.wallMs / 1000).toFixed(1)} s wall, ${cpuSplit(baseline)}; send-only child: ${(sendOnly.bytes / MB).toFixed(0)} MB in ${cpuSplit(sendOnly)}; send-only with the stock client: ${(sendOnlyStock.bytes / MB).toFixed(0)} MB in ${cpuSplit(sendOnlyStock)}`,
          'loader CPU per MB ≈ baseline + SDK send + the loader\'s own bookkeeping; compare the three per-core figures',
        ],
      };
    } finally {
      await firehose.stop();
      await s3Server.stop();
      await rm(work, { recursive: true, force: true });
    }
  },
};
