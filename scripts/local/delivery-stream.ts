// A local Firehose delivery stream with an OpenSearch destination: the FirehoseSink behind
// firehose-server.ts. It behaves like the service where it matters for correctness:
//   - buffers accepted records by size and time, then delivers the buffer;
//   - invokes the transform Lambda handler with genuine FirehoseTransformationEvents no larger
//     than the processor buffer the stack configures, retrying failed invocations;
//   - `_bulk`s Ok documents into <prefix>-YYYY-MM-DD by ARRIVAL date (UTC; IndexRotationPeriod
//     OneDay), with a document id fixed per record (FIREHOSE_DEFAULT), so retries never duplicate;
//   - retries bulk 429/5xx and item rejections with backoff until the retry window closes;
//   - writes processing failures and undeliverable documents to a local backup folder in
//     Firehose's error-record format (errors/<error-output-type>/yyyy/MM/dd/HH/...).
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Client } from '@opensearch-project/opensearch';
import type {
  Context,
  FirehoseTransformationEvent,
  FirehoseTransformationEventRecord,
  FirehoseTransformationResult,
  FirehoseTransformationResultRecord,
} from 'aws-lambda';
import { processRecords } from '../../transform/firehose-transform/process.ts';
import type { LogType } from '../../transform/log-types.ts';
import { PROCESSOR_BUFFER_SIZE_MB } from '../../transform/firehose-transform/limits.ts';
import { sendBulk } from '../../templates/opensearch-client.ts';
import { OPENSEARCH_FAILED, PROCESSING_FAILED, type FirehoseErrorRecord } from '../../transform/firehose-error-record.ts';
import { backoffDelayMs } from '../../transform/backoff.ts';
import { createRandom } from './random.ts';
import { base64Bytes, type AcceptedRecord, type FirehoseSink } from './firehose-server.ts';
import { lambdaContext } from './lambda-context.ts';
import { Semaphore } from '../../transform/semaphore.ts';

export type TransformHandler = (event: FirehoseTransformationEvent, context: Context) => Promise<FirehoseTransformationResult | void>;

export interface DeliveryStreamOptions {
  client: Client;
  /** The transform Lambda handler (transform/firehose-transform/handler.ts). */
  transform: TransformHandler;
  /** The log type of the stream (what its transform parses); default access. */
  logType?: LogType;
  indexPrefix: string;
  backupDirectory: string;
  /** Destination buffer hint (Firehose BufferingHints.SizeInMBs). */
  bufferSizeBytes?: number;
  /** Destination buffer interval; Firehose allows 0-900 s, the local default is short. */
  bufferIntervalMs?: number;
  /** Processor buffer (BufferSizeInMBs of the Lambda processor). */
  processorBufferBytes?: number;
  /** Lambda processor NumberOfRetries. */
  processorRetries?: number;
  /** RetryOptions.DurationInSeconds, including the first attempt. */
  retryDurationMs?: number;
  /** Largest `_bulk` request body. */
  bulkMaxBytes?: number;
  /** `_bulk` requests in flight at once; one more delivery may transform meanwhile. */
  concurrency?: number;
  /** Fraction of bulk items answered with a 429 rejection (fault injection). */
  bulkRejectRate?: number;
  seed?: number;
  region?: string;
  account?: string;
}

export interface DeliveryStats {
  recordsReceived: number;
  invocations: number;
  invocationRetries: number;
  ok: number;
  dropped: number;
  processingFailed: number;
  indexed: number;
  deliveryFailed: number;
  bulkRequests: number;
  bulkRetries: number;
  itemRetries: number;
  injectedRejections: number;
  /** Backup files written, relative to backupDirectory. */
  backupFiles: string[];
}

interface BufferedRecord extends AcceptedRecord {
  arrival: number;
}

interface PendingDocument {
  id: string;
  index: string;
  /** The document as the transform returned it: base64 of its JSON, decoded only into the bulk body. */
  base64: string;
  /** Decoded length of `base64`. */
  bytes: number;
  record: BufferedRecord;
}

export { OPENSEARCH_FAILED, PROCESSING_FAILED, type FirehoseErrorRecord };

const MIB = 2 ** 20;
const LAMBDA_PAYLOAD_LIMIT = 6 * MIB;

function dateParts(ms: number): { day: string; hourPath: string } {
  const iso = new Date(ms).toISOString();
  return { day: iso.slice(0, 10), hourPath: `${iso.slice(0, 4)}/${iso.slice(5, 7)}/${iso.slice(8, 10)}/${iso.slice(11, 13)}` };
}

/**
 * Opaque record ids like Firehose's (a per-stream prefix and a sequence number); stable for the
 * record, so they also serve as the document ids (FIREHOSE_DEFAULT), which retries never change.
 */
export function recordId(streamRunId: string, sequence: number): string {
  return `${streamRunId}${sequence.toString(36).padStart(8, '0')}`;
}

function bulkItemBytes(doc: PendingDocument): number {
  return doc.bytes + doc.index.length + doc.id.length + 40;
}

/** True when `output` answers `input` record by record, in order. */
function sameOrder(input: readonly { recordId: string }[], output: readonly { recordId: string }[]): boolean {
  if (input.length !== output.length) return false;
  for (let i = 0; i < input.length; i++) if (input[i]!.recordId !== output[i]!.recordId) return false;
  return true;
}

/**
 * Firehose's response checks: every recordId exactly once, a known result, data present. Returns
 * the result records in input order, or the error Firehose would record for the invocation.
 */
function checkResponse(
  input: FirehoseTransformationEventRecord[],
  result: FirehoseTransformationResult | void,
): { outputs: FirehoseTransformationResultRecord[] } | { problem: [string, string] } {
  const problem = (code: string, message: string) => ({ problem: [code, message] as [string, string] });
  if (!result || !Array.isArray(result.records)) return problem('Lambda.JsonProcessingException', 'the response has no records array');
  let responseBytes = 0;
  for (const r of result.records) responseBytes += (r.data?.length ?? 0) + r.recordId.length + 40;
  if (responseBytes > LAMBDA_PAYLOAD_LIMIT) {
    return problem('Lambda.FunctionError', `the response (${responseBytes} bytes) exceeds the 6 MB Lambda payload limit`);
  }
  for (const r of result.records) {
    if (r.result !== 'Ok' && r.result !== 'Dropped' && r.result !== 'ProcessingFailed') {
      return problem('Lambda.InvalidResult', `record ${r.recordId} has result ${String(r.result)}`);
    }
    if (r.result === 'Ok' && typeof r.data !== 'string') return problem('Lambda.MissingData', `Ok record ${r.recordId} has no data`);
  }
  // Our transform answers in input order, which is checked without a map.
  if (sameOrder(input, result.records)) return { outputs: result.records };
  const expected = new Set(input.map((r) => r.recordId));
  const byId = new Map<string, FirehoseTransformationResultRecord>();
  for (const r of result.records) {
    if (!expected.has(r.recordId)) return problem('Lambda.MissingRecordId', `unknown record id ${r.recordId}`);
    if (byId.has(r.recordId)) return problem('Lambda.DuplicatedRecordId', `record id ${r.recordId} returned twice`);
    byId.set(r.recordId, r);
  }
  if (byId.size !== expected.size) return problem('Lambda.MissingRecordId', `${expected.size - byId.size} record ids were not returned`);
  return { outputs: input.map((r) => byId.get(r.recordId)!) };
}

function errorMessageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

export class DeliveryStream implements FirehoseSink {
  readonly stats: DeliveryStats = {
    recordsReceived: 0,
    invocations: 0,
    invocationRetries: 0,
    ok: 0,
    dropped: 0,
    processingFailed: 0,
    indexed: 0,
    deliveryFailed: 0,
    bulkRequests: 0,
    bulkRetries: 0,
    itemRetries: 0,
    injectedRejections: 0,
    backupFiles: [],
  };
  private readonly options: Required<Omit<DeliveryStreamOptions, 'seed'>>;
  private buffer: BufferedRecord[] = [];
  private bufferBytes = 0;
  private timer: NodeJS.Timeout | undefined;
  private readonly inFlight = new Set<Promise<void>>();
  private readonly random: () => number;
  private readonly runId = randomBytes(6).toString('base64url');
  private recordSequence = 0;
  private streamName = 'albatross';
  private deliveryError: unknown;
  private readonly bulkSlots: Semaphore;

  constructor(options: DeliveryStreamOptions) {
    this.options = {
      // Firehose allows 1-100 MB; a small buffer keeps the local pipeline's start-up latency low.
      bufferSizeBytes: 2 * MIB,
      bufferIntervalMs: 1000,
      processorBufferBytes: PROCESSOR_BUFFER_SIZE_MB * MIB,
      processorRetries: 3,
      retryDurationMs: 300_000,
      bulkMaxBytes: 5 * MIB,
      concurrency: 2,
      bulkRejectRate: 0,
      region: 'us-east-1',
      account: '123456789012',
      ...options,
      logType: options.logType ?? 'access',
    };
    this.random = createRandom(options.seed ?? 1);
    this.bulkSlots = new Semaphore(this.options.concurrency);
  }

  get lambdaArn(): string {
    return `arn:aws:lambda:${this.options.region}:${this.options.account}:function:albatross-transform`;
  }

  async accept(streamName: string, records: AcceptedRecord[]): Promise<void> {
    this.streamName = streamName;
    const arrival = Date.now();
    for (const { base64, bytes } of records) {
      this.buffer.push({ base64, bytes, arrival });
      this.bufferBytes += bytes;
    }
    this.stats.recordsReceived += records.length;
    if (this.bufferBytes >= this.options.bufferSizeBytes) {
      // Backpressure: the PutRecordBatch call returns once its buffer is on its way.
      await this.cut();
    } else if (this.buffer.length > 0 && this.timer === undefined) {
      this.timer = setTimeout(() => void this.cut().catch((error) => (this.deliveryError ??= error)), this.options.bufferIntervalMs);
      this.timer.unref();
    }
  }

  /** Delivers everything buffered and waits until every record is indexed, dropped or backed up. */
  async drain(): Promise<void> {
    while (this.buffer.length > 0 || this.inFlight.size > 0) {
      await this.cut();
      await Promise.all([...this.inFlight]);
    }
    if (this.deliveryError !== undefined) throw this.deliveryError;
  }

  private async cut(): Promise<void> {
    if (this.timer !== undefined) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    if (this.buffer.length === 0) return;
    while (this.inFlight.size > this.options.concurrency) await Promise.race(this.inFlight);
    if (this.buffer.length === 0) return;
    const batch = this.buffer;
    this.buffer = [];
    this.bufferBytes = 0;
    const delivery = this.deliver(batch).catch((error) => {
      this.deliveryError ??= error;
    });
    this.inFlight.add(delivery);
    void delivery.finally(() => this.inFlight.delete(delivery));
  }

  /** Transforms the buffer invocation by invocation; each full bulk request starts as soon as it is ready. */
  private async deliver(batch: BufferedRecord[]): Promise<void> {
    const indexing: Promise<void>[] = [];
    let documents: PendingDocument[] = [];
    let documentBytes = 0;
    let start = 0;
    while (start < batch.length) {
      let end = start;
      let bytes = 0;
      while (end < batch.length && (end === start || bytes + batch[end]!.bytes <= this.options.processorBufferBytes)) {
        bytes += batch[end]!.bytes;
        end++;
      }
      for (const doc of await this.transform(batch.slice(start, end))) {
        const size = bulkItemBytes(doc);
        if (documents.length > 0 && documentBytes + size > this.options.bulkMaxBytes) {
          indexing.push(this.index(documents));
          documents = [];
          documentBytes = 0;
        }
        documents.push(doc);
        documentBytes += size;
      }
      start = end;
    }
    if (documents.length > 0) indexing.push(this.index(documents));
    await Promise.all(indexing);
  }

  /** One processor invocation (with retries); returns the Ok documents. */
  private async transform(records: BufferedRecord[]): Promise<PendingDocument[]> {
    const base = this.recordSequence;
    this.recordSequence += records.length;
    const eventRecords: FirehoseTransformationEventRecord[] = records.map((record, i) => ({
      recordId: recordId(this.runId, base + i),
      approximateArrivalTimestamp: record.arrival,
      data: record.base64,
    }));
    const event: FirehoseTransformationEvent = {
      invocationId: randomUUID(),
      deliveryStreamArn: `arn:aws:firehose:${this.options.region}:${this.options.account}:deliverystream/${this.streamName}`,
      region: this.options.region,
      records: eventRecords,
    };
    let attempts = 0;
    let lastError = '';
    let lastCode = 'Lambda.FunctionError';
    while (attempts <= this.options.processorRetries) {
      attempts++;
      this.stats.invocations++;
      if (attempts > 1) this.stats.invocationRetries++;
      try {
        const result = await this.options.transform(event, lambdaContext('albatross-transform', { region: this.options.region, account: this.options.account }));
        const checked = checkResponse(eventRecords, result);
        if ('outputs' in checked) return await this.collect(records, eventRecords, checked.outputs, attempts);
        [lastCode, lastError] = checked.problem;
      } catch (error) {
        lastCode = 'Lambda.FunctionError';
        lastError = errorMessageOf(error);
      }
    }
    // Invocation kept failing: Firehose skips the batch and backs every record up.
    const ended = Date.now();
    this.stats.processingFailed += records.length;
    await this.backup(
      PROCESSING_FAILED,
      eventRecords.map((r) => ({
        attemptsMade: attempts,
        arrivalTimestamp: r.approximateArrivalTimestamp,
        errorCode: lastCode,
        errorMessage: lastError,
        attemptEndingTimestamp: ended,
        rawData: r.data,
        lambdaArn: this.lambdaArn,
      })),
    );
    return [];
  }

  /** `outputs[i]` answers `eventRecords[i]` (checkResponse). */
  private async collect(
    records: BufferedRecord[],
    eventRecords: FirehoseTransformationEventRecord[],
    outputs: FirehoseTransformationResultRecord[],
    attempts: number,
  ): Promise<PendingDocument[]> {
    const documents: PendingDocument[] = [];
    const failed: FirehoseErrorRecord[] = [];
    const ended = Date.now();
    let indexArrival = -1;
    let index = '';
    for (let i = 0; i < eventRecords.length; i++) {
      const input = eventRecords[i]!;
      const output = outputs[i]!;
      if (output.result === 'Ok') {
        const record = records[i]!;
        if (record.arrival !== indexArrival) {
          indexArrival = record.arrival;
          index = `${this.options.indexPrefix}-${dateParts(record.arrival).day}`;
        }
        documents.push({ id: input.recordId, index, base64: output.data!, bytes: base64Bytes(output.data!), record });
      } else if (output.result === 'Dropped') {
        this.stats.dropped++;
      } else {
        failed.push({
          attemptsMade: attempts,
          arrivalTimestamp: input.approximateArrivalTimestamp,
          errorCode: 'Lambda.ProcessingFailedStatus',
          errorMessage: failureReason(input, this.options.logType),
          attemptEndingTimestamp: ended,
          rawData: input.data,
          lambdaArn: this.lambdaArn,
        });
      }
    }
    this.stats.ok += documents.length;
    this.stats.processingFailed += failed.length;
    if (failed.length > 0) await this.backup(PROCESSING_FAILED, failed);
    return documents;
  }

  /** `_bulk` (one request's worth) with retries until the retry window closes; leftovers go to the backup. */
  private async index(documents: PendingDocument[]): Promise<void> {
    const deadline = Date.now() + this.options.retryDurationMs;
    let pending = documents;
    let attempts = 0;
    let errors = new Map<PendingDocument, { code: string; message: string }>();
    while (pending.length > 0) {
      attempts++;
      errors = await this.bulkSlots.run(() => this.bulk(pending));
      // Non-retriable item errors are final at once (errors with retriable=false).
      const retriable: PendingDocument[] = [];
      const final: PendingDocument[] = [];
      for (const [doc, { code }] of errors) {
        (code === '429' || code === 'connection' || Number(code) >= 500 ? retriable : final).push(doc);
      }
      if (final.length > 0) await this.failDocuments(final, errors, attempts);
      pending = retriable;
      if (pending.length === 0) break;
      const delay = backoffDelayMs(attempts, { baseMs: 100, maxMs: 5_000 }, this.random);
      if (Date.now() + delay >= deadline) break;
      this.stats.itemRetries += pending.length;
      await sleep(delay);
    }
    if (pending.length > 0) await this.failDocuments(pending, errors, attempts);
  }

  /** One `_bulk` request; returns the documents that were not indexed, with why. */
  private async bulk(chunk: PendingDocument[]): Promise<Map<PendingDocument, { code: string; message: string }>> {
    const failures = new Map<PendingDocument, { code: string; message: string }>();
    // Fault injection: answer a fraction of the items with 429 without sending them, exactly what the
    // engine's response would say when its write queue is full (es_rejected_execution_exception).
    const send: PendingDocument[] = [];
    for (const doc of chunk) {
      if (this.options.bulkRejectRate > 0 && this.random() < this.options.bulkRejectRate) {
        this.stats.injectedRejections++;
        failures.set(doc, { code: '429', message: 'es_rejected_execution_exception: rejected execution (injected fault)' });
      } else {
        send.push(doc);
      }
    }
    if (send.length === 0) return failures;
    // One NDJSON buffer, written in place (index names and ids are ASCII); each document is decoded
    // from the transform's base64 straight into it. Data that is not the base64 it claims to be
    // is a document failure, never a corrupt body.
    const actions = send.map((doc) => `{"index":{"_index":"${doc.index}","_id":"${doc.id}"}}\n`);
    let size = 0;
    // `bytes` is fractional for data whose length is not a multiple of 4 (not base64; caught below): room for it anyway.
    for (let i = 0; i < send.length; i++) size += actions[i]!.length + Math.ceil(send[i]!.bytes) + 1;
    const body = Buffer.allocUnsafe(size);
    const sent: PendingDocument[] = [];
    let at = 0;
    for (let i = 0; i < send.length; i++) {
      const doc = send[i]!;
      const start = at;
      at += body.write(actions[i]!, at, 'latin1');
      const written = body.write(doc.base64, at, 'base64');
      if (written !== doc.bytes) {
        at = start;
        failures.set(doc, { code: '400', message: 'invalid_data: the transform returned data that is not standard base64' });
        continue;
      }
      at += written;
      body[at++] = 0x0a;
      sent.push(doc);
    }
    if (sent.length === 0) return failures;
    this.stats.bulkRequests++;
    try {
      const items = await sendBulk(this.options.client, body.subarray(0, at), sent.length);
      for (let i = 0; i < sent.length; i++) {
        const item = items[i]!;
        if (item.status >= 200 && item.status < 300) {
          this.stats.indexed++;
        } else {
          failures.set(sent[i]!, {
            code: String(item.status),
            message: `${item.error?.type ?? 'error'}: ${item.error?.reason ?? 'no reason given'}`,
          });
        }
      }
    } catch (error) {
      // Whole request failed (429/5xx status or connection error): every document is retried.
      const status = (error as { meta?: { statusCode?: number } }).meta?.statusCode;
      this.stats.bulkRetries++;
      const code = status === undefined || status === null ? 'connection' : String(status);
      for (const doc of sent) failures.set(doc, { code, message: errorMessageOf(error) });
    }
    return failures;
  }

  private async failDocuments(
    documents: PendingDocument[],
    errors: Map<PendingDocument, { code: string; message: string }>,
    attempts: number,
  ): Promise<void> {
    const ended = Date.now();
    this.stats.deliveryFailed += documents.length;
    await this.backup(
      OPENSEARCH_FAILED,
      documents.map((doc) => ({
        attemptsMade: attempts,
        arrivalTimestamp: doc.record.arrival,
        errorCode: errors.get(doc)?.code ?? 'unknown',
        errorMessage: errors.get(doc)?.message ?? 'not delivered within the retry window',
        attemptEndingTimestamp: ended,
        esDocumentId: doc.id,
        esIndexName: doc.index,
        esTypeName: '',
        // Firehose backs up the transformed document here, not the raw line.
        rawData: doc.base64,
      })),
    );
  }

  private async backup(type: string, records: FirehoseErrorRecord[]): Promise<void> {
    if (records.length === 0) return;
    const now = Date.now();
    const { hourPath } = dateParts(now);
    const stamp = new Date(now).toISOString().replace(/[-:T]/g, '-').slice(0, 19);
    const relative = path.join('errors', type, ...hourPath.split('/'), `${this.streamName}-1-${stamp}-${randomUUID()}`);
    const file = path.join(this.options.backupDirectory, relative);
    await mkdir(path.dirname(file), { recursive: true });
    await writeFile(file, records.map((r) => JSON.stringify(r)).join('\n') + '\n');
    this.stats.backupFiles.push(relative);
  }
}

/**
 * Firehose keeps only the raw data of a ProcessingFailed record; the reason lives in the Lambda's
 * logs. The local stream re-derives it with the same pure transform so each backup record explains
 * itself (the parser is deterministic, so this is the reason the Lambda logged).
 */
function failureReason(record: FirehoseTransformationEventRecord, logType: LogType): string {
  const { failures } = processRecords([record], { logType });
  return failures[0]?.reason ?? 'the transform returned ProcessingFailed';
}
