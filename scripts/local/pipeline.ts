// The whole production path on one machine: generated ALB objects in a local S3 (s3rver), S3-style
// ObjectCreated notifications delivered as SQS events to the REAL loader handler, which streams
// each object into the local Firehose endpoint through the real AWS SDK client; the local delivery
// stream runs the REAL transform handler and `_bulk`s into the engine. With `delivery: 'direct'`
// the same loader handler bulk-indexes each object itself (no Firehose, no transform), with faults
// injected into its `_bulk` calls instead. When everything has
// drained, the run is accounted for from the engine itself: every generated line must be one
// indexed document or one preserved failure (or a deliberate skip).
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { setTimeout as sleep } from 'node:timers/promises';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import type { Client } from '@opensearch-project/opensearch';
import type { SQSEvent, SQSRecord } from 'aws-lambda';
import { handler as transformHandler } from '../../transform/firehose-transform/handler.ts';
import { createHandler as createLoaderHandler } from '../../transform/loader/handler.ts';
import { MemoryCheckpointStore } from '../../transform/loader/checkpoint.ts';
import { DirectoryFailureSink } from '../../transform/loader/failures.ts';
import type { DirectLoadResult } from '../../transform/loader/direct.ts';
import { DirectoryErrorRecordSink } from '../../transform/loader/error-records.ts';
import { envelopePrefix, envelopeRecordLength } from '../../transform/envelope.ts';
import { Semaphore } from '../../transform/semaphore.ts';
import { firehoseBilledBytes } from '../cost/model.ts';
import { faultyBulkSender } from './bulk-faults.ts';
import { createFirehoseClient } from '../../transform/loader/firehose-client.ts';
import { createLogger, createMetrics, SERVICE_NAMES } from '../../transform/observability.ts';
import { DeliveryStream, type DeliveryStats } from './delivery-stream.ts';
import { lambdaContext } from './lambda-context.ts';
import { startLocalFirehose } from './firehose-server.ts';
import { generateObjects, type GenerateOptions } from './generator.ts';
import { countDocuments, countDuplicates, fromSource, indexCounts, refresh, type IndexCount } from './report.ts';
import { LOCAL_S3_CREDENTIALS, startLocalS3, type S3EventNotification } from './s3-server.ts';

export interface PipelineOptions {
  client: Client;
  /** firehose (default): loader -> local Firehose -> transform -> engine; direct: the loader bulk-indexes. */
  delivery?: 'firehose' | 'direct';
  indexPrefix: string;
  generate: GenerateOptions;
  /** Working folder for the S3 data and the backup folders; default a new temporary folder. */
  workDirectory?: string;
  /** Fraction of PutRecordBatch calls throttled / partially failed by the local Firehose (direct: `_bulk` requests answered 429). */
  throttleRate?: number;
  partialFailureRate?: number;
  /** Fraction of bulk items rejected with 429 by the delivery stream. */
  bulkRejectRate?: number;
  /** Loader "Lambda instances" working at once (one SQS message each). */
  loaderConcurrency?: number;
  /** Delivery stream settings (buffering, deliveries in flight). */
  bufferSizeBytes?: number;
  bufferIntervalMs?: number;
  deliveryConcurrency?: number;
  onProgress?: (event: PipelineProgress) => void;
}

export interface PipelineProgress {
  objectsLoaded: number;
  objects: number;
  linesSent: number;
  indexed: number;
}

export interface PipelineResult {
  mode: 'firehose' | 'direct';
  bucket: string;
  objects: number;
  lines: number;
  bytes: number;            // uncompressed bytes generated
  /** Documents in the engine from this run (counted there, not from bulk responses). */
  indexed: number;
  failed: number;
  /** Empty lines (the loader never sends them) plus lines the transform dropped. */
  skipped: number;
  /** Empty lines the loader skipped, counted from its per-object results (part of `skipped`). */
  emptyLines: number;
  /** lines - indexed - failed - skipped: 0 unless an object ended in the dead-letter queue. */
  unaccounted: number;
  duplicates: number;
  indices: IndexCount[];
  /** Generation excluded: from the first upload to the last document accounted for. */
  seconds: number;
  /** CPU time of this Node process (all stand-ins, loader, transform) over `seconds`. */
  cpuSeconds: number;
  failures: {
    processingFailed: number;   // transform said ProcessingFailed: raw line in the backup folder
    deliveryFailed: number;     // OpenSearch refused past the retry window: document in the backup folder
    loaderFailed: number;       // lines the loader could not send (over Firehose's record limit)
    objectsFailed: number;      // objects whose SQS message ended in the dead-letter queue
    backupDirectory: string;    // errors/processing-failed/..., errors/AmazonOpenSearchService-failed/...
    loaderFailureDirectory: string;
  };
  generatedBadLines: number;
  /** What Firehose ingestion would bill for these lines: every record (envelope + line) rounded up to 5 KB. */
  firehoseBilling: { records: number; rawBytes: number; billedBytes: number };
  /** Direct delivery's injected faults: `_bulk` requests answered 429 as a whole, items rejected with 429. */
  bulkFaults: { requests: number; throttled: number; rejectedItems: number };
  firehose: { calls: number; throttled: number; recordsAccepted: number; recordsFailed: number };
  delivery: Omit<DeliveryStats, 'backupFiles'> & { backupFiles: number };
}

/** SQS redrive: after this many receives a message goes to the dead-letter queue. */
const MAX_RECEIVE_COUNT = 5;
const REGION = 'us-east-1';

function sqsRecord(body: unknown, receiveCount: number): SQSRecord {
  const text = JSON.stringify(body);
  const now = String(Date.now());
  return {
    messageId: randomUUID(),
    receiptHandle: randomBytes(16).toString('base64'),
    body: text,
    attributes: { ApproximateReceiveCount: String(receiveCount), SentTimestamp: now, SenderId: 'AIDAS3EVENTS', ApproximateFirstReceiveTimestamp: now },
    messageAttributes: {},
    md5OfBody: '',
    eventSource: 'aws:sqs',
    eventSourceARN: `arn:aws:sqs:${REGION}:123456789012:albatross-objects`,
    awsRegion: REGION,
  };
}

export async function runPipeline(options: PipelineOptions): Promise<PipelineResult> {
  const workDirectory = options.workDirectory ?? (await mkdtemp(path.join(tmpdir(), 'albatross-pipeline-')));
  const backupDirectory = path.join(workDirectory, 'firehose-backup');
  const loaderFailureDirectory = path.join(workDirectory, 'loader-failed');
  // A bucket of its own per run: documents are scoped by log.file.path = s3://<bucket>/..., so a
  // reused engine with older data still accounts exactly for this run.
  const bucket = `albatross-${randomBytes(5).toString('hex')}`;
  const objects = [...generateObjects(options.generate)];
  const direct = options.delivery === 'direct';
  const generatedLines = objects.reduce((sum, o) => sum + o.lines, 0);
  const generatedBadLines = objects.reduce((sum, o) => sum + o.badLines, 0);

  // The SQS queue. S3 sends a test event when a notification configuration is created (the loader
  // must ignore it), then the stand-in emits the ObjectCreated notification S3 would send for each
  // PutObject, while the uploads go on.
  const queue: { body: unknown; receives: number }[] = [{ body: { Service: 'Amazon S3', Event: 's3:TestEvent', Bucket: bucket }, receives: 0 }];
  let notifications = 0;
  const s3Server = await startLocalS3({
    directory: path.join(workDirectory, 's3'),
    buckets: [bucket],
    onObjectCreated: (notification: S3EventNotification) => {
      notifications++;
      queue.push({ body: notification, receives: 0 });
    },
  });
  const delivery = new DeliveryStream({
    client: options.client,
    transform: transformHandler,
    indexPrefix: options.indexPrefix,
    backupDirectory,
    seed: options.generate.seed,
    ...(options.bulkRejectRate ? { bulkRejectRate: options.bulkRejectRate } : {}),
    ...(options.bufferSizeBytes ? { bufferSizeBytes: options.bufferSizeBytes } : {}),
    ...(options.bufferIntervalMs !== undefined ? { bufferIntervalMs: options.bufferIntervalMs } : {}),
    ...(options.deliveryConcurrency ? { concurrency: options.deliveryConcurrency } : {}),
  });
  const bulkFaults = faultyBulkSender({ throttleRate: options.throttleRate ?? 0, rejectRate: options.bulkRejectRate ?? 0, seed: options.generate.seed });
  // Direct delivery: what the loader's parse and bulk left as failures, from each object's final result (a redelivered object reports once).
  const directCounts = { skipped: 0, parseFailed: 0, refused: 0, tooLong: 0 };
  const firehoseServer = await startLocalFirehose({
    sink: delivery,
    faults: { throttleRate: options.throttleRate ?? 0, partialFailureRate: options.partialFailureRate ?? 0, seed: options.generate.seed },
  }).catch(async (error: unknown) => {
    await s3Server.stop();
    throw error;
  });
  const s3 = new S3Client({ endpoint: s3Server.endpoint, forcePathStyle: true, region: REGION, credentials: LOCAL_S3_CREDENTIALS });
  // The loader owns retries (as in its Lambda): the SDK client makes one attempt per call. The
  // local Firehose accepts any credentials; the S3 placeholder pair will do.
  const firehose = createFirehoseClient({ endpoint: firehoseServer.endpoint, region: REGION, credentials: LOCAL_S3_CREDENTIALS, maxAttempts: 1 });
  const logger = createLogger(SERVICE_NAMES.loader);
  // The loader never sends empty lines; its result for each object says how many it skipped
  // (an object is reported once: a redelivered one is already-loaded).
  let emptyLines = 0;
  const loader = createLoaderHandler({
    s3,
    ...(direct
      ? {
          direct: {
            client: options.client,
            indexPrefix: options.indexPrefix,
            errors: new DirectoryErrorRecordSink(backupDirectory),
            bulkSlots: new Semaphore(Math.max(1, options.deliveryConcurrency ?? 2)),
            retryWindowMs: 300_000,
            send: bulkFaults.send,
            onLoaded: (result: DirectLoadResult) => {
              directCounts.skipped += result.skipped;
              directCounts.parseFailed += result.parseFailed;
              directCounts.refused += result.refused;
              directCounts.tooLong += result.tooLong;
            },
          },
        }
      : { firehose, deliveryStream: 'albatross-local' }),
    checkpoints: new MemoryCheckpointStore(),
    failures: new DirectoryFailureSink(loaderFailureDirectory),
    logger,
    metrics: createMetrics(SERVICE_NAMES.loader),
    concurrency: 4,
    retry: { maxRetryTimeMs: 120_000 },
    onObjectLoaded: (result) => void (emptyLines += result.emptyLines),
  });

  try {
    const started = performance.now();
    const cpuStarted = process.cpuUsage();
    let uploaded = false;
    const uploads = (async () => {
      for (const object of objects) await s3.send(new PutObjectCommand({ Bucket: bucket, Key: object.key, Body: object.body }));
      for (let waited = 0; notifications < objects.length; waited += 10) {
        if (waited > 10_000) throw new Error(`local S3 sent ${notifications} notifications for ${objects.length} objects`);
        await sleep(10);
      }
      uploaded = true;
    })();

    // Lambda instances polling the queue: one message per invocation; a failed message becomes
    // visible again and is retried until MAX_RECEIVE_COUNT, then dead-lettered.
    let objectsFailed = 0;
    let objectsLoaded = 0;
    let processing = 0;
    let uploadError: unknown;
    uploads.catch((error: unknown) => (uploadError = error));
    const worker = async () => {
      for (;;) {
        const message = queue.shift();
        if (message === undefined) {
          // Done when every object is uploaded and no message is out (a failed one comes back).
          if (uploadError !== undefined) throw uploadError;
          if (uploaded && processing === 0) return;
          await sleep(5);
          continue;
        }
        processing++;
        message.receives++;
        const response = await loader({ Records: [sqsRecord(message.body, message.receives)] } satisfies SQSEvent, lambdaContext('albatross-loader', { region: REGION, timeoutMs: 900_000 }));
        if (response.batchItemFailures.length > 0) {
          if (message.receives >= MAX_RECEIVE_COUNT) {
            objectsFailed++; // dead-lettered: its lines show up as unaccounted
          } else {
            queue.push(message);
          }
        } else if ((message.body as { Records?: unknown }).Records) {
          objectsLoaded++;
          options.onProgress?.({ objectsLoaded, objects: objects.length, linesSent: delivery.stats.recordsReceived, indexed: delivery.stats.indexed });
        }
        processing--;
      }
    };
    await Promise.all(Array.from({ length: Math.max(1, options.loaderConcurrency ?? 2) }, worker));
    await uploads;
    await delivery.drain();
    const seconds = (performance.now() - started) / 1000;
    const cpu = process.cpuUsage(cpuStarted);
    const cpuSeconds = (cpu.user + cpu.system) / 1e6;

    const pattern = `${options.indexPrefix}-*`;
    await refresh(options.client, pattern);
    const scope = fromSource(`s3://${bucket}/`);
    const indexed = await countDocuments(options.client, pattern, scope);
    const duplicates = await countDuplicates(options.client, pattern, scope);
    const indices = await indexCounts(options.client, pattern, scope);
    const loaderFailed = await countLoaderFailures(loaderFailureDirectory);
    const { backupFiles, ...deliveryCounts } = delivery.stats;
    const processingFailed = direct ? directCounts.parseFailed : delivery.stats.processingFailed;
    const deliveryFailed = direct ? directCounts.refused : delivery.stats.deliveryFailed;
    const failed = processingFailed + deliveryFailed + loaderFailed;
    const skipped = direct ? directCounts.skipped : emptyLines + delivery.stats.dropped;
    return {
      mode: direct ? 'direct' : 'firehose',
      bucket,
      objects: objects.length,
      lines: generatedLines,
      bytes: objects.reduce((sum, o) => sum + o.bytes, 0),
      indexed,
      failed,
      skipped,
      emptyLines,
      unaccounted: generatedLines - indexed - failed - skipped,
      duplicates,
      indices,
      seconds,
      cpuSeconds,
      failures: {
        processingFailed,
        deliveryFailed,
        loaderFailed,
        objectsFailed,
        backupDirectory,
        loaderFailureDirectory,
      },
      generatedBadLines,
      firehoseBilling: firehoseBilling(objects),
      bulkFaults: { ...bulkFaults.stats },
      firehose: { ...firehoseServer.stats },
      delivery: { ...deliveryCounts, backupFiles: backupFiles.length },
    };
  } finally {
    s3.destroy();
    firehose.destroy();
    await firehoseServer.stop();
    await s3Server.stop();
    // The objects can be generated again from the seed; the backup folders stay.
    await rm(path.join(workDirectory, 's3'), { recursive: true, force: true });
  }
}

/** Firehose's bill for the records our loader would put: each (envelope + line) rounded up to 5 KB. */
function firehoseBilling(objects: readonly { key: string; body: Buffer }[]): PipelineResult['firehoseBilling'] {
  const billing = { records: 0, rawBytes: 0, billedBytes: 0 };
  for (const object of objects) {
    const prefixLength = envelopePrefix({ bucket: 'b', key: object.key }).length;
    const text = gunzipSync(object.body);
    let offset = 0;
    while (offset < text.length) {
      let end = text.indexOf(0x0a, offset);
      if (end < 0) end = text.length;
      const length = end - offset - (end > offset && text[end - 1] === 0x0d ? 1 : 0);
      if (length > 0) {
        billing.records++;
        billing.rawBytes += length + 1;
        billing.billedBytes += firehoseBilledBytes(envelopeRecordLength(prefixLength, offset, length));
      }
      offset = end + 1;
    }
  }
  return billing;
}

async function countLoaderFailures(directory: string): Promise<number> {
  try {
    const entries = await readdir(directory, { recursive: true, withFileTypes: true });
    return entries.filter((e) => e.isFile() && e.name.endsWith('.json')).length;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return 0;
    throw error;
  }
}
