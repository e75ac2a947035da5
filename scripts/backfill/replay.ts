// The automatic replay of Firehose's delivery-failure backup: documents OpenSearch refused until
// Firehose's retry window closed (errors/AmazonOpenSearchService-failed/) go back into the index and
// id Firehose used, with the same per-object indexing as `albatross backfill --firehose-errors`
// (index-object.ts), so replaying twice overwrites and never duplicates. Runs only while the domain
// takes writes. An object whose documents are all indexed moves to errors/replayed/ (copy, then
// delete); an object that only partly succeeds keeps the records not indexed, each with the replay's
// reason next to Firehose's, for the next run, and the replayed ones go to errors/replayed/.
// Shared by the replayer Lambda (infra/handlers/replayer.ts) and the local demo.
import { gunzipSync, gzipSync } from 'node:zlib';
import { Readable } from 'node:stream';
import type { Client } from '@opensearch-project/opensearch';
import { Semaphore } from '../../transform/semaphore.ts';
import type { BackupStore } from './backup-store.ts';
import { BulkGaveUpError } from '../../transform/bulk-index/bulk.ts';
import { checkDomainHealth } from './domain-health.ts';
import { indexObject, ObjectReadError, typePrefixes, type LineFailureRecord } from './index-object.ts';
import type { OutsidePrefixesReason } from '../../transform/bulk-index/index-lines.ts';
import { LOG_TYPES, type LogType } from '../../transform/log-types.ts';
import type { LogSource, SourceObject } from './sources.ts';

/** Where Firehose backs up documents OpenSearch refused (`!{firehose:error-output-type}` = AmazonOpenSearchService-failed). */
export const DELIVERY_FAILED_PREFIX = 'errors/AmazonOpenSearchService-failed/';
/** Where replayed records are moved to: errors/replayed/AmazonOpenSearchService-failed/... */
export const REPLAYED_PREFIX = 'errors/replayed/';

export interface ReplayOptions {
  client: Client;
  store: BackupStore;
  /** Access-log index prefix. */
  indexPrefix: string;
  /** Connection- and health-check-log index prefixes; default alb-connection, alb-health. */
  indexPrefixes?: Partial<Record<Exclude<LogType, 'access'>, string>>;
  /**
   * The index families this backup holds (a Firehose stream's backup: its one type; the direct
   * loader's: every type): the run waits while any of their indices is write-blocked. @default all
   */
  logTypes?: readonly LogType[];
  /** The reason kept for a document outside every prefix, in the caller's words. @default the CLI's flags */
  outsidePrefixesReason?: OutsidePrefixesReason;
  /** Objects replayed at once. @default 2 */
  concurrency?: number;
  /** How long one `_bulk` is retried (429, 5xx) before the run stops. @default 60 s */
  retryWindowMs?: number;
  bulkBytes?: number;
  /** Aborting stops the run between requests; objects not finished stay as they are. */
  signal?: AbortSignal;
  /** Names the partial copies in errors/replayed/; default now. */
  now?: () => Date;
}

export interface ReplaySummary {
  /** Set when the domain did not take writes: nothing was replayed. */
  skipped?: string;
  /** Set when the run stopped early (the engine refused again, or the deadline came): the rest waits for the next run. */
  stopped?: string;
  /** Objects found under the delivery-failure prefix. */
  objects: number;
  /** Objects whose every document was indexed (moved to errors/replayed/). */
  objectsReplayed: number;
  /** Objects that kept some records (with the replay's reason) for the next run. */
  objectsPartial: number;
  /** Objects that could not be read; left as they are. */
  objectsFailed: { key: string; reason: string }[];
  documentsReplayed: number;
  /** Records not indexed (refused again, or not a replayable record); kept in their object with the reason. */
  documentsFailed: number;
  seconds: number;
}

/** The key a record set moves to: errors/replayed/<type>/yyyy/..., `suffix` for a partial copy. */
export function replayedKey(key: string, suffix = ''): string {
  return `${REPLAYED_PREFIX}${key.startsWith('errors/') ? key.slice('errors/'.length) : key}${suffix}`;
}

/** The lines of `text` with their byte offsets (the offsets the line splitter reports). */
function linesWithOffsets(text: Buffer): { offset: number; line: Buffer }[] {
  const lines: { offset: number; line: Buffer }[] = [];
  let start = 0;
  while (start < text.length) {
    let end = text.indexOf(0x0a, start);
    if (end < 0) end = text.length;
    lines.push({ offset: start, line: text.subarray(start, end) });
    start = end + 1;
  }
  return lines;
}

/** A record kept for the next run: Firehose's record as it was, plus the replay's reason. */
function keptRecord(line: Buffer, failure: LineFailureRecord, at: Date): string {
  const text = line.toString('utf8');
  try {
    const record = JSON.parse(text) as Record<string, unknown>;
    if (record !== null && typeof record === 'object' && !Array.isArray(record)) {
      const attempts = typeof record.replayAttempts === 'number' ? record.replayAttempts : 0;
      return JSON.stringify({ ...record, replayErrorMessage: failure.reason, replayAttempts: attempts + 1, replayAttemptTimestamp: at.getTime() });
    }
  } catch {
    // not JSON: kept byte for byte, the reason is in the run's log and metrics
  }
  return text;
}

const gzipped = (buffer: Buffer) => buffer.length >= 2 && buffer[0] === 0x1f && buffer[1] === 0x8b;

/** One backup object: index its documents, then move or rewrite it. */
async function replayObject(options: ReplayOptions, bulkSlots: Semaphore, object: SourceObject, summary: ReplaySummary): Promise<void> {
  const { store } = options;
  const stored = await store.read(object).catch((error: unknown) => {
    throw new ObjectReadError(`cannot read ${object.key}: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
  });
  let text: Buffer;
  try {
    text = gzipped(stored) ? gunzipSync(stored) : stored;
  } catch (error) {
    throw new ObjectReadError(`cannot decompress ${object.key}: ${(error as Error).message}`, { cause: error });
  }
  const source: LogSource = {
    description: store.description,
    ...(store.bucket ? { bucket: store.bucket } : {}),
    pathPrefix: store.description,
    lineKey: (o) => o.key,
    list: async function* () {},
    open: async () => Readable.from([text]),
  };
  const { result, failures } = await indexObject(
    {
      client: options.client,
      source,
      indexPrefix: options.indexPrefix,
      ...(options.indexPrefixes ? { indexPrefixes: options.indexPrefixes } : {}),
      ...(options.outsidePrefixesReason ? { outsidePrefixesReason: options.outsidePrefixesReason } : {}),
      firehoseErrors: true,
      retryWindowMs: options.retryWindowMs ?? 60_000,
      ...(options.bulkBytes ? { bulkBytes: options.bulkBytes } : {}),
      ...(options.signal ? { signal: options.signal } : {}),
    },
    bulkSlots,
    object,
  );
  summary.documentsReplayed += result.indexed;
  summary.documentsFailed += result.failed;
  if (failures.length === 0) {
    await store.move(object, replayedKey(object.key));
    summary.objectsReplayed++;
    return;
  }
  const failedAt = new Map(failures.map((f) => [f.offset, f]));
  const at = options.now?.() ?? new Date();
  const kept: string[] = [];
  const replayed: Buffer[] = [];
  for (const { offset, line } of linesWithOffsets(text)) {
    const failure = failedAt.get(offset);
    if (failure) kept.push(keptRecord(line, failure, at));
    else if (line.toString('utf8').trim() !== '') replayed.push(line);
  }
  // The replayed records first: a crash before the rewrite replays them again next time, which
  // overwrites the same _index/_id.
  if (replayed.length > 0) {
    const stamp = at.toISOString().replace(/[-:.]/g, '');
    await store.put(replayedKey(object.key, `.partial-${stamp}`), gzipSync(Buffer.concat(replayed.flatMap((l) => [l, Buffer.from('\n')]))));
  }
  await store.put(object.key, gzipSync(Buffer.from(kept.join('\n') + '\n')));
  summary.objectsPartial++;
}

/** Replays what is under errors/AmazonOpenSearchService-failed/ when the domain takes writes into the backup's index families. */
export async function replayDeliveryFailures(options: ReplayOptions): Promise<ReplaySummary> {
  const started = performance.now();
  const summary: ReplaySummary = { objects: 0, objectsReplayed: 0, objectsPartial: 0, objectsFailed: [], documentsReplayed: 0, documentsFailed: 0, seconds: 0 };
  const finish = () => ({ ...summary, seconds: (performance.now() - started) / 1000 });
  const prefixes = typePrefixes(options);
  const health = await checkDomainHealth(options.client, (options.logTypes ?? LOG_TYPES).map((type) => prefixes[type]));
  if (!health.writable) return { ...finish(), skipped: health.reason };

  const objects: SourceObject[] = [];
  for await (const object of options.store.list(DELIVERY_FAILED_PREFIX)) objects.push(object);
  summary.objects = objects.length;
  const concurrency = Math.max(1, options.concurrency ?? 2);
  const bulkSlots = new Semaphore(concurrency);
  let next = 0;
  const worker = async () => {
    while (next < objects.length && summary.stopped === undefined) {
      if (options.signal?.aborted) {
        summary.stopped ??= 'the run reached its deadline';
        return;
      }
      const object = objects[next++]!;
      try {
        await replayObject(options, bulkSlots, object, summary);
      } catch (error) {
        if (error instanceof ObjectReadError) {
          summary.objectsFailed.push({ key: object.key, reason: error.message });
        } else if (error instanceof BulkGaveUpError) {
          // The engine refuses again: leave this object and the rest for the next run.
          summary.stopped ??= `the engine stopped accepting documents: ${error.message}`;
        } else if (options.signal?.aborted) {
          summary.stopped ??= 'the run reached its deadline';
        } else {
          // Anything else (missing rights, an S3 error while moving): stop the other worker too, then fail the run.
          summary.stopped ??= error instanceof Error ? error.message : String(error);
          throw error;
        }
      }
    }
  };
  const workers = await Promise.allSettled(Array.from({ length: Math.min(concurrency, Math.max(1, objects.length)) }, worker));
  const failed = workers.find((w): w is PromiseRejectedResult => w.status === 'rejected');
  if (failed) throw failed.reason;
  return finish();
}
