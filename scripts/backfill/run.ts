// The backfill itself: list the source, pick the access-, connection- and health-check-log objects
// (by key) whose delivery-date folder can hold events of the requested days, parse every line
// directly with its type's parser (no Firehose in between) and bulk-index the documents with
// _id = event.id into that type's <prefix>-YYYY-MM-DD by EVENT time. With
// `firehoseErrors` the source is Firehose's `errors/` backup instead (a replay): a processing-failed
// record's line is parsed with the source its envelope carries, a refused document is indexed again
// under the index and id Firehose used.
// One object's reading and indexing is index-object.ts (shared with the replay, replay.ts).
// Objects are processed with bounded concurrency; an object counts as done (state file) only when
// all of its documents are acknowledged and its failed lines are written, so an interrupted run
// resumes without duplicates or gaps.
import { createWriteStream, type WriteStream } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import type { Client } from '@opensearch-project/opensearch';
import { LOG_TYPE_SPECS, LOG_TYPES, logTypeOfKey, type LogType } from '../../transform/log-types.ts';
import { parseAlbObjectKey } from '../../transform/source/s3-key.ts';
import { explainError } from '../../templates/install.ts';
import { Semaphore } from '../../transform/semaphore.ts';
import { indexObject, ObjectReadError, type IndexObjectOptions, type TemplateCheck, typePrefixes } from './index-object.ts';
import { BackfillState, type ObjectCounts } from './state.ts';
import type { SourceObject } from './sources.ts';

export { documentKeys, ObjectReadError } from './index-object.ts';

export interface BackfillOptions extends IndexObjectOptions {
  /** The log types to load; objects of the others are skipped. Default all three. */
  logTypes?: readonly LogType[];
  stateFile: string;
  failuresFile: string;
  concurrency?: number;
  /** `_bulk` requests in flight across all objects; default = concurrency. */
  bulkConcurrency?: number;
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
  objects: number;            // selected log objects
  objectsResumed: number;     // already done in an earlier run
  objectsProcessed: number;   // done in this run
  objectsSkipped: { key: string; reason: string }[];  // not ALB logs of a selected type, or outside the dates
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

/** Index prefix of each log type after the defaults. */
export const backfillPrefixes = typePrefixes;

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
  const prefixes = backfillPrefixes(options);
  const logTypes = options.logTypes ?? LOG_TYPES;
  // Each type's templates are checked before its first document (a rejected check stops the run).
  const checks = new Map<LogType, Promise<void>>();
  const checked = new Set<LogType>();
  const checkTemplatesOf: TemplateCheck = (type) => {
    if (checked.has(type)) return undefined;
    let check = checks.get(type);
    if (check === undefined) {
      check = checkTemplates(options.client, prefixes[type]).then(() => void checked.add(type));
      checks.set(type, check);
    }
    return check;
  };
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
    const type = logTypeOfKey(object.key);
    if (options.firehoseErrors) selected.push(object); // error records: every object, whatever its name or date folder
    else if (type === undefined) summary.objectsSkipped.push({ key: object.key, reason: key.reason ?? key.kind });
    else if (!logTypes.includes(type)) summary.objectsSkipped.push({ key: object.key, reason: `${LOG_TYPE_SPECS[type].label} (not among the log types selected)` });
    else if (!selectByDeliveryDate(key.date, options.from, options.to)) summary.objectsSkipped.push({ key: object.key, reason: 'delivery date outside --from/--to' });
    else selected.push(object);
  }
  summary.objects = selected.length;
  // Up front, before any object is read: the templates of every type selected (error records: access, as before).
  const typesSelected = options.firehoseErrors ? ['access' as const] : LOG_TYPES.filter((type) => selected.some((o) => logTypeOfKey(o.key) === type));
  for (const type of typesSelected.length > 0 ? typesSelected : ['access' as const]) await checkTemplatesOf(type);
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
      let outcome: Awaited<ReturnType<typeof indexObject>>;
      try {
        outcome = await indexObject({ ...objectOptions, checkTemplatesOf }, bulkSlots, object, (lines, bytes) => {
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
