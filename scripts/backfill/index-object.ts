// Indexing one object of a backfill source, shared by `albatross backfill` and the replay of
// Firehose's delivery-failure backup (scripts/backfill/replay.ts, the replayer Lambda): open the
// object (gunzipped when it is gzip) and hand its lines to the per-object core the loader's direct
// delivery uses too (transform/bulk-index/index-lines.ts: each line parsed with its log type's
// parser, enriched when asked, bulk-indexed with _id = event.id). Every line ends as indexed, failed
// (with its offset and reason), skipped or out of range; nothing is written anywhere else.
import type { Client } from '@opensearch-project/opensearch';
import type { Enricher } from '../../transform/enrich/index.ts';
import type { LineSource } from '../../transform/parser/index.ts';
import { logTypeOfKey, type LogType } from '../../transform/log-types.ts';
import { GUNZIP_CHUNK_BYTES } from '../../transform/loader/load-object.ts';
import { indexLines, ObjectReadError, type OutsidePrefixesReason, type TemplateCheck } from '../../transform/bulk-index/index-lines.ts';
import { gunzipIfCompressed } from '../decompress.ts';
import type { Semaphore } from '../../transform/semaphore.ts';
import type { ObjectCounts } from './state.ts';
import type { LogSource, SourceObject } from './sources.ts';

export { documentKeys, ObjectReadError, typePrefixes, type TemplateCheck } from '../../transform/bulk-index/index-lines.ts';

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
  /** The reason kept for a refused document outside every prefix. @default the CLI's flags */
  outsidePrefixesReason?: OutsidePrefixesReason;
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

export interface ObjectResult extends ObjectCounts {
  bytes: number;
  overwritten: number;
  indices: Set<string>;
  /** With firehoseErrors: log.file.path of the original objects of the documents indexed. */
  originPaths: Set<string>;
}

/** Indexes one object; throws ObjectReadError when it cannot be read to its end, BulkGaveUpError when the engine stays unavailable. */
export async function indexObject(options: IndexObjectOptions, bulkSlots: Semaphore, object: SourceObject, onLines: (lines: number, bytes: number) => void = () => undefined): Promise<{ result: ObjectResult; failures: LineFailureRecord[] }> {
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
      ...(options.indexPrefixes ? { indexPrefixes: options.indexPrefixes } : {}),
      // the object's type from its key; Firehose error records name theirs in each envelope
      type: logTypeOfKey(object.key) ?? 'access',
      ...(options.enrich ? { enrich: options.enrich } : {}),
      ...(options.checkTemplatesOf ? { checkTemplatesOf: options.checkTemplatesOf } : {}),
      lineSource,
      bulkSlots,
      ...(options.bulkBytes ? { bulkBytes: options.bulkBytes } : {}),
      ...(options.retryWindowMs ? { retryWindowMs: options.retryWindowMs } : {}),
      ...(signal ? { signal } : {}),
      ...(options.from ? { from: options.from } : {}),
      ...(options.to ? { to: options.to } : {}),
      ...(options.firehoseErrors ? { firehoseErrors: true } : {}),
      ...(options.outsidePrefixesReason ? { outsidePrefixesReason: options.outsidePrefixesReason } : {}),
      onLines,
    });
  } catch (error) {
    if (error instanceof ObjectReadError) throw new ObjectReadError(`cannot read ${where}: ${error.message}`, { cause: error.cause });
    throw error;
  } finally {
    stream.destroy();
  }
  const { failures, retries: _retries, throttles: _throttles, ...result } = indexed;
  return {
    result,
    failures: failures.map((f) => ({ source: where, offset: f.offset, reason: f.reason, line: f.line, ...(f.logSource ? { logSource: f.logSource } : {}) })),
  };
}
