import type { Enricher } from '../enrich/index.ts';
import type { AlbDocument } from '../schema/fields.ts';

export type { AlbDocument };
export interface LineSource { bucket?: string; key: string; offset: number }   // key = object key or file path
export interface ParseOptions {
  source?: LineSource;
  original?: boolean;
  /** Adds source.geo, source.as and user_agent fields (transform/enrich); none when absent. */
  enrich?: Enricher | undefined;
}
export type ParseResult =
  | { kind: 'document'; document: AlbDocument }       // nested JSON object, fields per SCHEMA_FIELDS
  | { kind: 'skipped'; reason: string }                // empty line, control line: deliberately not a document
  | { kind: 'failed'; reason: string };                // structurally broken line, with a clear reason
