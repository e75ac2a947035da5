// The exported Lambda entry point, configured only through its environment as in AWS: the SDK's
// standard AWS_ENDPOINT_URL_* variables point its default clients at the loopback stand-ins
// (S3, Firehose, and dynalite for the DynamoDB checkpoint table).
import type { AddressInfo } from 'node:net';
import type { Context, SQSEvent } from 'aws-lambda';
import { CreateTableCommand, DynamoDBClient, ScanCommand } from '@aws-sdk/client-dynamodb';
import { GetObjectCommand } from '@aws-sdk/client-s3';
import dynalite from 'dynalite';
import { afterAll, beforeAll, expect, it, vi } from 'vitest';
import type { S3EventNotification } from '../../../scripts/local/s3-server.ts';
import { ACCESS_LOG_KEY, BUCKET, CREDENTIALS, STREAM, delivered, expectedLines, gzipText, logLines, startStandIns, type StandIns } from './harness.ts';

let env: StandIns;
let server: ReturnType<typeof dynalite>;
let dynamo: DynamoDBClient;
const notifications: S3EventNotification[] = [];

beforeAll(async () => {
  env = await startStandIns({ onObjectCreated: (n) => notifications.push(n) });
  server = dynalite({ createTableMs: 0 });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const dynamoEndpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  dynamo = new DynamoDBClient({ endpoint: dynamoEndpoint, region: 'us-east-2', credentials: CREDENTIALS });
  await dynamo.send(new CreateTableCommand({
    TableName: 'albatross-checkpoints', BillingMode: 'PAY_PER_REQUEST',
    AttributeDefinitions: [{ AttributeName: 'id', AttributeType: 'S' }], KeySchema: [{ AttributeName: 'id', KeyType: 'HASH' }],
  }));
  Object.assign(process.env, {
    ALBATROSS_DELIVERY_STREAM: STREAM,
    ALBATROSS_CHECKPOINT_TABLE: 'albatross-checkpoints',
    ALBATROSS_FAILURE_BUCKET: BUCKET,
    AWS_REGION: 'us-east-2',
    AWS_ACCESS_KEY_ID: CREDENTIALS.accessKeyId,
    AWS_SECRET_ACCESS_KEY: CREDENTIALS.secretAccessKey,
    AWS_ENDPOINT_URL_S3: env.localS3.endpoint,
    AWS_ENDPOINT_URL_FIREHOSE: env.localFirehose.endpoint,
    AWS_ENDPOINT_URL_DYNAMODB: dynamoEndpoint,
    POWERTOOLS_LOG_LEVEL: 'SILENT',
    POWERTOOLS_METRICS_DISABLED: 'true',
  });
});
afterAll(async () => {
  dynamo.destroy();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  await env.stop();
});

it('loads through the environment-built clients, checkpoints in DynamoDB and records failures in S3', async () => {
  const huge = 'y'.repeat(1_100_000);
  const text = [...logLines(700), huge, ...logLines(300, 700)].join('\n') + '\n';
  await env.put(ACCESS_LOG_KEY, gzipText(text));
  const event: SQSEvent = {
    Records: [{
      messageId: 'm1', receiptHandle: 'h', body: JSON.stringify(notifications[0]), attributes: {} as SQSEvent['Records'][0]['attributes'],
      messageAttributes: {}, md5OfBody: '', eventSource: 'aws:sqs', eventSourceARN: 'arn:aws:sqs:us-east-2:123456789012:q', awsRegion: 'us-east-2',
    }],
  };
  const context = { getRemainingTimeInMillis: () => 120_000 } as unknown as Context;
  vi.resetModules();
  const { handler } = await import('../../../transform/loader/handler.ts');
  expect(await handler(event, context)).toEqual({ batchItemFailures: [] });
  expect(await handler(event, context)).toEqual({ batchItemFailures: [] }); // redelivery

  const lines = text.split('\n').slice(0, -1);
  const offset = Buffer.byteLength(lines.slice(0, 700).join('\n') + '\n');
  const expected = expectedLines(text);
  expected.delete(offset);
  const sent = delivered(env.sink.records, ACCESS_LOG_KEY, expected);
  expect(sent.missing).toEqual([]);
  expect(sent.duplicates).toEqual([]);
  expect(env.sink.records).toHaveLength(1000);

  const items = await dynamo.send(new ScanCommand({ TableName: 'albatross-checkpoints' }));
  expect(items.Items).toHaveLength(1);
  expect(items.Items![0]!['done']).toEqual({ BOOL: true });
  expect(items.Items![0]!['lines']).toEqual({ N: String(lines.length) });

  const etag = notifications[0]!.Records[0]!.s3.object.eTag;
  const failure = await env.s3.send(new GetObjectCommand({
    Bucket: BUCKET, Key: `errors/loader-failed/${BUCKET}/${ACCESS_LOG_KEY}/${etag}/${String(offset).padStart(15, '0')}.json`,
  }));
  const document = JSON.parse(await failure.Body!.transformToString());
  expect(document).toMatchObject({ errorCode: 'Loader.RecordTooLarge', source: { bucket: BUCKET, key: ACCESS_LOG_KEY, etag, line: 700, offset, length: huge.length } });
});
