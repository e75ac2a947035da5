// Child process of the loader benchmark (scripts/bench/loader.ts): runs one measured pass in a
// fresh process so its CPU time and peak RSS belong to that pass alone, and prints them as JSON.
//   mode "baseline": GetObject -> gunzip -> line split, nothing sent (the ceiling)
//   mode "loader":   loadObject() into the local Firehose (everything the Lambda does per object)
import { createGunzip } from 'node:zlib';
import { pipeline } from 'node:stream/promises';
import type { Readable } from 'node:stream';
import { GetObjectCommand, HeadObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { FirehoseClient, PutRecordBatchCommand } from '@aws-sdk/client-firehose';
import { MemoryCheckpointStore } from '../../transform/loader/checkpoint.ts';
import { MemoryFailureSink } from '../../transform/loader/failures.ts';
import { loadObject } from '../../transform/loader/load-object.ts';
import { splitLines } from '../../transform/loader/lines.ts';
import { LOCAL_S3_CREDENTIALS } from '../local/s3-server.ts';

export interface ChildReport { mode: string; wallMs: number; cpuMs: number; bytes: number; lines: number; recordsSent: number; peakRssBytes: number }

const [mode, s3Endpoint, firehoseEndpoint, stream, bucket, key] = process.argv.slice(2) as [string, string, string, string, string, string];
const s3 = new S3Client({ endpoint: s3Endpoint, forcePathStyle: true, region: 'us-east-1', credentials: LOCAL_S3_CREDENTIALS });
const firehose = new FirehoseClient({ endpoint: firehoseEndpoint, region: 'us-east-1', credentials: LOCAL_S3_CREDENTIALS, maxAttempts: 1 });
// Warm-up outside the measurement: the SDKs load most of their modules on the first request
// (a cold start, not throughput). The Firehose call names an unknown stream, so it adds no record.
await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
await firehose.send(new PutRecordBatchCommand({ DeliveryStreamName: 'warm-up', Records: [{ Data: Buffer.from('x') }] })).catch(() => undefined);
const cpuStart = process.cpuUsage();
const started = performance.now();
let bytes = 0;
let lines = 0;
let recordsSent = 0;
if (mode === 'baseline') {
  const response = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  const gunzip = createGunzip();
  const download = pipeline(response.Body as Readable, gunzip);
  for await (const group of splitLines(gunzip, { maxLineBytes: 1_000_000 })) {
    lines += group.length;
    bytes = group[group.length - 1]!.end;
  }
  await download;
} else {
  const result = await loadObject({
    s3, firehose, deliveryStream: stream, bucket, key,
    checkpoints: new MemoryCheckpointStore(), failures: new MemoryFailureSink(),
  });
  ({ bytes, lines, recordsSent } = result);
}
const wallMs = performance.now() - started;
const cpu = process.cpuUsage(cpuStart);
const report: ChildReport = {
  mode, wallMs, cpuMs: (cpu.user + cpu.system) / 1000, bytes, lines, recordsSent,
  peakRssBytes: process.resourceUsage().maxRSS * 1024,
};
process.stdout.write(JSON.stringify(report) + '\n');
process.exit(0);
