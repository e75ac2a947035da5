// `_bulk` with retries for the backfill: 429, 5xx and connection errors (whole request or single
// items) are retried with exponential backoff and jitter until a retry window closes, then the
// call throws BulkGaveUpError (the engine is unavailable: the object must not count as done).
// Item errors the engine will never accept (e.g. 400 mapping errors) are per-document failures
// with the engine's reason; a request the engine refuses as a whole (401, 403, 400) throws. `index` with an explicit _id (event.id) makes
// every retry and every re-run an overwrite, never a duplicate.
import { setTimeout as sleep } from 'node:timers/promises';
import type { Client } from '@opensearch-project/opensearch';

export interface BulkDocument {
  index: string;
  id: string;
  source: string;       // the JSON document
}

export interface BulkFailure { document: BulkDocument; reason: string }
export interface BulkOutcome {
  indexed: number;
  /** Of `indexed`, documents that replaced one with the same _id (status 200 instead of 201). */
  overwritten: number;
  failures: BulkFailure[];
  retries: number;
}

export interface BulkOptions {
  retryWindowMs?: number;
  signal?: AbortSignal;
}

interface BulkItem { status: number; error?: { type?: string; reason?: string } }

export class BulkGaveUpError extends Error {
  override readonly name = 'BulkGaveUpError';
}

function retriable(status: number | undefined): boolean {
  return status === undefined || status === 429 || status >= 500;
}

export async function bulkIndex(client: Client, documents: BulkDocument[], options: BulkOptions = {}): Promise<BulkOutcome> {
  const deadline = Date.now() + (options.retryWindowMs ?? 300_000);
  const outcome: BulkOutcome = { indexed: 0, overwritten: 0, failures: [], retries: 0 };
  let pending = documents;
  for (let attempt = 1; pending.length > 0; attempt++) {
    options.signal?.throwIfAborted();
    const again: BulkFailure[] = [];
    let body = '';
    for (const d of pending) body += `{"index":{"_index":${JSON.stringify(d.index)},"_id":${JSON.stringify(d.id)}}}\n${d.source}\n`;
    try {
      const response = await client.bulk({ body, filter_path: 'errors,items.*.status,items.*.error' } as never, { maxRetries: 0, requestTimeout: 120_000 });
      const items = ((response.body as { items?: Record<string, BulkItem>[] }).items ?? []).map((i) => Object.values(i)[0]!);
      if (items.length !== pending.length) throw new Error(`_bulk answered ${items.length} items for ${pending.length} documents`);
      items.forEach((item, i) => {
        const document = pending[i]!;
        if (item.status >= 200 && item.status < 300) {
          outcome.indexed++;
          if (item.status === 200) outcome.overwritten++;
        } else {
          const failure = { document, reason: `${item.status} ${item.error?.type ?? 'error'}: ${item.error?.reason ?? 'no reason given'}` };
          (retriable(item.status) ? again : outcome.failures).push(failure);
        }
      });
    } catch (error) {
      const status = (error as { meta?: { statusCode?: number | null } }).meta?.statusCode ?? undefined;
      const reason = `_bulk request failed: ${error instanceof Error ? error.message : String(error)}`;
      if (!retriable(status) || options.signal?.aborted) throw error;
      for (const document of pending) again.push({ document, reason });
    }
    if (again.length === 0) break;
    const delay = Math.min(10_000, 200 * 2 ** (attempt - 1)) * (0.5 + Math.random() / 2);
    if (Date.now() + delay > deadline) {
      throw new BulkGaveUpError(`${again.length} documents still not accepted after ${attempt} attempts: ${again[0]!.reason}`);
    }
    outcome.retries++;
    await sleep(delay, undefined, options.signal ? { signal: options.signal } : {});
    pending = again.map((f) => f.document);
  }
  return outcome;
}
