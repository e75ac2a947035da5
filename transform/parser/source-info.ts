// Per-object facts for the `source` option, computed once per S3 object (or
// file) rather than once per line: the parsed object key (account, region),
// log.file.path, whether that path needs JSON escaping, and the hash prefix of
// event.id. A Firehose batch can interleave lines of several objects (parallel
// loaders), so this is a small LRU cache, not just the last object.
import { parseAlbObjectKey, type AlbObjectKey } from '../source/s3-key.ts';
import { sourceDigest } from './event-id.ts';
import { NEEDS_ESCAPE } from './json-writer.ts';
import type { LineSource } from './types.ts';

export interface SourceInfo {
  bucket: string | undefined;
  key: string;
  objectKey: AlbObjectKey;
  path: string;           // log.file.path
  clean: boolean;         // path needs no JSON escaping
  idPrefix: string;       // event.id = idPrefix + offset
}

/** Objects a transform batch is likely to interleave; parsing a key again costs a few microseconds, no more. */
const CAPACITY = 64;
const cache = new Map<string, SourceInfo>();
let last: SourceInfo | undefined;

function compute(bucket: string | undefined, key: string): SourceInfo {
  const path = bucket === undefined ? key : `s3://${bucket}/${key}`;
  return {
    bucket,
    key,
    objectKey: parseAlbObjectKey(key),
    path,
    clean: !NEEDS_ESCAPE.test(path),
    idPrefix: `${sourceDigest(bucket, key)}-`,
  };
}

export function sourceInfo(source: LineSource): SourceInfo {
  // consecutive lines nearly always come from the same object: one string comparison
  if (last !== undefined && last.key === source.key && last.bucket === source.bucket) return last;
  const cacheKey = `${source.bucket ?? ''}\u0000${source.bucket === undefined ? 0 : 1}${source.key}`;
  let info = cache.get(cacheKey);
  cache.delete(cacheKey); // (re-)inserted below as the most recently used
  // the fields are compared too: a \u0000 inside a bucket name could make two cache keys equal
  if (info === undefined || info.key !== source.key || info.bucket !== source.bucket) {
    info = compute(source.bucket, source.key);
    if (cache.size >= CAPACITY) cache.delete(cache.keys().next().value!);
  }
  cache.set(cacheKey, info);
  last = info;
  return info;
}
