// One PutRecordBatch with retries: only the records Firehose did not accept are resent, with
// exponential backoff and full jitter, until every record is accepted or the retry time runs out.
import { PutRecordBatchCommand, type FirehoseClient } from '@aws-sdk/client-firehose';
import { backoffDelayMs } from '../backoff.ts';

export interface RetryOptions {
  /** First backoff ceiling (ms); doubles per attempt. Default 100. */
  baseDelayMs?: number;
  /** Largest backoff (ms). Default 5,000. */
  maxDelayMs?: number;
  /** Give up on a batch after this long (ms) of failed attempts. Default 120,000. */
  maxRetryTimeMs?: number;
}

export interface SendCounters {
  /** Attempts after the first, per batch, summed. */
  retries: number;
  /** Whole calls that failed with a retryable error (throttling, 5xx, network). */
  throttles: number;
  /** Records Firehose rejected individually (FailedPutCount). */
  recordFailures: number;
}

/** Firehose kept failing past the retry time; the message must be retried later. */
export class SendGaveUpError extends Error {
  override readonly name = 'SendGaveUpError';
}
/** Stopped because the caller aborted (e.g. the invocation deadline approaches). */
export class SendAbortedError extends Error {
  override readonly name = 'SendAbortedError';
}

const RETRYABLE_ERRORS = new Set([
  'ServiceUnavailableException', 'InternalFailure', 'InternalFailureException', 'ThrottlingException',
  'RequestTimeout', 'RequestTimeoutException', 'TimeoutError',
]);

export function isRetryable(error: unknown): boolean {
  const e = error as { name?: string; code?: string; $metadata?: { httpStatusCode?: number }; $retryable?: unknown };
  if (e.name !== undefined && RETRYABLE_ERRORS.has(e.name)) return true;
  if (e.$retryable) return true;
  const status = e.$metadata?.httpStatusCode;
  if (status !== undefined) return status >= 500 || status === 429;
  // No HTTP response at all: connection refused/reset, socket timeout.
  return typeof e.code === 'string' && /^(ECONN|EPIPE|ETIMEDOUT|EAI_AGAIN|UND_ERR)/.test(e.code);
}

export interface SendBatchParams {
  firehose: FirehoseClient;
  deliveryStream: string;
  records: Buffer[];
  /** Called once per record index as soon as Firehose accepts it. */
  onAccepted: (indexes: number[]) => void;
  counters: SendCounters;
  retry?: RetryOptions;
  signal?: AbortSignal;
  random?: () => number;
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done(): void {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}

export async function sendBatch(params: SendBatchParams): Promise<void> {
  const { firehose, deliveryStream, records, onAccepted, counters, signal } = params;
  const baseDelayMs = params.retry?.baseDelayMs ?? 100;
  const maxDelayMs = params.retry?.maxDelayMs ?? 5_000;
  const maxRetryTimeMs = params.retry?.maxRetryTimeMs ?? 120_000;
  const random = params.random ?? Math.random;
  const started = Date.now();
  let pending = records.map((_, i) => i);
  let lastProblem = '';

  for (let attempt = 0; ; attempt += 1) {
    // The request is never cancelled once sent: an unknown outcome would mean duplicates.
    try {
      const response = await firehose.send(new PutRecordBatchCommand({
        DeliveryStreamName: deliveryStream,
        Records: pending.map((i) => ({ Data: records[i]! })),
      }));
      const results = response.RequestResponses ?? [];
      if (results.length !== pending.length) {
        throw new Error(`PutRecordBatch returned ${results.length} responses for ${pending.length} records`);
      }
      const accepted: number[] = [];
      const failed: number[] = [];
      results.forEach((result, j) => (result.ErrorCode ? failed : accepted).push(pending[j]!));
      if (accepted.length > 0) onAccepted(accepted);
      if (failed.length === 0) return;
      counters.recordFailures += failed.length;
      const first = results.find((r) => r.ErrorCode);
      lastProblem = `${failed.length} records failed (${first?.ErrorCode}: ${first?.ErrorMessage})`;
      pending = failed;
    } catch (error) {
      if (!isRetryable(error)) throw error;
      counters.throttles += 1;
      lastProblem = `${(error as Error).name}: ${(error as Error).message}`;
    }
    if (signal?.aborted) throw new SendAbortedError(`aborted with ${pending.length} records unsent (${lastProblem})`);
    const delay = backoffDelayMs(attempt + 1, { baseMs: baseDelayMs, maxMs: maxDelayMs }, random);
    if (Date.now() - started + delay > maxRetryTimeMs) {
      throw new SendGaveUpError(
        `Firehose did not accept ${pending.length} of ${records.length} records within ${maxRetryTimeMs} ms (last: ${lastProblem})`);
    }
    counters.retries += 1;
    await sleep(delay, signal);
    if (signal?.aborted) throw new SendAbortedError(`aborted with ${pending.length} records unsent (${lastProblem})`);
  }
}
