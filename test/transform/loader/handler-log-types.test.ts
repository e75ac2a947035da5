// The loader routes each object by its key to the delivery stream of its log type, and the
// envelope of every record names that type; a type without a stream is skipped, never failed.
// Real S3 and Firehose clients against the loopback stand-ins.
import '../../scripts/local/quiet-lambdas.ts';
import { GetObjectCommand, ListObjectsV2Command, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import type { Context, SQSEvent } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { startLocalFirehose, type AcceptedRecord, type LocalFirehose } from '../../../scripts/local/firehose-server.ts';
import { LOCAL_S3_CREDENTIALS, startLocalS3, type LocalS3, type S3EventNotification } from '../../../scripts/local/s3-server.ts';
import { decodeRecord } from '../../../transform/envelope.ts';
import { MemoryCheckpointStore } from '../../../transform/loader/checkpoint.ts';
import { DEFAULT_FAILURE_PREFIX, MemoryFailureSink, RECORD_TOO_LARGE } from '../../../transform/loader/failures.ts';
import { unwrapErrorRecord } from '../../../transform/firehose-error-record.ts';
import { LOG_TYPES } from '../../../transform/log-type-names.ts';
import { createFirehoseClient } from '../../../transform/loader/firehose-client.ts';
import { createHandler, DELIVERY_STREAM_ENV, FAILURE_BUCKET_ENV } from '../../../transform/loader/handler.ts';
import { createLogger, createMetrics, SERVICE_NAMES } from '../../../transform/observability.ts';
import { corpusAccessLines, corpusLines, CORPUS_FILES } from '../../corpus.ts';
import { gzipText } from './harness.ts';

const BUCKET = 'alb-log-types';
/** Each stream's own backup bucket, as the stack configures them. */
const BACKUP = { access: 'backup-access', connection: 'backup-connection', health: 'backup-health' };
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
  s3Server = await startLocalS3({ buckets: [BUCKET, ...Object.values(BACKUP)], onObjectCreated: (n) => notifications.push(n) });
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

function event(from = 0, to?: number): SQSEvent {
  return {
    Records: notifications.slice(from, to).map((n, i) => ({
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
    // The three objects put before all tests (the next test adds its own after them).
    expect(notifications.slice(0, 3).map((n) => n.Records[0]!.s3.object.key)).toEqual(Object.values(KEYS).map((k) => encodeURIComponent(k).replace(/%2F/g, '/')));
    received.length = 0;
    const accessOnly = await loader({ access: 's-access' })(event(0, 3), context);
    expect(accessOnly.batchItemFailures).toEqual([]);
    expect(new Set(received.map((r) => r.stream))).toEqual(new Set(['s-access']));
    received.length = 0;

    const all = await loader({ access: 's-access', connection: 's-connection', health: 's-health' })(event(0, 3), context);
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

describe('failed lines of each type land in its own stream\'s backup bucket', () => {
  afterAll(() => {
    vi.unstubAllEnvs();
  });

  it('a line over Firehose\'s record limit is recorded, with its reason, where the replay of its type reads (errors/loader-failed/ of its bucket)', async () => {
    const huge = (line: string) => `${line} ${'x'.repeat(1_100_000)}`;
    const keys = { access: KEYS.access.replace('20sg8hgm', 'huge0001'), connection: KEYS.connection.replace('20sg8hgm', 'huge0001'), health: KEYS.health.replace('20sg8hgm', 'huge0001') };
    const from = notifications.length;
    for (const type of ['access', 'connection', 'health'] as const) {
      const lines = [LINES[type][0]!, huge(LINES[type][1]!), LINES[type][2]!];
      await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: keys[type], Body: gzipText(lines.join('\n') + '\n') }));
    }
    // The handler's configuration as the stack sets it: one stream and one backup bucket per type.
    for (const [name, value] of Object.entries({
      ...Object.fromEntries(LOG_TYPES.map((type) => [DELIVERY_STREAM_ENV[type], `s-${type}`])),
      ...Object.fromEntries(LOG_TYPES.map((type) => [FAILURE_BUCKET_ENV[type], BACKUP[type]])),
      ALBATROSS_FAILURE_PREFIX: DEFAULT_FAILURE_PREFIX,
      AWS_REGION: 'us-east-2', AWS_ACCESS_KEY_ID: LOCAL_S3_CREDENTIALS.accessKeyId, AWS_SECRET_ACCESS_KEY: LOCAL_S3_CREDENTIALS.secretAccessKey,
      AWS_ENDPOINT_URL_S3: s3Server.endpoint, AWS_ENDPOINT_URL_FIREHOSE: firehoseServer.endpoint,
      POWERTOOLS_LOG_LEVEL: 'SILENT', POWERTOOLS_METRICS_DISABLED: 'true',
    })) vi.stubEnv(name, value);
    vi.resetModules();
    const { handler } = await import('../../../transform/loader/handler.ts');
    expect((await handler(event(from), context)).batchItemFailures).toEqual([]);

    for (const type of LOG_TYPES) {
      const listed = await s3.send(new ListObjectsV2Command({ Bucket: BACKUP[type] }));
      const stored = (listed.Contents ?? []).map((o) => o.Key!);
      // Only its own type's line, under the loader's prefix (S3FailureSink, deterministic per line).
      expect(stored, type).toHaveLength(1);
      expect(stored[0]!.startsWith(`${DEFAULT_FAILURE_PREFIX}${BUCKET}/${keys[type]}/`), stored[0]).toBe(true);
      const text = await (await s3.send(new GetObjectCommand({ Bucket: BACKUP[type], Key: stored[0]! }))).Body!.transformToString();
      const record = JSON.parse(text);
      expect(record).toMatchObject({ errorCode: RECORD_TOO_LARGE, errorMessage: expect.stringMatching(/^record of \d+ bytes exceeds Firehose's \d+-byte record limit$/), source: { bucket: BUCKET, key: keys[type], line: 1 } });
      // The replay of that bucket (albatross backfill --firehose-errors) reads it as a loader failure naming where the whole line is.
      const unwrapped = unwrapErrorRecord(text);
      expect(unwrapped).toMatchObject({ kind: 'invalid', error: expect.stringContaining(`not replayable: the whole line is in s3://${BUCKET}/${keys[type]} at byte ${record.source.offset}`) });
    }
  });
});
