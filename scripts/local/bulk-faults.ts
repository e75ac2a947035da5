// Fault injection for the direct delivery in the local pipeline: wraps the one `_bulk` call so a
// fraction of requests is answered 429 as a whole (the engine throttling, as Firehose throttles
// PutRecordBatch in the Firehose mode) and a fraction of items 429 without being sent (its write
// queue full: es_rejected_execution_exception). The loader's retries must absorb both.
import type { Client } from '@opensearch-project/opensearch';
import { sendBulk, type BulkItem } from '../../templates/opensearch-client.ts';
import type { BulkSender } from '../../transform/bulk-index/bulk.ts';
import { createRandom } from './random.ts';

export interface BulkFaults { throttleRate?: number; rejectRate?: number; seed?: number }
export interface BulkFaultStats { requests: number; throttled: number; rejectedItems: number }

const REJECTED: BulkItem = { status: 429, error: { type: 'es_rejected_execution_exception', reason: 'rejected execution (injected fault)' } };

/** Splits an NDJSON `_bulk` body of `index` actions into the [action, source] line pair of each document. */
function documentsOf(body: Buffer): Buffer[] {
  const documents: Buffer[] = [];
  let start = 0;
  let lines = 0;
  for (let i = 0; i < body.length; i++) {
    if (body[i] !== 0x0a) continue;
    if (++lines % 2 === 0) {
      documents.push(body.subarray(start, i + 1));
      start = i + 1;
    }
  }
  return documents;
}

export function faultyBulkSender(faults: BulkFaults): { send: BulkSender; stats: BulkFaultStats } {
  const random = createRandom(faults.seed ?? 1);
  const stats: BulkFaultStats = { requests: 0, throttled: 0, rejectedItems: 0 };
  const send: BulkSender = async (client: Client, body: Buffer, documents: number) => {
    stats.requests++;
    if (faults.throttleRate && random() < faults.throttleRate) {
      stats.throttled++;
      throw Object.assign(new Error('429 Too Many Requests (injected fault)'), { meta: { statusCode: 429 } });
    }
    if (!faults.rejectRate) return sendBulk(client, body, documents);
    const parts = documentsOf(body);
    if (parts.length !== documents) throw new Error(`_bulk body holds ${parts.length} documents, expected ${documents}`);
    const rejected = parts.map(() => random() < faults.rejectRate!);
    const sent = parts.filter((_, i) => !rejected[i]);
    stats.rejectedItems += parts.length - sent.length;
    const answers = sent.length > 0 ? await sendBulk(client, Buffer.concat(sent), sent.length) : [];
    let next = 0;
    return rejected.map((r) => (r ? REJECTED : answers[next++]!));
  };
  return { send, stats };
}
