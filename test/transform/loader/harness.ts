// Shared test setup for the loader: the local S3 (s3rver) and Firehose stand-ins on loopback,
// real SDK clients pointed at them, gzip objects built from the corpus lines, and a check
// that a sink holds every line of an object exactly once.
import { gzipSync } from 'node:zlib';
import { S3Client, PutObjectCommand } from '@aws-sdk/client-s3';
import type { FirehoseClient } from '@aws-sdk/client-firehose';
import { expect } from 'vitest';
import { decodeRecord } from '../../../transform/envelope.ts';
import { LOCAL_S3_CREDENTIALS, startLocalS3, type LocalS3, type LocalS3Options } from '../../../scripts/local/s3-server.ts';
import { createFirehoseClient } from '../../../transform/loader/firehose-client.ts';
import { startLocalFirehose, type AcceptedRecord, type FirehoseFaults, type FirehoseSink, type LocalFirehose } from '../../../scripts/local/firehose-server.ts';
import { cycleAccessLines } from '../../corpus.ts';

export const BUCKET = 'alb-logs-test';
export const STREAM = 'alb-logs';
export const CREDENTIALS = LOCAL_S3_CREDENTIALS;
export const ACCESS_LOG_KEY =
  'AWSLogs/123456789012/elasticloadbalancing/us-east-2/2016/05/01/123456789012_elasticloadbalancing_us-east-2_app.my-loadbalancer.1234567890abcdef_20140215T2340Z_172.160.001.192_20sg8hgm.log.gz';

export function accessLogKey(suffix: string): string {
  return ACCESS_LOG_KEY.replace('20sg8hgm', suffix);
}

/** `count` ALB access-log lines cycling through the corpus (test/corpus). */
export function logLines(count: number, start = 0): string[] {
  return cycleAccessLines(count, start);
}

export function gzipText(text: string): Buffer {
  return gzipSync(Buffer.from(text, 'utf8'));
}

/** Records accepted by the Firehose stand-in, with the size of every call. */
export class RecordingSink implements FirehoseSink {
  readonly records: Buffer[] = [];
  readonly calls: number[] = [];
  beforeAccept?: (records: Buffer[]) => Promise<void> | void;
  /** Runs once the records are stored, before the stand-in answers the call. */
  afterAccept?: (records: Buffer[]) => Promise<void> | void;
  async accept(streamName: string, accepted: AcceptedRecord[]): Promise<void> {
    expect(streamName).toBe(STREAM);
    const records = accepted.map((r) => Buffer.from(r.base64, 'base64'));
    await this.beforeAccept?.(records);
    this.records.push(...records);
    this.calls.push(records.length);
    await this.afterAccept?.(records);
  }
}

export interface StandIns {
  s3: S3Client;
  firehose: FirehoseClient;
  localS3: LocalS3;
  localFirehose: LocalFirehose;
  sink: RecordingSink;
  put(key: string, body: Buffer): Promise<string>;
  stop(): Promise<void>;
}

export async function startStandIns(options: { faults?: FirehoseFaults; onObjectCreated?: LocalS3Options['onObjectCreated'] } = {}): Promise<StandIns> {
  const { faults } = options;
  const sink = new RecordingSink();
  const localS3 = await startLocalS3({ buckets: [BUCKET], ...(options.onObjectCreated ? { onObjectCreated: options.onObjectCreated } : {}) });
  const localFirehose = await startLocalFirehose({ sink, streams: [STREAM], ...(faults ? { faults } : {}) });
  const s3 = new S3Client({ endpoint: localS3.endpoint, forcePathStyle: true, region: 'us-east-2', credentials: CREDENTIALS });
  // The loader owns retries, as in the Lambda (handler.ts builds its client the same way).
  const firehose = createFirehoseClient({ endpoint: localFirehose.endpoint, region: 'us-east-2', credentials: CREDENTIALS, maxAttempts: 1 });
  return {
    s3, firehose, localS3, localFirehose, sink,
    async put(key, body) {
      const out = await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: body }));
      return out.ETag!.replace(/"/g, '');
    },
    async stop() {
      s3.destroy();
      firehose.destroy();
      await localFirehose.stop();
      await localS3.stop();
    },
  };
}

export interface Delivered {
  /** offset -> how many times a record for it was accepted */
  counts: Map<number, number>;
  duplicates: number[];
  missing: number[];
}

/** Offsets (and text) of the non-empty lines of an uncompressed object (a final line may lack its LF). */
export function expectedLines(text: string): Map<number, string> {
  const lines = new Map<number, string>();
  let offset = 0;
  for (const raw of text.split('\n')) {
    const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw; // CRLF ends a line like LF
    if (line.length > 0) lines.set(offset, line);
    offset += Buffer.byteLength(raw) + 1;
  }
  return lines;
}

/** Compares the sink's records for `key` with the object's lines; checks content and source. */
export function delivered(records: Buffer[], key: string, expected: Map<number, string>): Delivered {
  const counts = new Map<number, number>();
  for (const data of records) {
    const decoded = decodeRecord(data);
    if (decoded.source?.key !== key) continue;
    expect(decoded.source.bucket).toBe(BUCKET);
    const offset = decoded.source.offset;
    expect(decoded.line).toBe(expected.get(offset));
    counts.set(offset, (counts.get(offset) ?? 0) + 1);
  }
  return {
    counts,
    duplicates: [...counts].filter(([, n]) => n > 1).map(([offset]) => offset),
    missing: [...expected.keys()].filter((offset) => !counts.has(offset)),
  };
}

export function expectExactlyOnce(records: Buffer[], key: string, text: string): void {
  const expected = expectedLines(text);
  const result = delivered(records, key, expected);
  expect(result.missing).toEqual([]);
  expect(result.duplicates).toEqual([]);
  expect(result.counts.size).toBe(expected.size);
}
