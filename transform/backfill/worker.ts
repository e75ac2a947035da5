// The backfill worker's part of the loader handler: one object of a backfill run through the same
// direct-delivery code as the live direct loader (handleDirectObject: parse, enrich, `_bulk` with
// _id = event.id into the index of each line's EVENT day, failures to the backup bucket, checkpoints
// it resumes from after an interruption), then its progress item. A failed attempt records its reason; the last attempt before the
// dead-letter queue marks the object failed, so `albatross backfill --status` can say why.
import { handleDirectObject, type DirectHandlerDependencies } from '../loader/direct-handler.ts';
import { objectUrl, type BackfillObjectMessage } from './message.ts';
import type { BackfillProgressStore } from './progress.ts';

export interface BackfillWorker {
  progress: BackfillProgressStore;
  /** The backfill queue's maxReceiveCount: the receive that fails for good. */
  maxReceiveCount: number;
}

export interface BackfillAttempt {
  /** SQS ApproximateReceiveCount of this delivery. */
  receiveCount: number;
  leaseUntil?: number;
  signal?: AbortSignal;
}

export async function handleBackfillObject(deps: DirectHandlerDependencies, worker: BackfillWorker, message: BackfillObjectMessage, attempt: BackfillAttempt): Promise<void> {
  const object = objectUrl(message);
  const final = attempt.receiveCount >= worker.maxReceiveCount;
  let result;
  try {
    result = await handleDirectObject(deps, {
      bucket: message.bucket, key: message.key, etag: message.etag,
      ...(message.from ? { from: message.from } : {}), ...(message.to ? { to: message.to } : {}),
      ...(attempt.leaseUntil ? { leaseUntil: attempt.leaseUntil } : {}), ...(attempt.signal ? { signal: attempt.signal } : {}),
      redelivered: attempt.receiveCount > 1,
    });
  } catch (error) {
    const reason = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
    await worker.progress.markAttemptFailed(message.run, object, reason, final)
      .catch((progressError: unknown) => deps.logger.error('backfill progress not recorded', { object, error: progressError as Error }));
    throw error;
  }
  if (result === undefined) {
    // Replaced since it was listed: this run cannot index the version it counted.
    await worker.progress.markAttemptFailed(message.run, object, `object changed since it was queued (ETag ${message.etag}); run the backfill again to queue its new version`, true);
    return;
  }
  await worker.progress.markDone(message.run, object, message.size, result.status === 'already-loaded' ? undefined : {
    lines: result.lines, indexed: result.indexed, failedLines: result.parseFailed + result.refused + result.tooLong,
    skipped: result.skipped, outOfRange: result.outOfRange, resumedLines: result.resumedLines,
  });
}
