// The backfill itself: list the source, pick the access-log objects whose delivery-date folder can
// hold events of the requested days, and index each with the per-object core it shares with the
// loader's direct delivery (transform/bulk-index/index-lines.ts): parse every line directly and
// bulk-index the documents with _id = event.id into <prefix>-YYYY-MM-DD by EVENT time. With
// `firehoseErrors` the source is Firehose's `errors/` backup instead (a replay): a processing-failed
// record's line is parsed with the source its envelope carries, a refused document is indexed again
// under the index and id Firehose used.
// Objects are processed with bounded concurrency; an object counts as done (state file) only when
// all of its documents are acknowledged and its failed lines are written, so an interrupted run
// resumes without duplicates or gaps.
import { createWriteStream, type WriteStream } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import type { Client } from '@opensearch-project/opensearch';
import type { LineSource } from '../../transform/parser/index.ts';
import { parseAlbObjectKey } from '../../transform/source/s3-key.ts';
import { GUNZIP_CHUNK_BYTES } from '../../transform/loader/load-object.ts';
import { explainError } from '../../templates/install.ts';
import { indexLines, ObjectReadError } from '../../transform/bulk-index/index-lines.ts';
import { gunzipIfCompressed } from '../decompress.ts';
import { Semaphore } from '../../transform/semaphore.ts';
import { BackfillState, type ObjectCounts } from './state.ts';
import type { LogSource, SourceObject } from './sources.ts';

export interface BackfillOptions {
  client: Client;
  source: LogSource;
  indexPrefix: string;
  stateFile: string;
  failuresFile: string;
  /** Inclusive UTC days `YYYY-MM-DD`; absent = unbounded. */
  from?: string;
  to?: string;
  concurrency?: number;
  /** `_bulk` requests in flight across all objects; default = concurrency. */
  bulkConcurrency?: number;
  /** Documents per `_bulk` request are cut at about this many bytes. */
  bulkBytes?: number;
  retryWindowMs?: number;
  /**
   * The source holds Firehose error records (`errors/` of the backup bucket) instead of ALB objects:
   * every object is read (gzip or not); the line inside a processing-failed record is indexed with
   * the source its envelope carries (the event.id the transform would have given), a document
   * OpenSearch refused under the index and id Firehose used.
   */
  firehoseErrors?: boolean;
  signal?: AbortSignal;
  onProgress?: (progress: BackfillProgress) => void;
}

export interface BackfillProgress {
  objectsTotal: number;
  objectsDone: number;
  bytesTotal: number;     // compressed bytes of the selected objects
  bytesDone: number;      // compressed bytes of the objects done (resumed ones included)
  lines: number;
  uncompressedBytes: number;
}

export interface BackfillSummary extends ObjectCounts {
  source: string;
  objects: number;            // selected access-log objects
  objectsResumed: number;     // already done in an earlier run
  objectsProcessed: number;   // done in this run
  objectsSkipped: { key: string; reason: string }[];  // not access logs, or outside the dates
  objectsFailed: { key: string; reason: string }[];   // could not be read; not in the state file, retried next run
  duplicatesOverwritten: number;  // documents that replaced one with the same _id (re-runs)
  bytes: number;              // uncompressed bytes read in this run
  indices: string[];
  failuresFile: string;
  stateFile: string;
  interrupted: boolean;
  seconds: number;
  /**
   * With firehoseErrors: log.file.path of the original objects whose lines were indexed in this run
   * (their documents share those paths with the ones indexed before, which is where a duplicate would show).
   */
  originPaths?: string[];
}

const DAY_MS = 86_400_000;

function dayOffset(day: string, days: number): string {
  return new Date(Date.parse(`${day}T00:00:00Z`) + days * DAY_MS).toISOString().slice(0, 10);
}

/** Folder dates (delivery dates) that can hold events of [from, to]: the day after `to` too. */
export function selectByDeliveryDate(folderDate: string | undefined, from?: string, to?: string): boolean {
  if (folderDate === undefined) return from === undefined && to === undefined;
  if (from !== undefined && folderDate < from) return false;
  if (to !== undefined && folderDate > dayOffset(to, 1)) return false;
  return true;
}

interface ObjectResult extends ObjectCounts {
  bytes: number;
  overwritten: number;
  indices: Set<string>;
  /** With firehoseErrors: log.file.path of the original objects of the documents indexed. */
  originPaths: Set<string>;
}

class FailureLog {
  private readonly stream: WriteStream;
  constructor(readonly file: string) {
    this.stream = createWriteStream(file, { flags: 'a' });
  }
  async write(records: object[]): Promise<void> {
    if (records.length === 0) return;
    const text = records.map((r) => JSON.stringify(r)).join('\n') + '\n';
    await new Promise<void>((resolve, reject) => this.stream.write(text, (error) => (error ? reject(error) : resolve())));
  }
  async close(): Promise<void> {
    await new Promise<void>((resolve) => this.stream.end(resolve));
  }
}

async function processObject(options: BackfillOptions, bulkSlots: Semaphore, object: SourceObject, onLines: (lines: number, bytes: number) => void): Promise<{ result: ObjectResult; failures: object[] }> {
  const { source, signal } = options;
  const lineSource: Omit<LineSource, 'offset'> = source.bucket ? { bucket: source.bucket, key: object.key } : { key: source.lineKey(object) };
  const where = source.bucket ? `s3://${source.bucket}/${object.key}` : source.lineKey(object);
  const stream = await source.open(object, signal);
  let indexed;
  try {
    // Gunzipped by the gzip magic bytes, not the name: ALB objects and Firehose backups alike, and an
    // object whose name and content disagree is still read. Chunks as big as the loader reads.
    indexed = await indexLines(gunzipIfCompressed(stream, GUNZIP_CHUNK_BYTES), {
      client: options.client,
      indexPrefix: options.indexPrefix,
      lineSource,
      bulkSlots,
      ...(options.bulkBytes ? { bulkBytes: options.bulkBytes } : {}),
      ...(options.retryWindowMs ? { retryWindowMs: options.retryWindowMs } : {}),
      ...(signal ? { signal } : {}),
      ...(options.from ? { from: options.from } : {}),
      ...(options.to ? { to: options.to } : {}),
      ...(options.firehoseErrors ? { firehoseErrors: true } : {}),
      onLines,
    });
  } catch (error) {
    if (error instanceof ObjectReadError) throw new ObjectReadError(`cannot read ${where}: ${error.message}`, { cause: error.cause });
    throw error;
  } finally {
    stream.destroy();
  }
  const { failures, retries: _retries, ...result } = indexed;
  return {
    result,
    failures: failures.map((f) => ({ source: where, offset: f.offset, reason: f.reason, line: f.line, ...(f.logSource ? { logSource: f.logSource } : {}) })),
  };
}

/**
 * Refuses to write into indices the templates do not cover: without them OpenSearch would guess
 * the types and the first daily index would be broken for good.
 */
export async function checkTemplates(client: Client, indexPrefix: string): Promise<void> {
  const name = `${indexPrefix}-2000-01-01`;
  let response;
  try {
    response = await client.indices.simulateIndexTemplate({ name } as never);
  } catch (error) {
    // The first request of a backfill: unreachable endpoints and missing rights are explained here.
    throw explainError(error, { method: 'POST', path: `/_index_template/_simulate_index/${name}` },
      `The identity needs to read index templates and to create and write ${indexPrefix}-* indices.`);
  }
  const mappings = (response.body as { template?: { mappings?: { properties?: Record<string, any> } } }).template?.mappings;
  const eventId = mappings?.properties?.event?.properties?.id?.type;
  if (eventId !== 'keyword') {
    throw new Error(`no Albatross index template covers ${indexPrefix}-*: run \`npm run setup-templates -- --prefix ${indexPrefix}\` first`);
  }
}

/** Runs (or resumes) a backfill. Resolves with `interrupted: true` when `signal` aborts it. */
export async function runBackfill(options: BackfillOptions): Promise<BackfillSummary> {
  const started = performance.now();
  await checkTemplates(options.client, options.indexPrefix);
  const concurrency = Math.max(1, options.concurrency ?? 4);
  const bulkSlots = new Semaphore(Math.max(1, options.bulkConcurrency ?? concurrency));
  const state = await BackfillState.load(options.stateFile, options.source.description);
  await mkdir(path.dirname(path.resolve(options.failuresFile)), { recursive: true });
  const failureLog = new FailureLog(options.failuresFile);
  const summary: BackfillSummary = {
    source: options.source.description,
    objects: 0,
    objectsResumed: 0,
    objectsProcessed: 0,
    objectsSkipped: [],
    objectsFailed: [],
    lines: 0,
    indexed: 0,
    failed: 0,
    skipped: 0,
    outOfRange: 0,
    duplicatesOverwritten: 0,
    bytes: 0,
    indices: [],
    failuresFile: options.failuresFile,
    stateFile: options.stateFile,
    interrupted: false,
    seconds: 0,
  };
  const indices = new Set<string>();
  const originPaths = new Set<string>();
  const selected: SourceObject[] = [];
  for await (const object of options.source.list()) {
    const key = parseAlbObjectKey(object.key);
    if (options.firehoseErrors) selected.push(object); // error records: every object, whatever its name or date folder
    else if (key.kind !== 'access-log') summary.objectsSkipped.push({ key: object.key, reason: key.reason ?? key.kind });
    else if (!selectByDeliveryDate(key.date, options.from, options.to)) summary.objectsSkipped.push({ key: object.key, reason: 'delivery date outside --from/--to' });
    else selected.push(object);
  }
  summary.objects = selected.length;
  const progress: BackfillProgress = {
    objectsTotal: selected.length,
    objectsDone: 0,
    bytesTotal: selected.reduce((sum, o) => sum + o.size, 0),
    bytesDone: 0,
    lines: 0,
    uncompressedBytes: 0,
  };
  const todo = selected.filter((object) => {
    if (!state.isDone(object)) return true;
    summary.objectsResumed++;
    progress.objectsDone++;
    progress.bytesDone += object.size;
    return false;
  });
  options.onProgress?.({ ...progress });

  // One failing object stops the others too (and the run reports it), instead of leaving them
  // running after the failure log is closed.
  const stop = new AbortController();
  const signal = options.signal ? AbortSignal.any([options.signal, stop.signal]) : stop.signal;
  const objectOptions = { ...options, signal };
  let next = 0;
  const worker = async () => {
    while (next < todo.length && !signal.aborted) {
      const object = todo[next++]!;
      let outcome: Awaited<ReturnType<typeof processObject>>;
      try {
        outcome = await processObject(objectOptions, bulkSlots, object, (lines, bytes) => {
          progress.lines += lines;
          progress.uncompressedBytes += bytes;
          options.onProgress?.({ ...progress });
        });
      } catch (error) {
        if (signal.aborted) return;
        if (error instanceof ObjectReadError) {
          summary.objectsFailed.push({ key: object.key, reason: error.message });
          continue;
        }
        stop.abort();
        throw new Error(`${options.source.description} ${object.key}: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
      }
      // Failures first, then the state: a crash in between re-runs the object, which rewrites the
      // same documents; failure records are the one thing a crash right here could repeat.
      await failureLog.write(outcome.failures);
      const { bytes, overwritten, indices: objectIndices, originPaths: objectOrigins, ...counts } = outcome.result;
      await state.markDone(object, counts);
      summary.objectsProcessed++;
      summary.lines += counts.lines;
      summary.indexed += counts.indexed;
      summary.failed += counts.failed;
      summary.skipped += counts.skipped;
      summary.outOfRange += counts.outOfRange;
      summary.duplicatesOverwritten += overwritten;
      summary.bytes += bytes;
      for (const index of objectIndices) indices.add(index);
      for (const origin of objectOrigins) originPaths.add(origin);
      progress.objectsDone++;
      progress.bytesDone += object.size;
      options.onProgress?.({ ...progress });
    }
  };
  try {
    const workers = await Promise.allSettled(Array.from({ length: Math.min(concurrency, Math.max(1, todo.length)) }, worker));
    const failed = workers.find((w): w is PromiseRejectedResult => w.status === 'rejected');
    if (failed) throw failed.reason;
  } finally {
    await failureLog.close();
  }
  summary.interrupted = options.signal?.aborted === true && summary.objectsProcessed + summary.objectsResumed < summary.objects;
  summary.indices = [...indices].sort();
  if (options.firehoseErrors) summary.originPaths = [...originPaths].sort();
  summary.seconds = (performance.now() - started) / 1000;
  return summary;
}
