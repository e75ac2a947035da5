// `albatross backfill s3://… --on-aws` end to end on one machine: the CLI (a child process, as a user
// runs it) lists a local S3 (s3rver) and queues one message per object on a real SQS wire-protocol
// server (ElasticMQ) with the progress items in a DynamoDB emulator (dynalite), found through the
// SDK's standard AWS_ENDPOINT_URL_* variables. The backfill worker (the loader handler in direct
// delivery, as the stack deploys it) consumes the queue: the first delivery runs in a child process
// that is SIGKILLed after its first checkpoint mid-object, SQS delivers the object again, the worker
// resumes it at that checkpoint, and in the end every line is indexed exactly once into the index of
// its event day and `--status` says done.
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { CreateTableCommand } from '@aws-sdk/client-dynamodb';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import {
  CreateQueueCommand, DeleteMessageCommand, GetQueueAttributesCommand, ReceiveMessageCommand, SQSClient,
} from '@aws-sdk/client-sqs';
import { Client } from '@opensearch-project/opensearch';
import type { Context, SQSRecord } from 'aws-lambda';
import { afterAll, beforeAll, expect, it } from 'vitest';
import '../local/quiet-lambdas.ts';
import { startLocalSqs, type LocalSqs } from '../../../scripts/elasticmq-local/server.ts';
import { LOCAL_S3_CREDENTIALS, startLocalS3, type LocalS3 } from '../../../scripts/local/s3-server.ts';
import { countDocuments, countDuplicates, indexCounts, refresh } from '../../../scripts/local/report.ts';
import { installTemplates } from '../../../templates/install.ts';
import { documentKeys } from '../../../transform/bulk-index/index-lines.ts';
import { parseAlbLineToJson } from '../../../transform/parser/index.ts';
import { lastJsonLine, runCli } from '../../cli.ts';
import { cycleAccessLines } from '../../corpus.ts';
import { startLocalDynamoDb, type LocalDynamoDb } from '../../dynamodb-local.ts';
import { removeIndicesAndTemplates } from '../../opensearch-cleanup.ts';
import { gzipText } from '../../transform/loader/harness.ts';
import { backfillWorker, type WorkerSettings } from './backfill-worker.ts';
import { backfillRunId } from '../../../transform/backfill/message.ts';
import { BackfillProgressStore } from '../../../transform/backfill/progress.ts';

const BUCKET = 'old-alb-logs';
const OBJECTS = 4;
const LINES = 1_500;
const client = new Client({ node: process.env.OPENSEARCH_URL! });
const prefix = `test-backfill-aws-${process.pid}`;
let s3: LocalS3;
let sqsServer: LocalSqs;
let dynamodb: LocalDynamoDb;
let sqs: SQSClient;
let work: string;

beforeAll(async () => {
  work = await mkdtemp(path.join(os.tmpdir(), 'albatross-backfill-aws-'));
  await installTemplates(client, { indexPrefix: prefix, replicas: 0, log: () => undefined });
  [s3, sqsServer, dynamodb] = await Promise.all([startLocalS3({ buckets: [BUCKET] }), startLocalSqs(), startLocalDynamoDb()]);
  sqs = new SQSClient({ endpoint: sqsServer.endpoint, region: sqsServer.region, credentials: { accessKeyId: 'local', secretAccessKey: 'local' } });
}, 180_000);
afterAll(async () => {
  sqs?.destroy();
  await Promise.all([s3?.stop(), sqsServer?.stop(), dynamodb?.stop()]);
  await removeIndicesAndTemplates(client, prefix);
  await client.close();
  await rm(work, { recursive: true, force: true });
});

/** The backfill queue and its DLQ, as the stack creates them (short visibility timeout: the test waits for redeliveries). */
async function createQueues(): Promise<{ url: string; arn: string; dlqUrl: string }> {
  const dlq = await sqs.send(new CreateQueueCommand({ QueueName: 'backfill-dlq' }));
  const arnOf = async (url: string) => (await sqs.send(new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ['QueueArn'] }))).Attributes!['QueueArn']!;
  const main = await sqs.send(new CreateQueueCommand({
    QueueName: 'backfill',
    Attributes: { VisibilityTimeout: '2', RedrivePolicy: JSON.stringify({ deadLetterTargetArn: await arnOf(dlq.QueueUrl!), maxReceiveCount: 20 }) },
  }));
  return { url: main.QueueUrl!, arn: await arnOf(main.QueueUrl!), dlqUrl: dlq.QueueUrl! };
}

it('queues with --on-aws, survives a worker crash mid-object, indexes every line once by event day, and --status says done', async () => {
  // Objects of several event days, under the delivery-date folder of the first.
  const keys = Array.from({ length: OBJECTS }, (_, i) =>
    `AWSLogs/123456789012/elasticloadbalancing/us-east-2/2026/01/01/123456789012_elasticloadbalancing_us-east-2_app.old-lb.1234567890abcdef_20260101T00${String(i).padStart(2, '0')}Z_10.0.0.${i}_backfill${i}.log.gz`);
  const expected = new Map<string, string>(); // event.id -> event day
  let failedLines = 0;
  const kinds = new Map<string, string[]>(); // key -> what each line parses to
  const uploader = new S3Client({ endpoint: s3.endpoint, forcePathStyle: true, region: 'us-east-2', credentials: LOCAL_S3_CREDENTIALS });
  for (const [i, key] of keys.entries()) {
    const lines = cycleAccessLines(LINES, i * LINES);
    let offset = 0;
    kinds.set(key, []);
    for (const line of lines) {
      const parsed = parseAlbLineToJson(line, { source: { bucket: BUCKET, key, offset } });
      kinds.get(key)!.push(parsed.kind);
      if (parsed.kind === 'document') {
        const { id, day } = documentKeys(parsed.json)!;
        expected.set(id, day);
      } else if (parsed.kind === 'failed') failedLines++;
      offset += Buffer.byteLength(line) + 1;
    }
    await uploader.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: gzipText(lines.join('\n') + '\n') }));
  }
  uploader.destroy();
  const days = [...new Set(expected.values())].sort();
  expect(days.length).toBeGreaterThan(1);
  const [from, to] = [days[0]!, days.at(-1)!];

  const queue = await createQueues();
  const progressTable = 'backfill-progress';
  const checkpointTable = 'checkpoints';
  await dynamodb.client.send(new CreateTableCommand({
    TableName: progressTable, BillingMode: 'PAY_PER_REQUEST',
    AttributeDefinitions: [{ AttributeName: 'run', AttributeType: 'S' }, { AttributeName: 'object', AttributeType: 'S' }],
    KeySchema: [{ AttributeName: 'run', KeyType: 'HASH' }, { AttributeName: 'object', KeyType: 'RANGE' }],
  }));
  await dynamodb.createCheckpointTable(checkpointTable);

  // The CLI as a user runs it against AWS; the SDK's endpoint variables point it at the stand-ins.
  const awsEnv = {
    AWS_ENDPOINT_URL_S3: s3.endpoint, AWS_ENDPOINT_URL_SQS: sqsServer.endpoint, AWS_ENDPOINT_URL_DYNAMODB: dynamodb.endpoint,
    AWS_REGION: 'us-east-2', AWS_ACCESS_KEY_ID: LOCAL_S3_CREDENTIALS.accessKeyId, AWS_SECRET_ACCESS_KEY: LOCAL_S3_CREDENTIALS.secretAccessKey,
    AWS_PROFILE: undefined, AWS_SESSION_TOKEN: undefined,
  };
  const cli = (args: string[]) => runCli(['backfill', ...args, '--queue-url', queue.url, '--table', progressTable, '--json'], { env: awsEnv, timeoutMs: 60_000 });
  const source = `s3://${BUCKET}/AWSLogs/`;
  const range = ['--from', from, '--to', to, '--log-types', 'access'];
  const queued = await cli([source, ...range, '--on-aws']);
  expect(queued.code, queued.stderr).toBe(0);
  const summary = lastJsonLine(queued.stdout) as { queued: number; alreadyQueued: number; objects: number; bytesQueued: number };
  expect(summary).toMatchObject({ objects: OBJECTS, queued: OBJECTS, alreadyQueued: 0 });
  expect(summary.bytesQueued).toBeGreaterThan(0);
  // Safe to run twice: nothing is queued again.
  const again = lastJsonLine((await cli([source, ...range, '--on-aws'])).stdout) as typeof summary;
  expect(again).toMatchObject({ objects: OBJECTS, queued: 0, alreadyQueued: OBJECTS });

  const settings: WorkerSettings = {
    s3Endpoint: s3.endpoint, dynamodbEndpoint: dynamodb.endpoint, opensearchUrl: process.env.OPENSEARCH_URL!, indexPrefix: prefix,
    checkpointTable, progressTable, errorsDirectory: path.join(work, 'backup'), maxReceiveCount: 20,
  };
  // The crash: a worker process takes the first message and dies after its first checkpoint mid-object.
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(import.meta.dirname, 'backfill-worker-crash-child.ts')], {
    env: { ...process.env, CRASH_WORKER_SETTINGS: JSON.stringify({ ...settings, sqsEndpoint: sqsServer.endpoint, queueUrl: queue.url, queueArn: queue.arn }) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (d: Buffer) => { output += d.toString(); });
  child.stderr.on('data', (d: Buffer) => { output += d.toString(); });
  const signal = await new Promise<NodeJS.Signals | null>((resolve) => child.on('exit', (_code, s) => resolve(s)));
  expect(signal, output).toBe('SIGKILL');
  expect(output).toContain('bulk acknowledged');
  const crashed = JSON.parse(/checkpoint (\{.*\}): crashing/.exec(output)![1]!) as { key: string; lines: number };
  expect(crashed.lines).toBeGreaterThan(0);
  expect(crashed.lines).toBeLessThan(LINES);
  // What the lines before that checkpoint hold: the redelivery resumes after them.
  const before = kinds.get(crashed.key)!.slice(0, crashed.lines);
  const documentsBefore = before.filter((k) => k === 'document').length;
  const failedBefore = before.filter((k) => k === 'failed').length;
  await refresh(client, `${prefix}-*`);
  const afterCrash = await countDocuments(client, `${prefix}-*`);
  expect(afterCrash).toBeGreaterThan(0);
  expect(afterCrash).toBeLessThan(expected.size);

  // Lambda's poller: receive, invoke the worker, delete what succeeded; until every object is done.
  const worker = await backfillWorker(settings);
  const context = { getRemainingTimeInMillis: () => 120_000 } as unknown as Context;
  const receiveCounts: number[] = [];
  try {
    const deadline = Date.now() + 120_000;
    const progress = new BackfillProgressStore(dynamodb.client, progressTable);
    const run = backfillRunId({ source, from, to, logTypes: ['access'] });
    for (;;) {
      const status = (await progress.status(run))!;
      if (status.queued === 0) break;
      expect(Date.now(), JSON.stringify(status)).toBeLessThan(deadline);
      const out = await sqs.send(new ReceiveMessageCommand({ QueueUrl: queue.url, MaxNumberOfMessages: 1, WaitTimeSeconds: 1, MessageSystemAttributeNames: ['All'] }));
      for (const m of out.Messages ?? []) {
        receiveCounts.push(Number(m.Attributes!['ApproximateReceiveCount']));
        const record: SQSRecord = {
          messageId: m.MessageId!, receiptHandle: m.ReceiptHandle!, body: m.Body!, attributes: m.Attributes as unknown as SQSRecord['attributes'],
          messageAttributes: {}, md5OfBody: m.MD5OfBody!, eventSource: 'aws:sqs', eventSourceARN: queue.arn, awsRegion: 'us-east-2',
        };
        const response = await worker.handler({ Records: [record] }, context);
        if (response.batchItemFailures.length === 0) await sqs.send(new DeleteMessageCommand({ QueueUrl: queue.url, ReceiptHandle: m.ReceiptHandle! }));
      }
    }
  } finally {
    await worker.close();
  }
  // The crashed object came back (a second receive of the same message).
  expect(Math.max(...receiveCounts)).toBeGreaterThan(1);

  // Every line once, in the index of its event day.
  await refresh(client, `${prefix}-*`);
  expect(await countDuplicates(client, `${prefix}-*`)).toBe(0);
  expect(await countDocuments(client, `${prefix}-*`)).toBe(expected.size);
  const perDay = new Map<string, number>();
  for (const day of expected.values()) perDay.set(`${prefix}-${day}`, (perDay.get(`${prefix}-${day}`) ?? 0) + 1);
  expect(await indexCounts(client, `${prefix}-*`)).toEqual([...perDay.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([index, docs]) => ({ index, docs })));
  for (const [id, day] of [...expected.entries()].slice(0, 20)) {
    expect((await client.get({ index: `${prefix}-${day}`, id })).body.found).toBe(true);
  }
  const dlq = await sqs.send(new ReceiveMessageCommand({ QueueUrl: queue.dlqUrl, MaxNumberOfMessages: 1, WaitTimeSeconds: 0 }));
  expect(dlq.Messages ?? []).toEqual([]);

  // --status: every object done, every line counted; the crashed object's resumed attempt counted the
  // lines after its checkpoint (the lines before it are its resumedLines).
  const status = await cli([source, ...range, '--status']);
  expect(status.code).toBe(0);
  const done = lastJsonLine(status.stdout) as Record<string, any>;
  expect(done).toMatchObject({
    objects: OBJECTS, done: OBJECTS, queued: 0, failed: [], lines: OBJECTS * LINES, secondsLeft: 0,
    resumedLines: crashed.lines, indexed: expected.size - documentsBefore, failedLines: failedLines - failedBefore,
  });
  expect(done['documentsPerSecond']).toBeGreaterThan(0);
  const text = await runCli(['backfill', source, ...range, '--status', '--queue-url', queue.url, '--table', progressTable], { env: awsEnv });
  expect(text.stdout).toContain(`${OBJECTS} queued: ${OBJECTS} done, 0 waiting, 0 failed`);
  expect(text.stdout).toContain('finished');
}, 300_000);
