// Indexing one object of a backfill source, shared by `albatross backfill` and the replay of
// Firehose's delivery-failure backup (scripts/backfill/replay.ts, the replayer Lambda): read the
// object (gunzipped when it is gzip), split it into lines, turn each line into a document (an ALB
// line parsed now; with `firehoseErrors`, a Firehose error record unwrapped: its line parsed with
// the source its envelope carries, or its refused document under the index and id Firehose used)
// and bulk-index the documents with bounded concurrency. Every line ends as indexed, failed (with
// its offset and reason), skipped or out of range; nothing is written anywhere else.
import type { Client } from '@opensearch-project/opensearch';
import type { Enricher } from '../../transform/enrich/index.ts';
import type { LineSource } from '../../transform/parser/index.ts';
import { LOG_TYPE_SPECS, LOG_TYPES, logTypeOfKey, type LogType } from '../../transform/log-types.ts';
import { sourceInfo } from '../../transform/parser/source-info.ts';
import { splitLines } from '../../transform/loader/lines.ts';
import { GUNZIP_CHUNK_BYTES } from '../../transform/loader/load-object.ts';
import { unwrapErrorRecord } from '../../transform/firehose-error-record.ts';
import { gunzipIfCompressed } from '../decompress.ts';
import type { Semaphore } from '../local/semaphore.ts';
import { BulkBatch, bulkIndex } from './bulk.ts';
import type { ObjectCounts } from './state.ts';
import type { LogSource, SourceObject } from './sources.ts';

export interface IndexObjectOptions {
  client: Client;
  source: LogSource;
  /** Access-log index prefix. */
  indexPrefix: string;
  /** Connection- and health-check-log index prefixes; default alb-connection, alb-health. */
  indexPrefixes?: Partial<Record<Exclude<LogType, 'access'>, string>>;
  /** Called before a type's first document is written (the backfill checks that type's templates once). */
  checkTemplatesOf?: TemplateCheck;
  /** Inclusive UTC days `YYYY-MM-DD`; absent = unbounded. */
  from?: string;
  to?: string;
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
  /** Adds source.geo, source.as and user_agent fields, as the transform does. */
  enrich?: Enricher | undefined;
  signal?: AbortSignal;
}

/** A line that did not become a document: where it is in the object, why, and the line (or record) itself. */
export interface LineFailureRecord {
  source: string;
  offset: number;
  reason: string;
  line: string;
  logSource?: LineSource;
}

const MAX_LINE_BYTES = 1024 * 1024;
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
function outsideDates(day: string, options: Pick<IndexObjectOptions, 'from' | 'to'>): boolean {
  return (options.from !== undefined && day < options.from) || (options.to !== undefined && day > options.to);
}

export interface ObjectResult extends ObjectCounts {
  bytes: number;
  overwritten: number;
  indices: Set<string>;
  /** With firehoseErrors: log.file.path of the original objects of the documents indexed. */
  originPaths: Set<string>;
}

/** Indexes one object; throws ObjectReadError when it cannot be read to its end, BulkGaveUpError when the engine stays unavailable. */
/** Checks a log type's templates before its first document; undefined once checked. */
export type TemplateCheck = (type: LogType) => Promise<void> | undefined;

/** Index prefix of each log type after the defaults. */
export function typePrefixes(options: Pick<IndexObjectOptions, 'indexPrefix' | 'indexPrefixes'>): Record<LogType, string> {
  return {
    access: options.indexPrefix,
    connection: options.indexPrefixes?.connection ?? LOG_TYPE_SPECS.connection.defaultIndexPrefix,
    health: options.indexPrefixes?.health ?? LOG_TYPE_SPECS.health.defaultIndexPrefix,
  };
}

export async function indexObject(options: IndexObjectOptions, bulkSlots: Semaphore, object: SourceObject, onLines: (lines: number, bytes: number) => void = () => undefined): Promise<{ result: ObjectResult; failures: LineFailureRecord[] }> {
  const { client, source, signal } = options;
  const prefixes = typePrefixes(options);
  const checkTemplatesOf: TemplateCheck = options.checkTemplatesOf ?? (() => undefined);
  // the object's type from its key; Firehose error records name theirs in each envelope
  const objectType: LogType = logTypeOfKey(object.key) ?? 'access';
  const bulkBytes = options.bulkBytes ?? 5 * 2 ** 20;
  const lineSource: Omit<LineSource, 'offset'> = source.bucket ? { bucket: source.bucket, key: object.key } : { key: source.lineKey(object) };
  const where = source.bucket ? `s3://${source.bucket}/${object.key}` : source.lineKey(object);
  const result: ObjectResult = { lines: 0, indexed: 0, failed: 0, skipped: 0, outOfRange: 0, bytes: 0, overwritten: 0, indices: new Set(), originPaths: new Set() };
  const failures: LineFailureRecord[] = [];
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
        let type = objectType;
        let source: LineSource | undefined = { ...lineSource, offset: line.offset };
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
        // Enrichment applies to access logs (client address, user agent).
        const parseOptions = type === 'access' ? { enrich: options.enrich } : {};
        const parsed = LOG_TYPE_SPECS[type].parseToJson(text, source === undefined ? parseOptions : { source, ...parseOptions });
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
