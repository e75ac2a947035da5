// Amazon Data Firehose stand-in on loopback: the AWS JSON 1.1 wire protocol for PutRecordBatch and
// PutRecord, so the unmodified @aws-sdk/client-firehose talks to it (endpoint + any credentials).
// Limits and error shapes follow the real service: > 500 records or a record > 1,024,000 bytes is a
// ValidationException (Coral's "n validation error(s) detected" text), > 4 MiB per call an
// InvalidArgumentException, throttling a 503 ServiceUnavailableException "Slow down.", an unknown
// stream (when `streams` is given) a ResourceNotFoundException.
//
// Fault injection (seeded, reproducible): `throttleRate` fails whole calls, `partialFailureRate`
// fails single records inside a successful call (FailedPutCount > 0), exactly as Firehose does.
// Accepted records go to `sink.accept(streamName, records)` in arrival order, one call at a time,
// before the response is sent: a record the client sees as accepted is already in the sink. They
// stay the base64 text they arrived as (a Firehose transform event carries exactly that), with
// their decoded size; nothing is decoded and encoded again on the way.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomBytes } from 'node:crypto';
import { createRandom } from './random.ts';

/** One accepted record: its data as the base64 text it came in, and the decoded size. */
export interface AcceptedRecord { base64: string; bytes: number }
export interface FirehoseSink { accept(streamName: string, records: AcceptedRecord[]): Promise<void> }
export interface FirehoseFaults { throttleRate?: number; partialFailureRate?: number; seed?: number }

export interface FirehoseStats { calls: number; throttled: number; recordsAccepted: number; recordsFailed: number }

export interface LocalFirehose {
  endpoint: string;
  stop(): Promise<void>;
  stats: FirehoseStats;
  /** Replaces the fault settings (e.g. a throttling storm that ends). */
  setFaults(faults: FirehoseFaults): void;
}

export interface LocalFirehoseOptions {
  sink: FirehoseSink;
  faults?: FirehoseFaults;
  port?: number;
  /** Known delivery streams; when given, others get ResourceNotFoundException. */
  streams?: string[];
}

const TARGET_PREFIX = 'Firehose_20150804.';
const MAX_RECORDS = 500;
const MAX_RECORD_BYTES = 1_024_000;
const MAX_CALL_BYTES = 4 * 1024 * 1024;
// Far above any valid call (4 MiB base64 = 5.6 MB plus JSON); guards the stand-in's memory.
const MAX_BODY_BYTES = 16 * 1024 * 1024;
const STREAM_NAME = /^[a-zA-Z0-9_.-]{1,64}$/;

class ServiceError extends Error {
  constructor(readonly type: string, message: string, readonly status = 400) {
    super(message);
  }
}

interface WireRecord { Data?: unknown }

/** Decoded length of standard, padded base64 text (its length a multiple of 4). */
export function base64Bytes(base64: string): number {
  const padding = base64.endsWith('==') ? 2 : base64.endsWith('=') ? 1 : 0;
  return (base64.length / 4) * 3 - padding;
}

function acceptData(record: WireRecord | undefined, path: string): AcceptedRecord {
  if (record === null || typeof record !== 'object' || typeof record.Data !== 'string' || record.Data.length % 4 !== 0) {
    throw new ServiceError('SerializationException', `${path}.Data must be a base64 string`);
  }
  return { base64: record.Data, bytes: base64Bytes(record.Data) };
}

/** The service's validation message for a record over MAX_RECORD_BYTES at `path`. */
function recordTooLarge(record: AcceptedRecord, path: string): string {
  return `Value 'java.nio.HeapByteBuffer[pos=0 lim=${record.bytes} cap=${record.bytes}]' at '${path}' failed to satisfy constraint: `
    + `Member must have length less than or equal to ${MAX_RECORD_BYTES}`;
}

function validationError(messages: string[]): ServiceError {
  const count = messages.length;
  return new ServiceError('ValidationException',
    `${count} validation error${count === 1 ? '' : 's'} detected: ${messages.join('; ')}`);
}

export async function startLocalFirehose(options: LocalFirehoseOptions): Promise<LocalFirehose> {
  const { sink } = options;
  let faults: Required<Omit<FirehoseFaults, 'seed'>> = { throttleRate: 0, partialFailureRate: 0 };
  let random = Math.random;
  const setFaults = (next: FirehoseFaults): void => {
    faults = { throttleRate: next.throttleRate ?? 0, partialFailureRate: next.partialFailureRate ?? 0 };
    random = next.seed === undefined ? Math.random : createRandom(next.seed);
  };
  setFaults(options.faults ?? {});
  const streams = options.streams === undefined ? undefined : new Set(options.streams);
  const stats: FirehoseStats = { calls: 0, throttled: 0, recordsAccepted: 0, recordsFailed: 0 };
  let sinkQueue: Promise<unknown> = Promise.resolve();
  let recordCounter = 0;

  // Unique per call: a counter, plus a random suffix drawn once so ids differ between server runs.
  const recordIdSuffix = randomBytes(10).toString('hex');
  const newRecordId = (): string => `${(recordCounter++).toString(16).padStart(12, '0')}${recordIdSuffix}`;

  /** Fault injection: fails the whole call as a throttled one, at `throttleRate`. */
  function throttleAtRandom(): void {
    if (random() < faults.throttleRate) {
      stats.throttled += 1;
      throw new ServiceError('ServiceUnavailableException', 'Slow down.', 503);
    }
  }

  function checkStream(name: unknown): string {
    if (typeof name !== 'string' || !STREAM_NAME.test(name)) {
      throw validationError([`Value '${String(name)}' at 'deliveryStreamName' failed to satisfy constraint: Member must satisfy regular expression pattern: [a-zA-Z0-9_.-]+`]);
    }
    if (streams && !streams.has(name)) {
      throw new ServiceError('ResourceNotFoundException', `Firehose ${name} under account 000000000000 not found.`);
    }
    return name;
  }

  async function deliver(stream: string, records: AcceptedRecord[]): Promise<void> {
    const delivered = sinkQueue.then(() => sink.accept(stream, records));
    sinkQueue = delivered.catch(() => undefined);
    try {
      await delivered;
    } catch (error) {
      throw new ServiceError('ServiceUnavailableException', `Slow down. (sink: ${(error as Error).message})`, 503);
    }
  }

  async function putRecordBatch(input: Record<string, unknown>): Promise<unknown> {
    const stream = checkStream(input['DeliveryStreamName']);
    const wire = input['Records'];
    if (!Array.isArray(wire)) throw validationError([`Value null at 'records' failed to satisfy constraint: Member must not be null`]);
    if (wire.length < 1 || wire.length > MAX_RECORDS) {
      throw validationError([`Value '[...]' at 'records' failed to satisfy constraint: Member must have length ${wire.length < 1 ? 'greater than or equal to 1' : `less than or equal to ${MAX_RECORDS}`}`]);
    }
    const data = wire.map((r: WireRecord, i) => acceptData(r, `Records.${i}`));
    const tooLarge = data.flatMap((d, i) => d.bytes > MAX_RECORD_BYTES ? [recordTooLarge(d, `records.${i + 1}.member.data`)] : []);
    if (tooLarge.length > 0) throw validationError(tooLarge);
    if (data.reduce((sum, d) => sum + d.bytes, 0) > MAX_CALL_BYTES) {
      throw new ServiceError('InvalidArgumentException', 'Records size exceeds 4 MB limit');
    }
    throttleAtRandom();
    const failed = data.map(() => faults.partialFailureRate > 0 && random() < faults.partialFailureRate);
    const accepted = data.filter((_, i) => !failed[i]);
    if (accepted.length > 0) await deliver(stream, accepted);
    stats.recordsAccepted += accepted.length;
    stats.recordsFailed += data.length - accepted.length;
    return {
      FailedPutCount: data.length - accepted.length,
      Encrypted: false,
      RequestResponses: failed.map((f) => (f
        ? { ErrorCode: 'ServiceUnavailableException', ErrorMessage: 'Slow down.' }
        : { RecordId: newRecordId() })),
    };
  }

  async function putRecord(input: Record<string, unknown>): Promise<unknown> {
    const stream = checkStream(input['DeliveryStreamName']);
    const data = acceptData(input['Record'] as WireRecord | undefined, 'Record');
    if (data.bytes > MAX_RECORD_BYTES) {
      throw validationError([recordTooLarge(data, 'record.data')]);
    }
    throttleAtRandom();
    await deliver(stream, [data]);
    stats.recordsAccepted += 1;
    return { RecordId: newRecordId(), Encrypted: false };
  }

  async function handle(target: string, body: Buffer): Promise<unknown> {
    if (!target.startsWith(TARGET_PREFIX)) throw new ServiceError('UnknownOperationException', '');
    let input: Record<string, unknown>;
    try {
      input = JSON.parse(body.toString('utf8')) as Record<string, unknown>;
    } catch {
      throw new ServiceError('SerializationException', 'Start of structure or map found where not expected.');
    }
    if (input === null || typeof input !== 'object') throw new ServiceError('SerializationException', 'Expected a JSON object');
    stats.calls += 1;
    switch (target.slice(TARGET_PREFIX.length)) {
      case 'PutRecordBatch': return putRecordBatch(input);
      case 'PutRecord': return putRecord(input);
      default: throw new ServiceError('UnknownOperationException', '');
    }
  }

  const server = http.createServer((request, response) => {
    const requestId = randomBytes(16).toString('hex');
    const reply = (status: number, payload: unknown, errorType?: string): void => {
      const text = JSON.stringify(payload);
      response.writeHead(status, {
        'content-type': 'application/x-amz-json-1.1',
        'content-length': Buffer.byteLength(text),
        'x-amzn-requestid': requestId,
        ...(errorType ? { 'x-amzn-errortype': errorType } : {}),
      });
      response.end(text);
    };
    const chunks: Buffer[] = [];
    let size = 0;
    request.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size <= MAX_BODY_BYTES) chunks.push(chunk);
    });
    request.on('end', () => {
      const work = size > MAX_BODY_BYTES || request.method !== 'POST'
        ? Promise.reject(new ServiceError(size > MAX_BODY_BYTES ? 'InvalidArgumentException' : 'UnknownOperationException',
          size > MAX_BODY_BYTES ? 'Records size exceeds 4 MB limit' : `${request.method} is not supported`))
        : handle(String(request.headers['x-amz-target'] ?? ''), Buffer.concat(chunks));
      work.then(
        (output) => reply(200, output),
        (error: unknown) => {
          const e = error instanceof ServiceError ? error : new ServiceError('InternalFailure', (error as Error).message, 500);
          reply(e.status, { __type: e.type, message: e.message }, e.type);
        },
      );
    });
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    stats,
    setFaults,
    stop: () => new Promise<void>((resolve, reject) => {
      server.close((error) => (error ? reject(error) : resolve()));
      server.closeAllConnections();
    }),
  };
}
