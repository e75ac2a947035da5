// Child process of the loader benchmark (scripts/bench/loader.ts): runs one measured pass in a
// fresh process so its CPU time and peak RSS belong to that pass alone, and prints them as JSON.
//   mode "baseline": GetObject -> gunzip -> line split, nothing sent (the ceiling)
//   mode "loader":   loadObject() into the local Firehose (everything the Lambda does per object)
//   mode "send-only": only the SDK's PutRecordBatch path, with records like the loader's
//   mode "send-only-stock": the same with a stock FirehoseClient instead of createFirehoseClient()
import { readFileSync } from 'node:fs';
import { createGunzip } from 'node:zlib';
import { pipeline } from 'node:stream/promises';
import type { Readable } from 'node:stream';
import { GetObjectCommand, HeadObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { FirehoseClient, PutRecordBatchCommand } from '@aws-sdk/client-firehose';
import { MemoryCheckpointStore } from '../../transform/loader/checkpoint.ts';
import { MemoryFailureSink } from '../../transform/loader/failures.ts';
import { createFirehoseClient } from '../../transform/loader/firehose-client.ts';
import { GUNZIP_CHUNK_BYTES, loadObject } from '../../transform/loader/load-object.ts';
import { splitLines } from '../../transform/loader/lines.ts';
import { createRecordEncoder } from '../../transform/envelope.ts';
import { LOCAL_S3_CREDENTIALS } from '../local/s3-server.ts';

export interface ChildReport { mode: string; wallMs: number; cpuMs: number; userMs: number; systemMs: number; bytes: number; lines: number; recordsSent: number; peakRssBytes: number }

const [mode, s3Endpoint, firehoseEndpoint, stream, bucket, key] = process.argv.slice(2) as [string, string, string, string, string, string];
const s3 = new S3Client({ endpoint: s3Endpoint, forcePathStyle: true, region: 'us-east-1', credentials: LOCAL_S3_CREDENTIALS });
const firehoseConfig = { endpoint: firehoseEndpoint, region: 'us-east-1', credentials: LOCAL_S3_CREDENTIALS, maxAttempts: 1 };
const firehose = mode === 'send-only-stock' ? new FirehoseClient(firehoseConfig) : createFirehoseClient(firehoseConfig);
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
  const gunzip = createGunzip({ chunkSize: GUNZIP_CHUNK_BYTES }); // read exactly as loadObject() does
  const download = pipeline(response.Body as Readable, gunzip);
  for await (const group of splitLines(gunzip, { maxLineBytes: 1_000_000 })) {
    lines += group.length;
    bytes = group[group.length - 1]!.end;
  }
  await download;
} else if (mode === 'send-only' || mode === 'send-only-stock') {
  // The SDK's share: the same kind of records (enveloped sample lines, 500 per call, 4 calls in
  // flight) sent with PutRecordBatch until as many line bytes went out as the object holds.
  const target = Number(process.argv[8]);
  const lineTexts = readFileSync(process.argv[9]!, 'utf8').split('\n');
  const encode = createRecordEncoder({ bucket, key });
  const batch: Buffer[] = [];
  let batchLineBytes = 0;
  for (let i = 0; i < 500; i += 1) {
    const line = Buffer.from(lineTexts[i % lineTexts.length]!);
    batch.push(encode(batchLineBytes, line));
    batchLineBytes += line.length + 1;
  }
  const sendOne = async (): Promise<void> => {
    while (bytes < target) {
      bytes += batchLineBytes;
      lines += batch.length;
      const out = await firehose.send(new PutRecordBatchCommand({ DeliveryStreamName: stream, Records: batch.map((Data) => ({ Data })) }));
      recordsSent += batch.length - (out.FailedPutCount ?? 0);
    }
  };
  await Promise.all([sendOne(), sendOne(), sendOne(), sendOne()]);
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
  mode, wallMs, cpuMs: (cpu.user + cpu.system) / 1000, userMs: cpu.user / 1000, systemMs: cpu.system / 1000, bytes, lines, recordsSent,
  peakRssBytes: process.resourceUsage().maxRSS * 1024,
};
process.stdout.write(JSON.stringify(report) + '\n');
process.exit(0);
