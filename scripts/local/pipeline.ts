// The whole production path on one machine: generated ALB objects in a local S3 (s3rver), S3-style
// ObjectCreated notifications delivered as SQS events to the REAL loader handler, which streams
// each object into the local Firehose endpoint through the real AWS SDK client; one local delivery
// stream per log type (access, connection, health, as in the stack) runs the REAL transform
// handler and `_bulk`s into that type's daily indices. With `delivery: 'direct'` the same loader
// handler bulk-indexes each object itself into its type's indices (no Firehose, no transform),
// with faults injected into its `_bulk` calls instead. When everything has
// drained, the run is accounted for from the engine itself: every generated line must be one
// indexed document or one preserved failure (or a deliberate skip).
// With an engine outage, the engine refuses every `_bulk` into the run's access-log indices for a while
// (engine-outage.ts) once documents flow; the local stream's retry window is shorter than the
// outage, so documents end in the backup folder, and after the outage the replay the replayer
// Lambda runs (scripts/backfill/replay.ts) brings them back.
import { folderBackupStore } from '../backfill/backup-store.ts';
import { replayDeliveryFailures, type ReplaySummary } from '../backfill/replay.ts';
import { startEngineOutage, type EngineOutage } from './engine-outage.ts';
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { setTimeout as sleep } from 'node:timers/promises';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import type { Client } from '@opensearch-project/opensearch';
import type { SQSEvent, SQSRecord } from 'aws-lambda';
import { createTransformHandler } from '../../transform/firehose-transform/handler.ts';
import { LOG_TYPE_SPECS, LOG_TYPES, logTypeOfKey, type LogType } from '../../transform/log-types.ts';
import { createHandler as createLoaderHandler } from '../../transform/loader/handler.ts';
import { MemoryCheckpointStore } from '../../transform/loader/checkpoint.ts';
import { DirectoryFailureSink } from '../../transform/loader/failures.ts';
import type { DirectLoadResult } from '../../transform/loader/direct.ts';
import { sharedEnricher } from '../../transform/enrich/data.ts';
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
import { countByType, generateObjects, type GenerateOptions } from './generator.ts';
import { countDocuments, countDuplicates, fromSource, indexCounts, refresh, type IndexCount } from './report.ts';
import { LOCAL_S3_CREDENTIALS, startLocalS3, type S3EventNotification } from './s3-server.ts';

export interface PipelineOptions {
  client: Client;
  /** firehose (default): loader -> local Firehose -> transform -> engine; direct: the loader bulk-indexes. */
  delivery?: 'firehose' | 'direct';
  /** Access-log index prefix. */
  indexPrefix: string;
  /** Connection- and health-check-log index prefixes; default alb-connection, alb-health. */
  indexPrefixes?: Partial<Record<Exclude<LogType, 'access'>, string>>;
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
  /**
   * The engine refuses every `_bulk` into <prefix>-* for this long, from the first document indexed;
   * the stream's retry window is then a quarter of it, and the replay runs after the outage.
   */
  engineOutageMs?: number;
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
  /** The same accounting per log type (its own indices, stream and failures). */
  byType: Record<LogType, TypeAccount>;
  /** What Firehose ingestion would bill for these lines: every record (envelope + line) rounded up to 5 KB. */
  firehoseBilling: { records: number; rawBytes: number; billedBytes: number };
  /** Direct delivery's injected faults: `_bulk` requests answered 429 as a whole, items rejected with 429. */
  bulkFaults: { requests: number; throttled: number; rejectedItems: number };
  firehose: { calls: number; throttled: number; recordsAccepted: number; recordsFailed: number };
  delivery: Omit<DeliveryStats, 'backupFiles'> & { backupFiles: number };
  /** With engineOutageMs: how long writes were blocked, and what the replay after it did. */
  outage?: { seconds: number; retryWindowSeconds: number; replay: ReplaySummary };
  /** Documents the replay brought back from the backup (part of `indexed`, no longer part of `failed`). */
  replayed: number;
}

export interface TypeAccount {
  indexPrefix: string;
  objects: number;
  lines: number;
  indexed: number;
  failed: number;
  skipped: number;
  unaccounted: number;
  duplicates: number;
  indices: IndexCount[];
}

/** The local delivery stream of each log type (the loader's stream names). */
export const LOCAL_STREAMS: Readonly<Record<LogType, string>> = {
  access: 'albatross-local',
  connection: 'albatross-local-connection',
  health: 'albatross-local-health',
};

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
  const prefixes: Record<LogType, string> = {
    access: options.indexPrefix,
    connection: options.indexPrefixes?.connection ?? LOG_TYPE_SPECS.connection.defaultIndexPrefix,
    health: options.indexPrefixes?.health ?? LOG_TYPE_SPECS.health.defaultIndexPrefix,
  };
  const outageMs = options.engineOutageMs ?? 0;
  // Shorter than the outage, so documents reach the backup as they do on AWS when an outage outlasts RetryOptions.
  const retryDurationMs = outageMs > 0 ? Math.max(1_000, Math.floor(outageMs / 4)) : undefined;
  // One delivery stream per log type, each with its own transform and index family (as in the stack).
  const streams = new Map(LOG_TYPES.map((type) => [type, new DeliveryStream({
    client: options.client,
    transform: createTransformHandler(type),
    logType: type,
    indexPrefix: prefixes[type],
    backupDirectory,
    seed: options.generate.seed,
    ...(options.bulkRejectRate ? { bulkRejectRate: options.bulkRejectRate } : {}),
    ...(options.bufferSizeBytes ? { bufferSizeBytes: options.bufferSizeBytes } : {}),
    ...(options.bufferIntervalMs !== undefined ? { bufferIntervalMs: options.bufferIntervalMs } : {}),
    ...(options.deliveryConcurrency ? { concurrency: options.deliveryConcurrency } : {}),
    ...(retryDurationMs !== undefined ? { retryDurationMs } : {}),
  })] as const));
  const accessStream = streams.get('access')!;
  const byStreamName = new Map(LOG_TYPES.map((type) => [LOCAL_STREAMS[type], streams.get(type)!]));
  let outage: EngineOutage | undefined;
  let outageStarting: Promise<EngineOutage> | undefined;
  const startOutage = () => (outageStarting ??= startEngineOutage(options.client, options.indexPrefix, outageMs).then((o) => (outage = o)));
  // The outage starts while documents flow: as soon as the first access-log document is indexed (its index exists).
  const outageWatch = outageMs > 0 ? setInterval(() => void (accessStream.stats.indexed > 0 && startOutage()), 20) : undefined;
  const bulkFaults = faultyBulkSender({ throttleRate: options.throttleRate ?? 0, rejectRate: options.bulkRejectRate ?? 0, seed: options.generate.seed });
  // Direct delivery: what the loader's parse and bulk left as failures, per log type, from each object's final result (a redelivered object reports once).
  const directCounts = Object.fromEntries(LOG_TYPES.map((type) => [type, { skipped: 0, parseFailed: 0, refused: 0, tooLong: 0 }])) as
    Record<LogType, { skipped: number; parseFailed: number; refused: number; tooLong: number }>;
  if (direct && outageMs > 0) throw new Error('engineOutageMs applies to Firehose delivery (the direct loader fails the object and resumes it at its checkpoint instead)');
  const firehoseServer = await startLocalFirehose({
    streams: [...byStreamName.keys()],
    sink: { accept: (streamName, records) => byStreamName.get(streamName)!.accept(streamName, records) },
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
  const emptyLinesByType: Record<LogType, number> = { access: 0, connection: 0, health: 0 };
  const enrich = direct ? sharedEnricher() : undefined;
  const loader = createLoaderHandler({
    s3,
    ...(direct
      ? {
          direct: {
            client: options.client,
            indexPrefix: options.indexPrefix,
            indexPrefixes: { connection: prefixes.connection, health: prefixes.health },
            errors: new DirectoryErrorRecordSink(backupDirectory),
            // As the Lambda's: the enrichment ALBATROSS_ENRICH asks for, the transform's in the Firehose mode.
            ...(enrich ? { enrich } : {}),
            bulkSlots: new Semaphore(Math.max(1, options.deliveryConcurrency ?? 2)),
            retryWindowMs: 300_000,
            send: bulkFaults.send,
            onLoaded: (result: DirectLoadResult) => {
              const counts = directCounts[logTypeOfKey(result.object.key) ?? 'access'];
              counts.skipped += result.skipped;
              counts.parseFailed += result.parseFailed;
              counts.refused += result.refused;
              counts.tooLong += result.tooLong;
            },
          },
        }
      : { firehose, deliveryStreams: LOCAL_STREAMS }),
    checkpoints: new MemoryCheckpointStore(),
    failures: new DirectoryFailureSink(loaderFailureDirectory),
    logger,
    metrics: createMetrics(SERVICE_NAMES.loader),
    concurrency: 4,
    retry: { maxRetryTimeMs: 120_000 },
    onObjectLoaded: (result) => {
      emptyLines += result.emptyLines;
      emptyLinesByType[logTypeOfKey(result.object.key) ?? 'access'] += result.emptyLines;
    },
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
          const sent = [...streams.values()].reduce((sum, stream) => sum + stream.stats.recordsReceived, 0);
          const indexedSoFar = [...streams.values()].reduce((sum, stream) => sum + stream.stats.indexed, 0);
          options.onProgress?.({ objectsLoaded, objects: objects.length, linesSent: sent, indexed: indexedSoFar });
        }
        processing--;
      }
    };
    await Promise.all(Array.from({ length: Math.max(1, options.loaderConcurrency ?? 2) }, worker));
    await uploads;
    await Promise.all([...streams.values()].map((stream) => stream.drain()));
    let outageSummary: PipelineResult['outage'];
    if (outageMs > 0) {
      clearInterval(outageWatch);
      const blocked = await startOutage();
      await blocked.ended;
      // What the scheduled replayer does once the domain takes writes again.
      const replay = await replayDeliveryFailures({
        client: options.client, store: folderBackupStore(backupDirectory), indexPrefix: options.indexPrefix,
        indexPrefixes: { connection: prefixes.connection, health: prefixes.health },
      });
      outageSummary = { seconds: outageMs / 1000, retryWindowSeconds: retryDurationMs! / 1000, replay };
    }
    const replayed = outageSummary?.replay.documentsReplayed ?? 0;
    const seconds = (performance.now() - started) / 1000;
    const cpu = process.cpuUsage(cpuStarted);
    const cpuSeconds = (cpu.user + cpu.system) / 1e6;

    // Accounted for from the engine, type by type: each family's indices, stream and failures.
    const scope = fromSource(`s3://${bucket}/`);
    const loaderFailedByType = await countLoaderFailures(loaderFailureDirectory);
    const generated = countByType(objects);
    const byType = {} as Record<LogType, TypeAccount>;
    for (const type of LOG_TYPES) {
      const pattern = `${prefixes[type]}-*`;
      await refresh(options.client, pattern);
      const stats = streams.get(type)!.stats;
      const typeIndexed = await countDocuments(options.client, pattern, scope);
      // Replayed documents were backed up (deliveryFailed), then indexed: they count once, as indexed.
      const typeFailed = direct
        ? directCounts[type].parseFailed + directCounts[type].refused + loaderFailedByType[type]
        : stats.processingFailed + stats.deliveryFailed - (type === 'access' ? replayed : 0) + loaderFailedByType[type];
      const typeSkipped = direct ? directCounts[type].skipped : emptyLinesByType[type] + stats.dropped;
      byType[type] = {
        indexPrefix: prefixes[type],
        objects: generated[type].objects,
        lines: generated[type].lines,
        indexed: typeIndexed,
        failed: typeFailed,
        skipped: typeSkipped,
        unaccounted: generated[type].lines - typeIndexed - typeFailed - typeSkipped,
        duplicates: await countDuplicates(options.client, pattern, scope),
        indices: await indexCounts(options.client, pattern, scope),
      };
    }
    const sum = (pick: (account: TypeAccount) => number) => LOG_TYPES.reduce((total, type) => total + pick(byType[type]), 0);
    const indexed = sum((t) => t.indexed);
    const duplicates = sum((t) => t.duplicates);
    const indices = LOG_TYPES.flatMap((type) => byType[type].indices);
    const loaderFailed = LOG_TYPES.reduce((total, type) => total + loaderFailedByType[type], 0);
    const deliveryCounts = sumStats([...streams.values()].map((stream) => stream.stats));
    const processingFailed = direct ? LOG_TYPES.reduce((total, type) => total + directCounts[type].parseFailed, 0) : deliveryCounts.processingFailed;
    const deliveryFailed = direct ? LOG_TYPES.reduce((total, type) => total + directCounts[type].refused, 0) : deliveryCounts.deliveryFailed;
    const failed = sum((t) => t.failed);
    const skipped = sum((t) => t.skipped);
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
      byType,
      firehoseBilling: firehoseBilling(objects),
      bulkFaults: { ...bulkFaults.stats },
      firehose: { ...firehoseServer.stats },
      delivery: deliveryCounts,
      ...(outageSummary ? { outage: outageSummary } : {}),
      replayed,
    };
  } finally {
    clearInterval(outageWatch);
    // A failed run must not leave the indices blocked.
    await (outage ?? (await outageStarting?.catch(() => undefined)))?.stop();
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

/** The loader's failure records per log type (of the object each line came from). */
async function countLoaderFailures(directory: string): Promise<Record<LogType, number>> {
  const counts: Record<LogType, number> = { access: 0, connection: 0, health: 0 };
  let entries;
  try {
    entries = await readdir(directory, { recursive: true, withFileTypes: true });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return counts;
    throw error;
  }
  for (const entry of entries.filter((e) => e.isFile() && e.name.endsWith('.json'))) {
    const record = JSON.parse(await readFile(path.join(entry.parentPath, entry.name), 'utf8')) as { source?: { key?: string } };
    counts[logTypeOfKey(record.source?.key ?? '') ?? 'access']++;
  }
  return counts;
}

/** The delivery streams' counters added up (backup files as a count). */
function sumStats(all: DeliveryStats[]): PipelineResult['delivery'] {
  const total: PipelineResult['delivery'] = {
    recordsReceived: 0, invocations: 0, invocationRetries: 0, ok: 0, dropped: 0, processingFailed: 0, indexed: 0,
    deliveryFailed: 0, bulkRequests: 0, bulkRetries: 0, itemRetries: 0, injectedRejections: 0, backupFiles: 0,
  };
  for (const stats of all) {
    for (const key of Object.keys(total) as (keyof typeof total)[]) {
      total[key] += key === 'backupFiles' ? stats.backupFiles.length : stats[key];
    }
  }
  return total;
}
