// The backfill itself: list the source, pick the access-, connection- and health-check-log objects
// (by key) whose delivery-date folder can hold events of the requested days, parse every line
// directly with its type's parser (no Firehose in between) and bulk-index the documents with
// _id = event.id into that type's <prefix>-YYYY-MM-DD by EVENT time. With
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
import { LOG_TYPE_SPECS, LOG_TYPES, logTypeOfKey, type LogType } from '../../transform/log-types.ts';
import { sourceInfo } from '../../transform/parser/source-info.ts';
import { parseAlbObjectKey } from '../../transform/source/s3-key.ts';
import { splitLines } from '../../transform/loader/lines.ts';
import { GUNZIP_CHUNK_BYTES } from '../../transform/loader/load-object.ts';
import { explainError } from '../../templates/install.ts';
import { unwrapErrorRecord } from '../../transform/firehose-error-record.ts';
import { gunzipIfCompressed } from '../decompress.ts';
import { Semaphore } from '../local/semaphore.ts';
import { BulkBatch, bulkIndex } from './bulk.ts';
import { BackfillState, type ObjectCounts } from './state.ts';
import type { LogSource, SourceObject } from './sources.ts';

export interface BackfillOptions {
  client: Client;
  source: LogSource;
  /** Access-log index prefix. */
  indexPrefix: string;
  /** Connection- and health-check-log index prefixes; default alb-connection, alb-health. */
  indexPrefixes?: Partial<Record<Exclude<LogType, 'access'>, string>>;
  /** The log types to load; objects of the others are skipped. Default all three. */
  logTypes?: readonly LogType[];
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

const MAX_LINE_BYTES = 1024 * 1024;
const DAY_MS = 86_400_000;

function dayOffset(day: string, days: number): string {
  return new Date(Date.parse(`${day}T00:00:00Z`) + days * DAY_MS).toISOString().slice(0, 10);
}

/**
 * The event day and event.id of a document from its JSON text (the parser's fast path emits JSON
 * directly). Fields follow the schema order: `@timestamp` first, then the `event` object whose
 * first `id` key is event.id (no earlier event field is called id, and a quoted `"id":"` cannot
 * occur inside a JSON string value, where quotes are escaped).
 */
export function documentKeys(json: string): { day: string; id: string } | undefined {
  const time = json.indexOf('"@timestamp":"');
  const event = json.indexOf('"event":{');
  if (time < 0 || event < 0) return undefined;
  const idStart = json.indexOf('"id":"', event);
  if (idStart < 0) return undefined;
  const from = idStart + 6;
  const to = json.indexOf('"', from);
  const day = json.slice(time + 14, time + 24);
  return /^\d{4}-\d{2}-\d{2}$/.test(day) && to > from ? { day, id: json.slice(from, to) } : undefined;
}

/** Whether an event day falls outside the --from/--to days. */
function outsideDates(day: string, options: Pick<BackfillOptions, 'from' | 'to'>): boolean {
  return (options.from !== undefined && day < options.from) || (options.to !== undefined && day > options.to);
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

/** Index prefix of each log type after the defaults. */
export function backfillPrefixes(options: Pick<BackfillOptions, 'indexPrefix' | 'indexPrefixes'>): Record<LogType, string> {
  return {
    access: options.indexPrefix,
    connection: options.indexPrefixes?.connection ?? LOG_TYPE_SPECS.connection.defaultIndexPrefix,
    health: options.indexPrefixes?.health ?? LOG_TYPE_SPECS.health.defaultIndexPrefix,
  };
}

/** Checks each log type's templates once, when its first document is about to be written. */
type TemplateCheck = (type: LogType) => Promise<void> | undefined;

async function processObject(options: BackfillOptions, bulkSlots: Semaphore, object: SourceObject, checkTemplatesOf: TemplateCheck, onLines: (lines: number, bytes: number) => void): Promise<{ result: ObjectResult; failures: object[] }> {
  const { client, source, signal } = options;
  const prefixes = backfillPrefixes(options);
  // the object's type from its key; Firehose error records name theirs in each envelope
  const objectType: LogType = logTypeOfKey(object.key) ?? 'access';
  const bulkBytes = options.bulkBytes ?? 5 * 2 ** 20;
  const lineSource: Omit<LineSource, 'offset'> = source.bucket ? { bucket: source.bucket, key: object.key } : { key: source.lineKey(object) };
  const where = source.bucket ? `s3://${source.bucket}/${object.key}` : source.lineKey(object);
  const result: ObjectResult = { lines: 0, indexed: 0, failed: 0, skipped: 0, outOfRange: 0, bytes: 0, overwritten: 0, indices: new Set(), originPaths: new Set() };
  const failures: object[] = [];
  // The next request's body, and the line each of its documents came from (for failure records).
  const newBatch = () => new BulkBatch(bulkBytes + bulkBytes / 8);
  let batch = newBatch();
  let origins: { offset: number; line: string }[] = [];
  // The first request of an object goes out at a quarter of the size: at the start of a run all
  // objects fill their first batch at once, and the engine would otherwise wait for all of them.
  let batchLimit = bulkBytes / 4;
  // One bulk request of this object in flight while the next batch is parsed.
  let sending: Promise<void> = Promise.resolve();
  let sendError: unknown;

  const flush = async () => {
    if (batch.size === 0) return;
    const sent = batch;
    const lines = origins;
    batch = newBatch();
    origins = [];
    batchLimit = bulkBytes;
    await sending;
    if (sendError !== undefined) throw sendError;
    sending = bulkSlots
      .run(() => bulkIndex(client, sent, { ...(options.retryWindowMs ? { retryWindowMs: options.retryWindowMs } : {}), ...(signal ? { signal } : {}) }))
      .then((outcome) => {
        result.indexed += outcome.indexed;
        result.overwritten += outcome.overwritten;
        for (const f of outcome.failures) {
          const origin = lines[f.document]!;
          result.failed++;
          failures.push({ source: where, offset: origin.offset, reason: `not indexed: ${f.reason}`, line: origin.line });
        }
      })
      .catch((error: unknown) => {
        sendError ??= error;
      });
  };

  const stream = await source.open(object, signal);
  // Gunzipped by the gzip magic bytes, not the name: ALB objects and Firehose backups alike, and an
  // object whose name and content disagree is still read. Chunks as big as the loader reads.
  const bytes = gunzipIfCompressed(stream, GUNZIP_CHUNK_BYTES);
  try {
    try {
      await readLines();
    } catch (error) {
      // Reading or decompressing failed (truncated gzip, lost connection): the object fails on its
      // own; errors from indexing and aborts stop the run.
      if (error === sendError || signal?.aborted) throw error;
      throw new ObjectReadError(`cannot read ${where}: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
    }
    await flush();
    await sending;
    if (sendError !== undefined) throw sendError;
  } finally {
    stream.destroy();
    await sending;
  }
  return { result, failures };

  /** A document OpenSearch refused (Firehose's delivery-failure backup): again under the index and id Firehose used, so a replay never doubles it. */
  async function addRefusedDocument(refused: { document: string; index: string; id: string }, offset: number): Promise<void> {
    const fail = (reason: string) => {
      result.failed++;
      failures.push({ source: where, offset, reason, line: refused.document });
    };
    const refusedType = LOG_TYPES.find((type) => refused.index.startsWith(`${prefixes[type]}-`));
    if (refusedType === undefined) {
      return fail(`document for index ${refused.index}, outside --prefix ${prefixes.access}, --connection-prefix ${prefixes.connection} and --health-prefix ${prefixes.health}`);
    }
    await checkTemplatesOf(refusedType);
    let fields: { '@timestamp'?: unknown; log?: { file?: { path?: unknown } } } = {};
    try {
      fields = JSON.parse(refused.document) as typeof fields;
    } catch {
      // reported below: no @timestamp
    }
    const day = typeof fields['@timestamp'] === 'string' ? fields['@timestamp'].slice(0, 10) : undefined;
    // A newline would break the _bulk framing.
    if (day === undefined || refused.document.includes('\n')) return fail('refused document is not one line of JSON with an @timestamp');
    if (outsideDates(day, options)) {
      result.outOfRange++;
      return;
    }
    const originPath = fields.log?.file?.path;
    if (typeof originPath === 'string') result.originPaths.add(originPath);
    if (addDocument(refused.index, refused.id, refused.document, offset, refused.document)) await flush();
  }

  /**
   * Adds a document to the next request (`line` is kept for a failure record); true when the request
   * is full and must be sent. Synchronous: it runs for every line, and only a full request awaits.
   */
  function addDocument(index: string, id: string, json: string, offset: number, line: string): boolean {
    result.indices.add(index);
    batch.add(index, id, json);
    origins.push({ offset, line });
    return batch.bytes >= batchLimit;
  }

  async function readLines(): Promise<void> {
    for await (const group of splitLines(bytes, { maxLineBytes: MAX_LINE_BYTES })) {
      signal?.throwIfAborted();
      for (const line of group) {
        if (line.bytes === undefined) {
          result.lines++;
          result.failed++;
          failures.push({ source: where, offset: line.offset, reason: `line longer than ${MAX_LINE_BYTES} bytes (${line.length})`, line: line.head?.toString('utf8') ?? '' });
          continue;
        }
        result.lines++;
        let text = line.bytes.toString('utf8');
        let source: LineSource | undefined = { ...lineSource, offset: line.offset };
        let type = objectType;
        if (options.firehoseErrors) {
          if (text.trim() === '') {
            result.skipped++;
            continue;
          }
          const unwrapped = unwrapErrorRecord(text);
          if (unwrapped.kind === 'invalid') {
            result.failed++;
            failures.push({ source: where, offset: line.offset, reason: unwrapped.error, line: unwrapped.raw });
            continue;
          }
          if (unwrapped.kind === 'document') {
            await addRefusedDocument(unwrapped, line.offset);
            continue;
          }
          ({ line: text, source } = unwrapped);
          type = unwrapped.type ?? 'access';
        }
        const parsed = LOG_TYPE_SPECS[type].parseToJson(text, source === undefined ? {} : { source });
        if (parsed.kind === 'skipped') {
          result.skipped++;
        } else if (parsed.kind === 'failed') {
          result.failed++;
          // From an error record: where the line first came from too (bucket, key, byte offset).
          const logSource = options.firehoseErrors && source !== undefined ? { logSource: source } : {};
          failures.push({ source: where, offset: line.offset, reason: parsed.reason, line: text, ...logSource });
        } else {
          const keys = documentKeys(parsed.json);
          if (keys === undefined) {
            result.failed++;
            failures.push({ source: where, offset: line.offset, reason: 'document has no @timestamp or event.id', line: text });
            continue;
          }
          const { day, id } = keys;
          if (outsideDates(day, options)) {
            result.outOfRange++;
            continue;
          }
          if (options.firehoseErrors && source !== undefined) result.originPaths.add(sourceInfo(source).path);
          const checking = checkTemplatesOf(type);
          if (checking !== undefined) await checking;
          if (addDocument(`${prefixes[type]}-${day}`, id, parsed.json, line.offset, text)) await flush();
        }
      }
      const groupBytes = group[group.length - 1]!.end - group[0]!.offset;
      result.bytes += groupBytes;
      onLines(group.length, groupBytes);
    }
  }
}

/** An object that could not be read to its end; the others go on. */
export class ObjectReadError extends Error {
  override readonly name = 'ObjectReadError';
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
      let outcome: Awaited<ReturnType<typeof processObject>>;
      try {
        outcome = await processObject(objectOptions, bulkSlots, object, checkTemplatesOf, (lines, bytes) => {
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
