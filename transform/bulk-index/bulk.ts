// `_bulk` with retries, shared by the backfill and the loader's direct delivery: 429, 5xx and connection errors (whole request or single
// items) are retried with exponential backoff and jitter until a retry window closes, then the
// call throws BulkGaveUpError (the engine is unavailable: the object must not count as done).
// Item errors the engine will never accept (e.g. 400 mapping errors) are per-document failures
// with the engine's reason; a request the engine refuses as a whole (401, 403, 400) throws.
// `index` with an explicit _id (event.id) makes every retry and every re-run an overwrite, never
// a duplicate.
import { setTimeout as sleep } from 'node:timers/promises';
import type { Client } from '@opensearch-project/opensearch';
import { sendBulk, type BulkItem } from '../../templates/opensearch-client.ts';
import { backoffDelayMs } from '../backoff.ts';

/**
 * One `_bulk` request body, built as the documents arrive: each document is UTF-8 encoded once,
 * straight into the NDJSON buffer (no string concatenation, no second encoding when sending).
 * A retry sends the byte ranges of the documents still pending.
 */
export class BulkBatch {
  private buffer = Buffer.alloc(0);   // allocated by the first document
  private length = 0;
  /** Byte range [start, end) of each document's action and source lines, by position. */
  private readonly ranges: number[] = [];
  private readonly actions = new Map<string, string>();

  constructor(private readonly expectedBytes = 64 * 1024) {}

  get size(): number { return this.ranges.length / 2; }
  get bytes(): number { return this.length; }

  /** Appends `index` action with `_id` and the document JSON; returns the document's position. */
  add(index: string, id: string, source: string): number {
    let action = this.actions.get(index);
    if (action === undefined) {
      action = `{"index":{"_index":${JSON.stringify(index)},"_id":`;
      this.actions.set(index, action);
    }
    const head = `${action}${JSON.stringify(id)}}}\n`;
    // UTF-8 needs at most 3 bytes per UTF-16 unit; measure exactly only near the end of the buffer.
    let needed = 3 * (head.length + source.length) + 1;
    if (this.length + needed > this.buffer.length) {
      needed = Buffer.byteLength(head) + Buffer.byteLength(source) + 1;
      if (this.length + needed > this.buffer.length) {
        const grown = Buffer.allocUnsafe(Math.max(this.expectedBytes, 2 * this.buffer.length, this.length + needed));
        this.buffer.copy(grown, 0, 0, this.length);
        this.buffer = grown;
      }
    }
    const start = this.length;
    this.length += this.buffer.write(head, this.length);
    this.length += this.buffer.write(source, this.length);
    this.buffer[this.length++] = 0x0a;
    this.ranges.push(start, this.length);
    return this.ranges.length / 2 - 1;
  }

  /** The body for the documents at `positions` (all of them: the buffer as is). */
  body(positions?: number[]): Buffer {
    if (positions === undefined) return this.buffer.subarray(0, this.length);
    return Buffer.concat(positions.map((p) => this.buffer.subarray(this.ranges[2 * p]!, this.ranges[2 * p + 1]!)));
  }
}

/** A document the engine refused for good, by its position in the batch. */
export interface BulkFailure { document: number; reason: string }
export interface BulkOutcome {
  indexed: number;
  /** Of `indexed`, documents that replaced one with the same _id (status 200 instead of 201). */
  overwritten: number;
  failures: BulkFailure[];
  retries: number;
  /** Answers of 429 (the whole request, or items): the domain asked us to slow down. */
  throttles: number;
}

/** Sends one `_bulk` body and answers the item of each document (sendBulk; the local demo wraps it to inject faults). */
export type BulkSender = (client: Client, body: Buffer, documents: number) => Promise<BulkItem[]>;

export interface BulkOptions {
  retryWindowMs?: number;
  signal?: AbortSignal;
  send?: BulkSender;
  /** Called with the duration of every `_bulk` round trip that got an answer (latency metrics). */
  onRequest?: (milliseconds: number) => void;
}

export class BulkGaveUpError extends Error {
  override readonly name = 'BulkGaveUpError';
}

function retriable(status: number | undefined): boolean {
  return status === undefined || status === 429 || status >= 500;
}

export async function bulkIndex(client: Client, batch: BulkBatch, options: BulkOptions = {}): Promise<BulkOutcome> {
  const deadline = Date.now() + (options.retryWindowMs ?? 300_000);
  const outcome: BulkOutcome = { indexed: 0, overwritten: 0, failures: [], retries: 0, throttles: 0 };
  let pending: number[] | undefined;    // undefined: every document of the batch
  for (let attempt = 1; (pending?.length ?? batch.size) > 0; attempt++) {
    options.signal?.throwIfAborted();
    const again: BulkFailure[] = [];
    const positions = pending ?? Array.from({ length: batch.size }, (_, i) => i);
    const body = batch.body(pending);
    try {
      const sentAt = performance.now();
      const items = await (options.send ?? sendBulk)(client, body, positions.length);
      options.onRequest?.(performance.now() - sentAt);
      items.forEach((item, i) => {
        const document = positions[i]!;
        if (item.status >= 200 && item.status < 300) {
          outcome.indexed++;
          if (item.status === 200) outcome.overwritten++;
        } else {
          if (item.status === 429) outcome.throttles++;
          const failure = { document, reason: `${item.status} ${item.error?.type ?? 'error'}: ${item.error?.reason ?? 'no reason given'}` };
          (retriable(item.status) ? again : outcome.failures).push(failure);
        }
      });
    } catch (error) {
      const status = (error as { meta?: { statusCode?: number | null } }).meta?.statusCode ?? undefined;
      const reason = `_bulk request failed: ${error instanceof Error ? error.message : String(error)}`;
      if (!retriable(status) || options.signal?.aborted) throw error;
      if (status === 429) outcome.throttles++;
      for (const document of positions) again.push({ document, reason });
    }
    if (again.length === 0) break;
    const delay = backoffDelayMs(attempt, { baseMs: 200, maxMs: 10_000 });
    if (Date.now() + delay > deadline) {
      throw new BulkGaveUpError(`${again.length} documents still not accepted after ${attempt} attempts: ${again[0]!.reason}`);
    }
    outcome.retries++;
    await sleep(delay, undefined, options.signal ? { signal: options.signal } : {});
    pending = again.map((f) => f.document);
  }
  return outcome;
}
