// The loader routes each object by its key to the delivery stream of its log type, and the
// envelope of every record names that type; a type without a stream is skipped, never failed.
// Real S3 and Firehose clients against the loopback stand-ins.
import '../../scripts/local/quiet-lambdas.ts';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import type { Context, SQSEvent } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLocalFirehose, type AcceptedRecord, type LocalFirehose } from '../../../scripts/local/firehose-server.ts';
import { LOCAL_S3_CREDENTIALS, startLocalS3, type LocalS3, type S3EventNotification } from '../../../scripts/local/s3-server.ts';
import { decodeRecord } from '../../../transform/envelope.ts';
import { MemoryCheckpointStore } from '../../../transform/loader/checkpoint.ts';
import { MemoryFailureSink } from '../../../transform/loader/failures.ts';
import { createFirehoseClient } from '../../../transform/loader/firehose-client.ts';
import { createHandler, DELIVERY_STREAM_ENV } from '../../../transform/loader/handler.ts';
import { createLogger, createMetrics, SERVICE_NAMES } from '../../../transform/observability.ts';
import { corpusAccessLines, corpusLines, CORPUS_FILES } from '../../corpus.ts';
import { gzipText } from './harness.ts';

const BUCKET = 'alb-log-types';
const NAME = '123456789012_elasticloadbalancing_us-east-2_app.my-alb.1234567890abcdef_20251031T1245Z_10.0.1.15_20sg8hgm.log.gz';
const FOLDER = 'AWSLogs/123456789012/elasticloadbalancing/us-east-2/2025/10/31/';
const KEYS = { access: FOLDER + NAME, connection: `${FOLDER}conn_log_${NAME}`, health: `${FOLDER}health_check_log_${NAME}` };
const LINES = {
  access: corpusAccessLines(),
  connection: corpusLines(CORPUS_FILES.connection),
  health: corpusLines(CORPUS_FILES.healthCheck),
};

let s3Server: LocalS3;
let firehoseServer: LocalFirehose;
let s3: S3Client;
const notifications: S3EventNotification[] = [];
const received: { stream: string; data: Buffer }[] = [];

beforeAll(async () => {
  s3Server = await startLocalS3({ buckets: [BUCKET], onObjectCreated: (n) => notifications.push(n) });
  firehoseServer = await startLocalFirehose({
    streams: ['s-access', 's-connection', 's-health'],
    sink: { accept: async (stream: string, records: AcceptedRecord[]) => void received.push(...records.map((r) => ({ stream, data: Buffer.from(r.base64, 'base64') }))) },
  });
  s3 = new S3Client({ endpoint: s3Server.endpoint, forcePathStyle: true, region: 'us-east-2', credentials: LOCAL_S3_CREDENTIALS });
  for (const type of ['access', 'connection', 'health'] as const) {
    await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: KEYS[type], Body: gzipText(LINES[type].join('\n') + '\n') }));
  }
});
afterAll(async () => {
  s3.destroy();
  await firehoseServer.stop();
  await s3Server.stop();
});

const context = { functionName: 'albatross-loader', awsRequestId: 'r', getRemainingTimeInMillis: () => 300_000 } as unknown as Context;

function loader(deliveryStreams: Record<string, string>) {
  const firehose = createFirehoseClient({ endpoint: firehoseServer.endpoint, region: 'us-east-2', credentials: LOCAL_S3_CREDENTIALS, maxAttempts: 1 });
  return createHandler({
    s3, firehose, deliveryStreams, checkpoints: new MemoryCheckpointStore(), failures: new MemoryFailureSink(),
    logger: createLogger(SERVICE_NAMES.loader), metrics: createMetrics(SERVICE_NAMES.loader),
  });
}

function event(): SQSEvent {
  return {
    Records: notifications.map((n, i) => ({
      messageId: `m${i}`, receiptHandle: `h${i}`, body: JSON.stringify(n), messageAttributes: {}, md5OfBody: '', eventSource: 'aws:sqs',
      attributes: { ApproximateReceiveCount: '1', SentTimestamp: '0', SenderId: 's3', ApproximateFirstReceiveTimestamp: '0' },
      eventSourceARN: 'arn:aws:sqs:us-east-2:123456789012:q', awsRegion: 'us-east-2',
    })),
  };
}

describe('loader routing by log type', () => {
  it('names one environment variable per type', () => {
    expect(DELIVERY_STREAM_ENV).toEqual({
      access: 'ALBATROSS_DELIVERY_STREAM', connection: 'ALBATROSS_CONNECTION_DELIVERY_STREAM', health: 'ALBATROSS_HEALTH_DELIVERY_STREAM',
    });
  });

  it('skips the types without a stream, then sends each object to its own stream with its type in the envelope', async () => {
    expect(notifications).toHaveLength(3);
    const accessOnly = await loader({ access: 's-access' })(event(), context);
    expect(accessOnly.batchItemFailures).toEqual([]);
    expect(new Set(received.map((r) => r.stream))).toEqual(new Set(['s-access']));
    received.length = 0;

    const all = await loader({ access: 's-access', connection: 's-connection', health: 's-health' })(event(), context);
    expect(all.batchItemFailures).toEqual([]);
    for (const type of ['access', 'connection', 'health'] as const) {
      const records = received.filter((r) => r.stream === `s-${type}`).map((r) => decodeRecord(r.data));
      expect(records.map((r) => r.line)).toEqual(LINES[type]);
      expect(records.every((r) => r.source?.key === KEYS[type] && r.source.bucket === BUCKET)).toBe(true);
      // access records keep the original envelope (no type field); the others name their type
      expect(new Set(records.map((r) => r.type))).toEqual(new Set([type === 'access' ? undefined : type]));
    }
  });
});
