// Exponential backoff with full jitter, the retry delay every Albatross retry loop uses (loader
// PutRecordBatch, backfill and local delivery `_bulk`). Full jitter spreads the retries of many
// clients over the whole window instead of synchronising them (AWS Architecture Blog,
// "Exponential Backoff And Jitter"). The loops themselves stay with their callers: each resends
// only the records or documents that failed, under its own deadline, which generic retry
// libraries (that repeat a whole call) do not do.

export interface BackoffPolicy {
  /** Upper bound of the first retry's delay. */
  baseMs: number;
  /** Upper bound of any delay. */
  maxMs: number;
}

/** Delay before retry number `retry` (1 = the first retry): uniform in [0, min(maxMs, baseMs * 2^(retry-1))). */
export function backoffDelayMs(retry: number, policy: BackoffPolicy, random: () => number = Math.random): number {
  return random() * Math.min(policy.maxMs, policy.baseMs * 2 ** (retry - 1));
}
