// The loader Lambda shell: SQS batches of S3 notifications (as the local S3 emits them for real
// PutObjects), routing by key, partial batch failures, logs and metrics on stdout.
import type { Context, SQSEvent, SQSRecord } from 'aws-lambda';
import { DeleteObjectCommand } from '@aws-sdk/client-s3';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createLogger, createMetrics, SERVICE_NAMES } from '../../../transform/observability.ts';
import { MemoryCheckpointStore } from '../../../transform/loader/checkpoint.ts';
import { MemoryFailureSink } from '../../../transform/loader/failures.ts';
import { createHandler, decodeS3Key } from '../../../transform/loader/handler.ts';
import type { S3EventNotification } from '../../../scripts/local/s3-server.ts';
import { ACCESS_LOG_KEY, BUCKET, STREAM, accessLogKey, expectExactlyOnce, gzipText, logLines, startStandIns, type StandIns } from './harness.ts';

let env: StandIns;
const notifications: S3EventNotification[] = [];
beforeEach(async () => {
  notifications.length = 0;
  env = await startStandIns({ onObjectCreated: (n) => notifications.push(n) });
});
afterEach(async () => { await env.stop(); });

const context = {
  functionName: 'albatross-loader', awsRequestId: 'test-request', getRemainingTimeInMillis: () => 300_000,
} as unknown as Context;

function sqsRecord(messageId: string, body: unknown): SQSRecord {
  return {
    messageId, receiptHandle: `handle-${messageId}`, body: typeof body === 'string' ? body : JSON.stringify(body),
    attributes: { ApproximateReceiveCount: '1', SentTimestamp: '0', SenderId: 's3', ApproximateFirstReceiveTimestamp: '0' },
    messageAttributes: {}, md5OfBody: '', eventSource: 'aws:sqs', eventSourceARN: 'arn:aws:sqs:us-east-2:123456789012:alb-logs', awsRegion: 'us-east-2',
  };
}

function handlerUnderTest() {
  return createHandler({
    s3: env.s3, firehose: env.firehose, deliveryStream: STREAM,
    checkpoints: new MemoryCheckpointStore(), failures: new MemoryFailureSink(),
    logger: createLogger(SERVICE_NAMES.loader), metrics: createMetrics(SERVICE_NAMES.loader),
    retry: { baseDelayMs: 1, maxDelayMs: 10, maxRetryTimeMs: 5_000 },
  });
}

/** Runs the handler, returning its response and the JSON lines (logs, EMF metrics) it printed. */
async function invoke(handler: ReturnType<typeof createHandler>, event: SQSEvent) {
  const printed: string[] = [];
  const capture = (chunk: string | Uint8Array): boolean => {
    printed.push(chunk.toString());
    return true;
  };
  // Powertools writes logs and EMF metrics to stdout, errors to stderr.
  const spies = [vi.spyOn(process.stdout, 'write').mockImplementation(capture), vi.spyOn(process.stderr, 'write').mockImplementation(capture)];
  try {
    const response = await handler(event, context);
    const lines = printed.join('').split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Record<string, any>);
    return { response, lines };
  } finally {
    for (const spy of spies) spy.mockRestore();
  }
}

function metricSum(lines: Array<Record<string, any>>, name: string): number {
  return lines.filter((l) => l['_aws']).reduce((sum, l) => sum + (typeof l[name] === 'number' ? l[name] : Array.isArray(l[name]) ? l[name].reduce((a: number, b: number) => a + b, 0) : 0), 0);
}

describe('decodeS3Key', () => {
  it('turns + into a space and decodes %XX, so a literal + arrives as %2B', () => {
    expect(decodeS3Key('alb+logs%2B2024/%C3%A9t%C3%A9%25/x.log.gz')).toBe('alb logs+2024/été%/x.log.gz');
  });
});

describe('loader handler', () => {
  it('loads access logs, skips other objects and test events, and reports only the failed messages', async () => {
    const goodKey = `alb logs+2024 été%/${ACCESS_LOG_KEY}`;
    const goodText = logLines(1500).join('\n') + '\n';
    await env.put(goodKey, gzipText(goodText));
    await env.put(accessLogKey('zerobyte'), Buffer.alloc(0));
    const truncated = gzipText(logLines(3000).join('\n') + '\n');
    await env.put(accessLogKey('truncated'), truncated.subarray(0, truncated.length >> 1));
    const skippedKeys = [
      ACCESS_LOG_KEY.replace(/[^/]+$/, (name) => `conn_log.${name}`),
      ACCESS_LOG_KEY.replace(/[^/]+$/, (name) => `conn_log_${name}`),
      ACCESS_LOG_KEY.replace(/[^/]+$/, (name) => `health_check_log_${name}`),
      ACCESS_LOG_KEY.replace('_app.', '_net.'),
      'AWSLogs/123456789012/ELBAccessLogTestFile',
      'notes/readme.txt',
    ];
    for (const key of skippedKeys) await env.put(key, gzipText(logLines(3).join('\n')));
    expect(notifications).toHaveLength(3 + skippedKeys.length);
    expect(notifications[0]!.Records[0]!.s3.object.key).toContain('alb+logs%2B2024+%C3%A9t%C3%A9%25/');

    const event: SQSEvent = {
      Records: [
        sqsRecord('test-event', { Service: 'Amazon S3', Event: 's3:TestEvent', Time: '2026-01-01T00:00:00Z', Bucket: BUCKET, RequestId: 'r', HostId: 'h' }),
        ...notifications.map((n, i) => sqsRecord(`object-${i}`, n)),
        sqsRecord('not-json', '{"Records": ['),
        // S3 -> SNS -> SQS: the notification arrives inside an SNS envelope.
        sqsRecord('via-sns', { Type: 'Notification', MessageId: 'sns-1', TopicArn: 'arn:aws:sns:us-east-2:123456789012:alb-logs', Message: JSON.stringify(notifications[0]) }),
        sqsRecord('removed', { Records: [{ ...notifications[0]!.Records[0]!, eventName: 'ObjectRemoved:Delete' }] }),
      ],
    };
    const handler = handlerUnderTest();
    const { response, lines } = await invoke(handler, event);
    expect(response.batchItemFailures.map((f) => f.itemIdentifier).sort()).toEqual(['not-json', 'object-2']);
    expectExactlyOnce(env.sink.records, goodKey, goodText);
    // The truncated object's complete lines went out before the corruption was found; nothing else.
    const others = env.sink.records.length - 1500;
    expect(others).toBeGreaterThan(0);
    expect(others).toBeLessThan(3000);

    const skipped = lines.filter((l) => l['message'] === 'object skipped');
    expect(skipped.map((l) => l['reason']).sort()).toEqual([
      // this loader has only an access-log stream (routing to the others: handler-log-types.test.ts)
      'connection log: no delivery stream for this log type', 'connection log: no delivery stream for this log type',
      'health-check log: no delivery stream for this log type', 'ELB access-log test file written when logging is enabled',
      'Network Load Balancer log', 'event ObjectRemoved:Delete', 'not an Elastic Load Balancing log file name',
    ].sort());
    expect(metricSum(lines, 'ObjectsSkipped')).toBe(7);
    expect(metricSum(lines, 'ObjectsLoaded')).toBe(2);
    expect(metricSum(lines, 'ObjectsAlreadyLoaded')).toBe(1); // the SNS copy of the first object
    expect(metricSum(lines, 'ObjectsFailed')).toBe(1);
    expect(metricSum(lines, 'TestEvents')).toBe(1);
    expect(metricSum(lines, 'RecordsSent')).toBe(env.sink.records.length);
    const failure = lines.find((l) => l['message'] === 'object load failed');
    expect(failure?.['error']?.['message']).toMatch(/truncated or corrupt/);

    // SQS redelivers the whole batch: nothing already accepted is sent again.
    const before = env.sink.records.length;
    const again = await invoke(handler, event);
    expect(again.response.batchItemFailures.map((f) => f.itemIdentifier).sort()).toEqual(['not-json', 'object-2']);
    expect(env.sink.records.length).toBe(before);
    expect(metricSum(again.lines, 'ObjectsAlreadyLoaded')).toBe(3);
  });

  it('skips an object deleted before it was loaded (NoSuchKey) instead of failing the message', async () => {
    await env.put(ACCESS_LOG_KEY, gzipText(logLines(10).join('\n') + '\n'));
    await env.s3.send(new DeleteObjectCommand({ Bucket: BUCKET, Key: ACCESS_LOG_KEY }));
    const { response, lines } = await invoke(handlerUnderTest(), { Records: [sqsRecord('gone', notifications[0]!)] });
    expect(response.batchItemFailures).toEqual([]);
    expect(env.sink.records).toHaveLength(0);
    expect(metricSum(lines, 'ObjectsMissing')).toBe(1);
    expect(metricSum(lines, 'ObjectsSkipped')).toBe(1);
    expect(metricSum(lines, 'ObjectsFailed')).toBe(0);
    expect(lines.find((l) => l['message'] === 'object skipped')).toMatchObject({
      bucket: BUCKET, key: ACCESS_LOG_KEY, reason: 'object no longer exists (NoSuchKey)',
    });
  });

  it('fails the message and lets SQS retry when Firehose stays unavailable', async () => {
    const text = logLines(600).join('\n') + '\n';
    await env.put(ACCESS_LOG_KEY, gzipText(text));
    env.localFirehose.setFaults({ throttleRate: 1 });
    const handler = createHandler({
      s3: env.s3, firehose: env.firehose, deliveryStream: STREAM,
      checkpoints: new MemoryCheckpointStore(), failures: new MemoryFailureSink(),
      logger: createLogger(SERVICE_NAMES.loader), metrics: createMetrics(SERVICE_NAMES.loader),
      // Retries with 1-5 ms delays for 3 s: many throttled calls on any machine, then the message fails.
      retry: { baseDelayMs: 1, maxDelayMs: 5, maxRetryTimeMs: 3_000 },
    });
    const event: SQSEvent = { Records: [sqsRecord('m1', notifications[0]!)] };
    const first = await invoke(handler, event);
    expect(first.response.batchItemFailures).toEqual([{ itemIdentifier: 'm1' }]);
    expect(metricSum(first.lines, 'Throttles')).toBeGreaterThan(1);
    env.localFirehose.setFaults({});
    const second = await invoke(handler, event);
    expect(second.response.batchItemFailures).toEqual([]);
    expectExactlyOnce(env.sink.records, ACCESS_LOG_KEY, text);
  });
});
