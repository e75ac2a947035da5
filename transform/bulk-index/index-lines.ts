// The per-object core that `albatross backfill`, the replay of Firehose's backup (scripts/backfill/
// index-object.ts reads the objects for both) and the loader's direct delivery share: the lines of
// one (decompressed) object -> typed documents of the object's log type (access lines enriched when
// an enricher is given) -> `_bulk` with `_id` = event.id into the daily index
// of each document's EVENT time (`<prefix>-YYYY-MM-DD`), so indexing an object again overwrites
// instead of duplicating. One `_bulk` request of the object is in flight while the next is parsed;
// `bulkSlots` bounds requests across objects. Nothing is dropped: every line ends indexed, skipped
// (empty, control, outside the days asked for) or as one failure with its reason, which the caller
// stores (backfill: a failures file; direct delivery: the backup bucket in Firehose's layout).
import type { Client } from '@opensearch-project/opensearch';
import { unwrapErrorRecord } from '../firehose-error-record.ts';
import { splitLines } from '../loader/lines.ts';
import type { JsonParseResult, LineSource } from '../parser/index.ts';
import type { Enricher } from '../enrich/index.ts';
import { LOG_TYPE_SPECS, LOG_TYPES, type LogType } from '../log-types.ts';
import { sourceInfo } from '../parser/source-info.ts';
import { BulkBatch, bulkIndex, type BulkSender } from './bulk.ts';

/** Lines longer than this are failures (their first KiB is kept); ALB lines are a few KiB at most. */
export const MAX_LINE_BYTES = 1024 * 1024;

/** Checks a log type's templates before its first document; undefined once checked. */
export type TemplateCheck = (type: LogType) => Promise<void> | undefined;

export interface IndexLinesOptions {
  client: Client;
  /** Access-log index prefix. */
  indexPrefix: string;
  /** Connection- and health-check-log index prefixes; default alb-connection, alb-health. */
  indexPrefixes?: Partial<Record<Exclude<LogType, 'access'>, string>>;
  /** The object's log type (from its key); default access. Firehose error records name theirs in each envelope. */
  type?: LogType;
  /** Adds source.geo, source.as and user_agent fields to access-log documents, as the transform does. */
  enrich?: Enricher | undefined;
  /** Called before a type's first document is written (the backfill checks that type's templates once). */
  checkTemplatesOf?: TemplateCheck;
  /** The lines' origin without the offset (bucket + key, or a file path as key): it makes event.id. */
  lineSource: Omit<LineSource, 'offset'>;
  /** Bounds `_bulk` requests in flight across every object being indexed. */
  bulkSlots: { run<T>(task: () => Promise<T>): Promise<T> };
  /** Documents per `_bulk` request are cut at about this many bytes. Default 5 MiB. */
  bulkBytes?: number;
  retryWindowMs?: number;
  signal?: AbortSignal;
  /** Inclusive UTC event days `YYYY-MM-DD`; documents outside are counted as outOfRange, not indexed. */
  from?: string;
  to?: string;
  /**
   * The lines are Firehose error records (a replay): a processing-failed record's line is parsed
   * with the source its envelope carries, a refused document goes again under its index and id.
   */
  firehoseErrors?: boolean;
  /**
   * The reason kept for a refused document whose index is outside every prefix, in the words of the
   * caller's settings. @default the `albatross backfill` flags (outsideCliPrefixes)
   */
  outsidePrefixesReason?: OutsidePrefixesReason;
  send?: BulkSender;
  onBulkRequest?: (milliseconds: number) => void;
  /** After each group of lines is read: their count and bytes (progress). */
  onLines?: (lines: number, bytes: number) => void;
  /**
   * Where an earlier run's checkpoint ends: lines before `lines` are read (the split needs them for
   * the offsets that make event.id) but neither parsed nor indexed; line `lines` must start at `bytes`.
   */
  resumeFrom?: SettledPoint;
  /**
   * After each `_bulk` request is acknowledged: the first line not yet settled. Every line before it
   * is indexed, skipped, or in `failures` (refused documents included). Synchronous and cheap: the
   * caller decides when to checkpoint it.
   */
  onSettled?: (settled: SettledPoint, failures: readonly IndexFailure[]) => void;
}

/** A line boundary of the object: line number `lines` starts at uncompressed byte `bytes`. */
export interface SettledPoint { lines: number; bytes: number }

/** One line that did not become a document (or a document OpenSearch refused for good). */
export interface IndexFailure {
  /** Byte offset and 0-based number of the line in the object. */
  offset: number;
  lineNumber: number;
  reason: string;
  /** The line (for a refused document: the line it came from; for an over-long line: its first KiB). */
  line: string;
  /** Replays: where the line inside an error record first came from. */
  logSource?: LineSource;
  /** The log type the line was parsed as (a parser reject keeps it in its error record). */
  type?: LogType;
  /** A document OpenSearch refused, as sent. */
  refused?: { index: string; id: string; json: string };
  /** The line exceeded MAX_LINE_BYTES: only its head is in `line`. */
  tooLong?: { length: number; head: Buffer };
}

export interface IndexLinesResult {
  /** Lines of the object read (resumed ones included). */
  lines: number;
  /** Of `lines`, lines before `resumeFrom`: read, not indexed. */
  resumedLines: number;
  indexed: number;
  failed: number;
  skipped: number;
  outOfRange: number;
  /** Uncompressed bytes read. */
  bytes: number;
  /** Of `indexed`, documents that replaced one with the same _id (a re-run or a redelivery). */
  overwritten: number;
  retries: number;
  /** 429 answers from the engine (each one retried after a backoff). */
  throttles: number;
  indices: Set<string>;
  /** Replays: log.file.path of the original objects of the documents indexed. */
  originPaths: Set<string>;
  failures: IndexFailure[];
}

/** Why a refused document for `index` is not replayed under these prefixes (each caller names its own settings). */
export type OutsidePrefixesReason = (index: string, prefixes: Readonly<Record<LogType, string>>) => string;

/** The CLI's wording: the flags that set each prefix. */
export const outsideCliPrefixes: OutsidePrefixesReason = (index, prefixes) =>
  `document for index ${index}, outside --prefix ${prefixes.access}, --connection-prefix ${prefixes.connection} and --health-prefix ${prefixes.health}`;

/** Reading the object failed (truncated gzip, lost connection), as opposed to indexing it. */
export class ObjectReadError extends Error {
  override readonly name = 'ObjectReadError';
}

/**
 * The one place a line becomes a document, for both the backfill and the direct delivery (the
 * transform Lambda builds the same document for Firehose).
 */
export function buildDocument(line: string, source: LineSource | undefined, type: LogType = 'access', enrich?: Enricher): JsonParseResult {
  // Enrichment applies to access logs (client address, user agent).
  const options = type === 'access' && enrich !== undefined ? { enrich } : {};
  return LOG_TYPE_SPECS[type].parseToJson(line, source === undefined ? options : { source, ...options });
}

/** Index prefix of each log type after the defaults. */
export function typePrefixes(options: Pick<IndexLinesOptions, 'indexPrefix' | 'indexPrefixes'>): Record<LogType, string> {
  return {
    access: options.indexPrefix,
    connection: options.indexPrefixes?.connection ?? LOG_TYPE_SPECS.connection.defaultIndexPrefix,
    health: options.indexPrefixes?.health ?? LOG_TYPE_SPECS.health.defaultIndexPrefix,
  };
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

/** Whether an event day falls outside the from/to days. */
export function outsideDates(day: string, range: { from?: string; to?: string }): boolean {
  return (range.from !== undefined && day < range.from) || (range.to !== undefined && day > range.to);
}

interface Origin { offset: number; lineNumber: number; line: string; index: string; id: string; json: string }

/**
 * Indexes every line of `bytes` (already decompressed). Resolves when each document is acknowledged
 * or refused for good; throws ObjectReadError when `bytes` fails, BulkGaveUpError when the engine
 * stays unavailable past the retry window (the object must then not count as done).
 */
export async function indexLines(bytes: AsyncIterable<Buffer> | Iterable<Buffer>, options: IndexLinesOptions): Promise<IndexLinesResult> {
  const { client, signal } = options;
  const prefixes = typePrefixes(options);
  const checkTemplatesOf: TemplateCheck = options.checkTemplatesOf ?? (() => undefined);
  const objectType: LogType = options.type ?? 'access';
  const bulkBytes = options.bulkBytes ?? 5 * 2 ** 20;
  const result: IndexLinesResult = {
    lines: 0, resumedLines: 0, indexed: 0, failed: 0, skipped: 0, outOfRange: 0, bytes: 0, overwritten: 0, retries: 0, throttles: 0,
    indices: new Set(), originPaths: new Set(), failures: [],
  };
  const fail = (failure: IndexFailure) => {
    result.failed++;
    result.failures.push(failure);
  };
  // The next request's body, and the line each of its documents came from (for failure records).
  const newBatch = () => new BulkBatch(bulkBytes + bulkBytes / 8);
  let batch = newBatch();
  let origins: Origin[] = [];
  // The first request of an object goes out at a quarter of the size: when many objects start at
  // once, the engine would otherwise wait for all of them to fill a whole request.
  let batchLimit = bulkBytes / 4;
  let sending: Promise<void> = Promise.resolve();
  let sendError: unknown;
  // Settlement: the first line of each batch not yet acknowledged (batches are acknowledged in
  // order), and the end of the last group of lines read (everything before it is handled or batched).
  const unacknowledged: SettledPoint[] = [];
  const resumeLines = options.resumeFrom?.lines ?? 0;
  let readUpTo: SettledPoint = options.resumeFrom ?? { lines: 0, bytes: 0 };

  const flush = async () => {
    if (batch.size === 0) return;
    const sent = batch;
    const lines = origins;
    batch = newBatch();
    origins = [];
    batchLimit = bulkBytes;
    await sending;
    if (sendError !== undefined) throw sendError;
    sending = options.bulkSlots
      .run(() => bulkIndex(client, sent, {
        ...(options.retryWindowMs ? { retryWindowMs: options.retryWindowMs } : {}),
        ...(signal ? { signal } : {}),
        ...(options.send ? { send: options.send } : {}),
        ...(options.onBulkRequest ? { onRequest: options.onBulkRequest } : {}),
      }))
      .then((outcome) => {
        result.indexed += outcome.indexed;
        result.overwritten += outcome.overwritten;
        result.retries += outcome.retries;
        result.throttles += outcome.throttles;
        for (const f of outcome.failures) {
          const origin = lines[f.document]!;
          fail({
            offset: origin.offset, lineNumber: origin.lineNumber, reason: `not indexed: ${f.reason}`, line: origin.line,
            refused: { index: origin.index, id: origin.id, json: origin.json },
          });
        }
        unacknowledged.shift();
        options.onSettled?.(unacknowledged[0] ?? readUpTo, result.failures);
      })
      .catch((error: unknown) => {
        sendError ??= error;
      });
  };

  /** Adds a document to the next request; true when the request is full and must be sent. Synchronous: it runs for every line. */
  const addDocument = (origin: Origin): boolean => {
    result.indices.add(origin.index);
    if (batch.size === 0) unacknowledged.push({ lines: origin.lineNumber, bytes: origin.offset });
    batch.add(origin.index, origin.id, origin.json);
    origins.push(origin);
    return batch.bytes >= batchLimit;
  };

  /** A document OpenSearch refused (Firehose's delivery-failure backup): again under the index and id Firehose used, so a replay never doubles it. */
  const addRefusedDocument = async (refused: { document: string; index: string; id: string }, offset: number, lineNumber: number): Promise<void> => {
    const failRefused = (reason: string) => fail({ offset, lineNumber, reason, line: refused.document });
    const refusedType = LOG_TYPES.find((type) => refused.index.startsWith(`${prefixes[type]}-`));
    if (refusedType === undefined) {
      return failRefused((options.outsidePrefixesReason ?? outsideCliPrefixes)(refused.index, prefixes));
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
    if (day === undefined || refused.document.includes('\n')) return failRefused('refused document is not one line of JSON with an @timestamp');
    if (outsideDates(day, options)) {
      result.outOfRange++;
      return;
    }
    const originPath = fields.log?.file?.path;
    if (typeof originPath === 'string') result.originPaths.add(originPath);
    if (addDocument({ offset, lineNumber, line: refused.document, index: refused.index, id: refused.id, json: refused.document })) await flush();
  };

  const readLines = async (): Promise<void> => {
    for await (const group of splitLines(bytes, { maxLineBytes: MAX_LINE_BYTES })) {
      signal?.throwIfAborted();
      for (const line of group) {
        result.lines++;
        if (line.index <= resumeLines && resumeLines > 0) {
          if (line.index < resumeLines) {
            result.resumedLines++;
            continue;
          }
          // The ETag pins the content, so this means a broken checkpoint: stop rather than guess.
          if (line.offset !== options.resumeFrom!.bytes) {
            throw new Error(`checkpoint says line ${resumeLines} starts at byte ${options.resumeFrom!.bytes}, the object has it at ${line.offset}`);
          }
        }
        if (line.bytes === undefined) {
          const head = line.head ?? Buffer.alloc(0);
          fail({
            offset: line.offset, lineNumber: line.index, reason: `line longer than ${MAX_LINE_BYTES} bytes (${line.length})`,
            line: head.toString('utf8'), tooLong: { length: line.length, head },
          });
          continue;
        }
        let text = line.bytes.toString('utf8');
        let source: LineSource | undefined = { ...options.lineSource, offset: line.offset };
        let type = objectType;
        if (options.firehoseErrors) {
          if (text.trim() === '') {
            result.skipped++;
            continue;
          }
          const unwrapped = unwrapErrorRecord(text);
          if (unwrapped.kind === 'invalid') {
            fail({ offset: line.offset, lineNumber: line.index, reason: unwrapped.error, line: unwrapped.raw });
            continue;
          }
          if (unwrapped.kind === 'document') {
            await addRefusedDocument(unwrapped, line.offset, line.index);
            continue;
          }
          ({ line: text, source } = unwrapped);
          type = unwrapped.type ?? 'access';
        }
        const parsed = buildDocument(text, source, type, options.enrich);
        if (parsed.kind === 'skipped') {
          result.skipped++;
        } else if (parsed.kind === 'failed') {
          // From an error record: where the line first came from too (bucket, key, byte offset).
          const logSource = options.firehoseErrors && source !== undefined ? { logSource: source } : {};
          fail({ offset: line.offset, lineNumber: line.index, reason: parsed.reason, line: text, type, ...logSource });
        } else {
          const keys = documentKeys(parsed.json);
          if (keys === undefined) {
            fail({ offset: line.offset, lineNumber: line.index, reason: 'document has no @timestamp or event.id', line: text });
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
          if (addDocument({ offset: line.offset, lineNumber: line.index, line: text, index: `${prefixes[type]}-${day}`, id, json: parsed.json })) await flush();
        }
      }
      const last = group[group.length - 1]!;
      const groupBytes = last.end - group[0]!.offset;
      result.bytes += groupBytes;
      if (last.index >= resumeLines) readUpTo = { lines: last.index + 1, bytes: last.end };
      options.onLines?.(group.length, groupBytes);
    }
  };

  try {
    try {
      await readLines();
    } catch (error) {
      // Reading or decompressing failed: the object fails on its own; errors from indexing and
      // aborts are passed on as they are.
      if (error === sendError || signal?.aborted) throw error;
      throw new ObjectReadError(error instanceof Error ? error.message : String(error), { cause: error });
    }
    await flush();
    await sending;
    if (sendError !== undefined) throw sendError;
  } finally {
    await sending;
  }
  return result;
}
