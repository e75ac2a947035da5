// The exported Lambda entry point, configured only through its environment as in AWS: the SDK's
// standard AWS_ENDPOINT_URL_* variables point its default clients at the loopback stand-ins
// (S3, Firehose, and dynalite for the DynamoDB checkpoint table).
import type { Context, SQSEvent } from 'aws-lambda';
import { ScanCommand } from '@aws-sdk/client-dynamodb';
import { decodeRecord } from '../../../transform/envelope.ts';
import { GetObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, expect, it, vi } from 'vitest';
import type { S3EventNotification } from '../../../scripts/local/s3-server.ts';
import { startLocalDynamoDb, type LocalDynamoDb } from '../../dynamodb-local.ts';
import { ACCESS_LOG_KEY, BUCKET, accessLogKey, CREDENTIALS, STREAM, delivered, expectedLines, gzipText, logLines, startStandIns, type StandIns } from './harness.ts';

let env: StandIns;
let dynamodb: LocalDynamoDb;
const notifications: S3EventNotification[] = [];
const TABLE = 'albatross-checkpoints';

beforeAll(async () => {
  env = await startStandIns({ onObjectCreated: (n) => notifications.push(n) });
  dynamodb = await startLocalDynamoDb();
  await dynamodb.createCheckpointTable(TABLE);
  // The handler's whole configuration, as the stack sets it (restored after the file).
  for (const [name, value] of Object.entries({
    ALBATROSS_DELIVERY_STREAM: STREAM,
    ALBATROSS_CHECKPOINT_TABLE: TABLE,
    ALBATROSS_FAILURE_BUCKET: BUCKET,
    AWS_REGION: 'us-east-2',
    AWS_ACCESS_KEY_ID: CREDENTIALS.accessKeyId,
    AWS_SECRET_ACCESS_KEY: CREDENTIALS.secretAccessKey,
    AWS_ENDPOINT_URL_S3: env.localS3.endpoint,
    AWS_ENDPOINT_URL_FIREHOSE: env.localFirehose.endpoint,
    AWS_ENDPOINT_URL_DYNAMODB: dynamodb.endpoint,
    POWERTOOLS_LOG_LEVEL: 'SILENT',
    POWERTOOLS_METRICS_DISABLED: 'true',
  })) vi.stubEnv(name, value);
});
afterAll(async () => {
  vi.unstubAllEnvs();
  await dynamodb.stop();
  await env.stop();
});

/** An SQS event carrying the S3 notification of the object created `index`-th in this file. */
function sqsEvent(index: number): SQSEvent {
  return {
    Records: [{
      messageId: `m${index}`, receiptHandle: 'h', body: JSON.stringify(notifications[index]), attributes: {} as SQSEvent['Records'][0]['attributes'],
      messageAttributes: {}, md5OfBody: '', eventSource: 'aws:sqs', eventSourceARN: 'arn:aws:sqs:us-east-2:123456789012:q', awsRegion: 'us-east-2',
    }],
  };
}

/** The exported entry point, loaded fresh so it builds its clients from the environment above. */
async function defaultHandler() {
  vi.resetModules();
  return (await import('../../../transform/loader/handler.ts')).handler;
}

const context = { getRemainingTimeInMillis: () => 120_000 } as unknown as Context;

it('loads through the environment-built clients, checkpoints in DynamoDB and records failures in S3', async () => {
  const huge = 'y'.repeat(1_100_000);
  const text = [...logLines(700), huge, ...logLines(300, 700)].join('\n') + '\n';
  const created = notifications.length;
  await env.put(ACCESS_LOG_KEY, gzipText(text));
  const event = sqsEvent(created);
  const handler = await defaultHandler();
  expect(await handler(event, context)).toEqual({ batchItemFailures: [] });
  expect(await handler(event, context)).toEqual({ batchItemFailures: [] }); // redelivery

  const lines = text.split('\n').slice(0, -1);
  const offset = Buffer.byteLength(lines.slice(0, 700).join('\n') + '\n');
  const expected = expectedLines(text);
  expected.delete(offset);
  const sent = delivered(env.sink.records, ACCESS_LOG_KEY, expected);
  expect(sent.missing).toEqual([]);
  expect(sent.duplicates).toEqual([]);
  expect(env.sink.records.filter((r) => decodeRecord(r).source?.key === ACCESS_LOG_KEY)).toHaveLength(1000);

  // This object's checkpoint (the table is shared with the other test of this file).
  const items = await dynamodb.client.send(new ScanCommand({ TableName: TABLE }));
  items.Items = items.Items!.filter((item) => JSON.stringify(item).includes(ACCESS_LOG_KEY));
  expect(items.Items).toHaveLength(1);
  expect(items.Items![0]!['done']).toEqual({ BOOL: true });
  expect(items.Items![0]!['lines']).toEqual({ N: String(lines.length) });

  const etag = notifications[created]!.Records[0]!.s3.object.eTag;
  const failure = await env.s3.send(new GetObjectCommand({
    Bucket: BUCKET, Key: `errors/loader-failed/${BUCKET}/${ACCESS_LOG_KEY}/${etag}/${String(offset).padStart(15, '0')}.json`,
  }));
  const document = JSON.parse(await failure.Body!.transformToString());
  expect(document).toMatchObject({ errorCode: 'Loader.RecordTooLarge', source: { bucket: BUCKET, key: ACCESS_LOG_KEY, etag, line: 700, offset, length: huge.length } });
});

it('keeps every PutRecordBatch within the 4 MiB limit with its default configuration', async () => {
  // 100 KB lines: 500 records (the count limit) would be 50 MB, so only the byte limit can keep calls legal.
  const line = (i: number) => {
    const base = logLines(1, i)[0]!;
    return base.replace(/"([^"]*)" "([^"]*)"/, (_all, request: string) => `"${request}" "${String(i).padStart(6, '0')}${'u'.repeat(100_000)}"`);
  };
  const lines = Array.from({ length: 120 }, (_, i) => line(i));
  const text = lines.join('\n') + '\n';
  const key = accessLogKey('bigbatch');
  const callBytes: number[] = [];
  env.sink.beforeAccept = (records) => {
    callBytes.push(records.reduce((sum, record) => sum + record.length, 0));
  };
  try {
    const created = notifications.length;
    await env.put(key, gzipText(text));
    const handler = await defaultHandler();
    expect(await handler(sqsEvent(created), context)).toEqual({ batchItemFailures: [] });
  } finally {
    env.sink.beforeAccept = undefined;
  }
  const sent = delivered(env.sink.records, key, expectedLines(text));
  expect(sent.missing).toEqual([]);
  expect(sent.duplicates).toEqual([]);
  expect(callBytes.length).toBeGreaterThan(2);
  for (const bytes of callBytes) expect(bytes).toBeLessThanOrEqual(4 * 1024 * 1024);
  // The limit is what cut the calls: each full one came close to it.
  expect(Math.max(...callBytes)).toBeGreaterThan(3.9 * 1024 * 1024);
});
