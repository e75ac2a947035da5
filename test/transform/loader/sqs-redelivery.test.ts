// The loader handler against real SQS semantics: ElasticMQ (an SQS wire-protocol server) on
// loopback, the real @aws-sdk/client-sqs, and events built from messages actually received from
// it. Visibility changes, receive counts and redrive to the dead-letter queue are the server's
// behaviour; this test only plays the Lambda poller (receive a batch, invoke, delete what succeeded).
import type { Context, SQSEvent, SQSRecord } from 'aws-lambda';
import {
  CreateQueueCommand, DeleteMessageBatchCommand, GetQueueAttributesCommand, ReceiveMessageCommand, SendMessageCommand, SQSClient,
  type Message,
} from '@aws-sdk/client-sqs';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, onTestFinished, vi } from 'vitest';
import { startLocalSqs, type LocalSqs } from '../../../scripts/elasticmq-local/server.ts';
import type { S3EventNotification } from '../../../scripts/local/s3-server.ts';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Client } from '@opensearch-project/opensearch';
import { countDocuments, countDuplicates, refresh } from '../../../scripts/local/report.ts';
import { installTemplates } from '../../../templates/install.ts';
import { sendBulk } from '../../../templates/opensearch-client.ts';
import { DirectoryErrorRecordSink } from '../../../transform/loader/error-records.ts';
import { parseAlbLineToJson } from '../../../transform/parser/index.ts';
import { Semaphore } from '../../../transform/semaphore.ts';
import { removeIndicesAndTemplates } from '../../opensearch-cleanup.ts';
import { MemoryCheckpointStore } from '../../../transform/loader/checkpoint.ts';
import { MemoryFailureSink } from '../../../transform/loader/failures.ts';
import { createHandler, type LoaderDependencies } from '../../../transform/loader/handler.ts';
import { SqsRequeuer } from '../../../transform/loader/requeue.ts';
import { createLogger, createMetrics, SERVICE_NAMES } from '../../../transform/observability.ts';
import { ACCESS_LOG_KEY, BUCKET, CREDENTIALS, accessLogKey, expectExactlyOnce, gzipText, logLines, startStandIns, type StandIns } from './harness.ts';

let server: LocalSqs;
let sqs: SQSClient;
let env: StandIns;
const notifications: S3EventNotification[] = [];

beforeAll(async () => {
  server = await startLocalSqs();
  sqs = new SQSClient({ endpoint: server.endpoint, region: server.region, credentials: CREDENTIALS });
});
afterAll(async () => {
  sqs?.destroy();
  await server?.stop();
});
beforeEach(async () => {
  notifications.length = 0;
  env = await startStandIns({ onObjectCreated: (n) => notifications.push(n) });
});
afterEach(async () => { await env.stop(); });

interface Queue { url: string; arn: string; dlqUrl: string }

let queues = 0;
/** A main queue with its own dead-letter queue, as the stack creates them. */
async function createQueues(options: { visibilityTimeoutSeconds: number; maxReceiveCount: number }): Promise<Queue> {
  const name = `albatross-objects-${++queues}`;
  const dlq = await sqs.send(new CreateQueueCommand({ QueueName: `${name}-dlq` }));
  const dlqArn = await queueArn(dlq.QueueUrl!);
  const main = await sqs.send(new CreateQueueCommand({
    QueueName: name,
    Attributes: {
      VisibilityTimeout: String(options.visibilityTimeoutSeconds),
      RedrivePolicy: JSON.stringify({ deadLetterTargetArn: dlqArn, maxReceiveCount: options.maxReceiveCount }),
    },
  }));
  return { url: main.QueueUrl!, arn: await queueArn(main.QueueUrl!), dlqUrl: dlq.QueueUrl! };
}

async function queueArn(url: string): Promise<string> {
  const out = await sqs.send(new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ['QueueArn'] }));
  return out.Attributes!['QueueArn']!;
}

/** Long-polls (1 s at a time) until a message arrives; fails with `what` after `timeoutSeconds`. */
async function receive(url: string, what: string, timeoutSeconds = 30): Promise<Message> {
  const deadline = Date.now() + timeoutSeconds * 1000;
  while (Date.now() < deadline) {
    const out = await sqs.send(new ReceiveMessageCommand({
      QueueUrl: url, MaxNumberOfMessages: 1, WaitTimeSeconds: 1, MessageSystemAttributeNames: ['All'],
    }));
    if (out.Messages?.length) return out.Messages[0]!;
  }
  throw new Error(`${what}: no message within ${timeoutSeconds} s`);
}

async function isEmptyNow(url: string): Promise<boolean> {
  const out = await sqs.send(new ReceiveMessageCommand({ QueueUrl: url, MaxNumberOfMessages: 10, WaitTimeSeconds: 0 }));
  return (out.Messages ?? []).length === 0;
}

/** An SQS event as Lambda's poller builds it from received messages. */
function eventOf(queue: Queue, messages: Message[]): SQSEvent {
  return {
    Records: messages.map((m): SQSRecord => ({
      messageId: m.MessageId!, receiptHandle: m.ReceiptHandle!, body: m.Body!,
      attributes: m.Attributes as unknown as SQSRecord['attributes'],
      messageAttributes: {}, md5OfBody: m.MD5OfBody!, eventSource: 'aws:sqs', eventSourceARN: queue.arn, awsRegion: server.region,
    })),
  };
}

/** Invokes the handler and deletes the messages it did not report as failed, as Lambda's poller does. */
async function invoke(handler: ReturnType<typeof createHandler>, queue: Queue, messages: Message[], context: Context) {
  const printed: string[] = [];
  const capture = (chunk: string | Uint8Array): boolean => { printed.push(chunk.toString()); return true; };
  const spies = [vi.spyOn(process.stdout, 'write').mockImplementation(capture), vi.spyOn(process.stderr, 'write').mockImplementation(capture)];
  let response;
  try {
    response = await handler(eventOf(queue, messages), context);
  } finally {
    for (const spy of spies) spy.mockRestore();
  }
  const failed = new Set(response.batchItemFailures.map((f) => f.itemIdentifier));
  const done = messages.filter((m) => !failed.has(m.MessageId!));
  if (done.length > 0) {
    await sqs.send(new DeleteMessageBatchCommand({ QueueUrl: queue.url, Entries: done.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle! })) }));
  }
  const lines = printed.join('').split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Record<string, any>);
  return { failed: [...failed], lines };
}

function metric(lines: Array<Record<string, any>>, name: string): number {
  return lines.filter((l) => l['_aws']).reduce((sum, l) => sum + (typeof l[name] === 'number' ? l[name] : 0), 0);
}

const context = (remainingMs: number): Context => ({ getRemainingTimeInMillis: () => remainingMs }) as unknown as Context;

function handlerFor(overrides: Partial<LoaderDependencies> = {}) {
  return createHandler({
    s3: env.s3, firehose: env.firehose, deliveryStream: 'alb-logs',
    checkpoints: new MemoryCheckpointStore(), failures: new MemoryFailureSink(),
    logger: createLogger(SERVICE_NAMES.loader), metrics: createMetrics(SERVICE_NAMES.loader),
    concurrency: 1,
    retry: { baseDelayMs: 1, maxDelayMs: 20, maxRetryTimeMs: 300 },
    requeue: new SqsRequeuer(sqs),
    requeueDelay: { minSeconds: 2, jitterSeconds: 1 },
    ...overrides,
  });
}

async function notify(queue: Queue, notification: S3EventNotification): Promise<void> {
  await sqs.send(new SendMessageCommand({ QueueUrl: queue.url, MessageBody: JSON.stringify(notification) }));
}

describe('loader on a real SQS queue', () => {
  it('puts an interrupted object back after the short delay, not the visibility timeout', async () => {
    // 300 s of visibility: only the loader's ChangeMessageVisibility can bring the message back within the test.
    const queue = await createQueues({ visibilityTimeoutSeconds: 300, maxReceiveCount: 5 });
    const text = logLines(1200).join('\n') + '\n';
    await env.put(ACCESS_LOG_KEY, gzipText(text));
    await notify(queue, notifications[0]!);
    const handler = handlerFor();

    const first = await receive(queue.url, 'the notification');
    expect(first.Attributes?.['ApproximateReceiveCount']).toBe('1');
    // The deadline margin (20 s) exceeds the remaining time: the load is interrupted at once.
    const interrupted = await invoke(handler, queue, [first], context(15_000));
    expect(interrupted.failed).toEqual([first.MessageId]);
    expect(metric(interrupted.lines, 'ObjectsInterrupted')).toBe(1);
    expect(metric(interrupted.lines, 'ObjectsFailed')).toBe(0);
    const requeued = interrupted.lines.find((l) => l['message'] === 'message requeued');
    expect(requeued).toMatchObject({ messageId: first.MessageId, receiveCount: 1, reason: 'LoadInterruptedError' });
    expect(requeued!['delaySeconds']).toBeGreaterThanOrEqual(2);
    expect(requeued!['delaySeconds']).toBeLessThanOrEqual(3);
    expect(await isEmptyNow(queue.url)).toBe(true); // invisible for the delay (at least 2 s)

    const second = await receive(queue.url, 'the requeued notification (after a 2-3 s delay)', 20);
    expect(second.MessageId).toBe(first.MessageId);
    expect(second.Attributes?.['ApproximateReceiveCount']).toBe('2');
    const loaded = await invoke(handler, queue, [second], context(120_000));
    expect(loaded.failed).toEqual([]);
    expect(metric(loaded.lines, 'ObjectsLoaded')).toBe(1);
    expectExactlyOnce(env.sink.records, ACCESS_LOG_KEY, text);
    expect(await isEmptyNow(queue.url)).toBe(true); // deleted after success
    expect(await isEmptyNow(queue.dlqUrl)).toBe(true);
  });

  it('lets a large, throttled object finish in several slices, one receive each, without reaching the DLQ', async () => {
    const queue = await createQueues({ visibilityTimeoutSeconds: 300, maxReceiveCount: 5 });
    const text = logLines(3000).join('\n') + '\n'; // 6 batches of 500 records
    await env.put(ACCESS_LOG_KEY, gzipText(text));
    await notify(queue, notifications[0]!);
    // Firehose accepts two calls per invocation, then throttles every call: each slice sends
    // 1,000 lines, gives up (SendGaveUpError) and is requeued.
    let accepted = 0;
    env.sink.afterAccept = () => {
      if (++accepted === 2) env.localFirehose.setFaults({ throttleRate: 1 });
    };
    const handler = handlerFor();

    const receiveCounts: string[] = [];
    const reasons: string[] = [];
    for (let slice = 1; ; slice += 1) {
      expect(slice).toBeLessThanOrEqual(4);
      const message = await receive(queue.url, `slice ${slice}`);
      receiveCounts.push(message.Attributes!['ApproximateReceiveCount']!);
      accepted = 0;
      env.localFirehose.setFaults({});
      const result = await invoke(handler, queue, [message], context(120_000));
      if (result.failed.length === 0) {
        expect(metric(result.lines, 'ObjectsLoaded')).toBe(1);
        break;
      }
      expect(metric(result.lines, 'ObjectsInterrupted')).toBe(1);
      expect(metric(result.lines, 'RecordsSent')).toBe(1000);
      reasons.push(result.lines.find((l) => l['message'] === 'message requeued')?.['reason']);
    }
    expect(receiveCounts).toEqual(['1', '2', '3']);
    expect(reasons).toEqual(['SendGaveUpError', 'SendGaveUpError']);
    expectExactlyOnce(env.sink.records, ACCESS_LOG_KEY, text);
    expect(await isEmptyNow(queue.dlqUrl)).toBe(true);
  });

  it('redrives an object that truly fails to the DLQ after maxReceiveCount receives, without requeueing it early', async () => {
    // A short visibility timeout, so the failing message comes back quickly on its own.
    const queue = await createQueues({ visibilityTimeoutSeconds: 1, maxReceiveCount: 3 });
    const truncated = gzipText(logLines(2000).join('\n') + '\n');
    await env.put(accessLogKey('truncated'), truncated.subarray(0, truncated.length >> 1));
    await notify(queue, notifications[0]!);
    const handler = handlerFor();

    for (let receiveCount = 1; receiveCount <= 3; receiveCount += 1) {
      const message = await receive(queue.url, `receive ${receiveCount} of the corrupt object`);
      expect(message.Attributes?.['ApproximateReceiveCount']).toBe(String(receiveCount));
      const result = await invoke(handler, queue, [message], context(120_000));
      expect(result.failed).toEqual([message.MessageId]);
      expect(metric(result.lines, 'ObjectsFailed')).toBe(1);
      expect(metric(result.lines, 'ObjectsInterrupted')).toBe(0);
      expect(result.lines.some((l) => l['message'] === 'message requeued')).toBe(false);
    }
    // SQS moves the message when a receive finds it past maxReceiveCount: poll the main queue (it
    // must not deliver a 4th time) until the message is in the DLQ.
    const deadline = Date.now() + 30_000;
    let dead: Message | undefined;
    while (!dead) {
      if (Date.now() > deadline) throw new Error('the corrupt object did not reach the DLQ within 30 s');
      const again = await sqs.send(new ReceiveMessageCommand({ QueueUrl: queue.url, WaitTimeSeconds: 1, MessageSystemAttributeNames: ['All'] }));
      expect(again.Messages ?? []).toEqual([]);
      dead = (await sqs.send(new ReceiveMessageCommand({ QueueUrl: queue.dlqUrl, WaitTimeSeconds: 0 }))).Messages?.[0];
    }
    expect(JSON.parse(dead.Body!)).toEqual(notifications[0]);
  });

  it('puts a duplicate notification back until the other invocation\'s lease has ended', async () => {
    const queue = await createQueues({ visibilityTimeoutSeconds: 300, maxReceiveCount: 5 });
    const text = logLines(600).join('\n') + '\n';
    const etag = await env.put(ACCESS_LOG_KEY, gzipText(text));
    await notify(queue, notifications[0]!);
    const checkpoints = new MemoryCheckpointStore();
    // Another invocation (the first delivery of the notification) holds the lease for 3 more seconds.
    const leaseUntil = Date.now() + 3_000;
    await checkpoints.claim({ bucket: BUCKET, key: ACCESS_LOG_KEY, etag }, 'first-delivery', leaseUntil);
    const handler = handlerFor({ checkpoints });
    const message = await receive(queue.url, 'the duplicate notification');
    const conflict = await invoke(handler, queue, [message], context(120_000));
    expect(conflict.failed).toEqual([message.MessageId]);
    expect(metric(conflict.lines, 'ObjectsInterrupted')).toBe(1);
    const requeued = conflict.lines.find((l) => l['message'] === 'message requeued');
    expect(requeued?.['reason']).toBe('CheckpointConflictError');
    // The lease's remaining time (up to 3 s) plus the usual 2-3 s.
    expect(requeued!['delaySeconds']).toBeGreaterThanOrEqual(2 + Math.floor((leaseUntil - Date.now()) / 1000));
    expect(requeued!['delaySeconds']).toBeLessThanOrEqual(6);
    const again = await receive(queue.url, 'the duplicate after the lease', 20);
    expect(Date.now()).toBeGreaterThanOrEqual(leaseUntil); // not before the lease ended
    expect(again.Attributes?.['ApproximateReceiveCount']).toBe('2');
    expect((await invoke(handler, queue, [again], context(120_000))).failed).toEqual([]);
    expectExactlyOnce(env.sink.records, ACCESS_LOG_KEY, text);
  });

  it('still fails the message when ChangeMessageVisibility fails (the receipt handle is stale), and logs it', async () => {
    const queue = await createQueues({ visibilityTimeoutSeconds: 300, maxReceiveCount: 5 });
    await env.put(ACCESS_LOG_KEY, gzipText(logLines(600).join('\n') + '\n'));
    await notify(queue, notifications[0]!);
    const handler = handlerFor();
    const message = await receive(queue.url, 'the notification');
    // Deleting the message makes its receipt handle invalid, so the server rejects the visibility change.
    await sqs.send(new DeleteMessageBatchCommand({ QueueUrl: queue.url, Entries: [{ Id: '0', ReceiptHandle: message.ReceiptHandle! }] }));
    const result = await invoke(handler, queue, [message], context(15_000));
    expect(result.failed).toEqual([message.MessageId]);
    expect(metric(result.lines, 'RequeueFailures')).toBe(1);
    const logged = result.lines.find((l) => l['message']?.startsWith('message not requeued'));
    expect(logged).toMatchObject({ messageId: message.MessageId, reason: 'LoadInterruptedError' });
  });
});

describe('direct delivery on a real SQS queue', () => {
  const client = new Client({ node: process.env.OPENSEARCH_URL! });
  const prefix = `test-direct-sqs-${process.pid}`;
  let work: string;
  beforeAll(async () => {
    await installTemplates(client, { indexPrefix: prefix, replicas: 0, log: () => undefined });
    work = await mkdtemp(path.join(tmpdir(), 'albatross-direct-sqs-'));
  });
  afterAll(async () => {
    await removeIndicesAndTemplates(client, prefix);
    await client.close();
    await rm(work, { recursive: true, force: true });
  });

  it('puts an object the deadline interrupted back soon, and the next delivery resumes at its checkpoint', async () => {
    const queue = await createQueues({ visibilityTimeoutSeconds: 300, maxReceiveCount: 5 });
    const key = accessLogKey('direct-deadline');
    const lines = logLines(3000, 11);
    let offset = 0;
    const documents = lines.filter((line) => {
      const kind = parseAlbLineToJson(line, { source: { bucket: BUCKET, key, offset } }).kind;
      offset += Buffer.byteLength(line) + 1;
      return kind === 'document';
    }).length;
    await env.put(key, gzipText(lines.join('\n') + '\n'));
    await notify(queue, notifications[0]!);
    // The first invocation's engine answers its first request at once and its next ones slowly, so the deadline falls mid-object.
    let slow = true;
    let requests = 0;
    const handler = handlerFor({
      direct: {
        client, indexPrefix: prefix, errors: new DirectoryErrorRecordSink(work), bulkSlots: new Semaphore(1), bulkBytes: 32 * 1024,
        retryWindowMs: 10_000, checkpointEvery: { milliseconds: 0 },
        send: async (c, body, count) => {
          if (slow && ++requests > 1) await sleep(4_000);
          return sendBulk(c, body, count);
        },
      },
    });

    const first = await receive(queue.url, 'the notification');
    // 2 s before the deadline margin (20 s) runs out.
    const interrupted = await invoke(handler, queue, [first], context(22_000));
    expect(interrupted.failed).toEqual([first.MessageId]);
    expect(metric(interrupted.lines, 'ObjectsInterrupted')).toBe(1);
    expect(metric(interrupted.lines, 'ObjectsFailed')).toBe(0);
    expect(interrupted.lines.find((l) => l['message'] === 'message requeued')).toMatchObject({ messageId: first.MessageId, reason: 'LoadInterruptedError' });

    slow = false;
    const second = await receive(queue.url, 'the requeued notification (after a 2-3 s delay)', 20);
    expect(second.Attributes?.['ApproximateReceiveCount']).toBe('2');
    const loaded = await invoke(handler, queue, [second], context(120_000));
    expect(loaded.failed).toEqual([]);
    const result = loaded.lines.find((l) => l['message'] === 'object indexed')!;
    expect(result['resumedLines']).toBeGreaterThan(0);
    expect(result['lines']).toBe(lines.length);
    expect(metric(loaded.lines, 'Lines')).toBe(lines.length - result['resumedLines']);
    await refresh(client, `${prefix}-*`);
    expect(await countDocuments(client, `${prefix}-*`, { prefix: { 'log.file.path': `s3://${BUCKET}/${key}` } })).toBe(documents);
    expect(await countDuplicates(client, `${prefix}-*`)).toBe(0);
    expect(await isEmptyNow(queue.url)).toBe(true);
  }, 120_000);
});

describe('the Lambda entry point configured by its environment', () => {
  it('derives the queue URL from the event ARN and AWS_ENDPOINT_URL_SQS, with the delay from ALBATROSS_REQUEUE_*', async () => {
    const queue = await createQueues({ visibilityTimeoutSeconds: 300, maxReceiveCount: 5 });
    await env.put(ACCESS_LOG_KEY, gzipText(logLines(600).join('\n') + '\n'));
    await notify(queue, notifications[0]!);
    // Stubbed, and restored when the test ends: the other tests, in any order, run with the usual environment.
    for (const [name, value] of Object.entries({
      ALBATROSS_DELIVERY_STREAM: 'alb-logs',
      ALBATROSS_REQUEUE_MIN_SECONDS: '2',
      ALBATROSS_REQUEUE_JITTER_SECONDS: '0',
      AWS_REGION: server.region,
      AWS_ACCESS_KEY_ID: CREDENTIALS.accessKeyId,
      AWS_SECRET_ACCESS_KEY: CREDENTIALS.secretAccessKey,
      AWS_ENDPOINT_URL_S3: env.localS3.endpoint,
      AWS_ENDPOINT_URL_FIREHOSE: env.localFirehose.endpoint,
      AWS_ENDPOINT_URL_SQS: server.endpoint,
      POWERTOOLS_METRICS_DISABLED: 'true',
    })) vi.stubEnv(name, value);
    onTestFinished(() => { vi.unstubAllEnvs(); });
    vi.resetModules();
    const { handler } = await import('../../../transform/loader/handler.ts');
    const first = await receive(queue.url, 'the notification');
    const interrupted = await invoke(handler, queue, [first], context(15_000));
    expect(interrupted.failed).toEqual([first.MessageId]);
    expect(interrupted.lines.find((l) => l['message'] === 'message requeued')).toMatchObject({ delaySeconds: 2, reason: 'LoadInterruptedError' });
    const second = await receive(queue.url, 'the requeued notification (after 2 s)', 20);
    expect(second.Attributes?.['ApproximateReceiveCount']).toBe('2');
    expect((await invoke(handler, queue, [second], context(120_000))).failed).toEqual([]);
    expect(env.sink.records).toHaveLength(600);
  });
});
