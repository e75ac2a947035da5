// Bookkeeping fields every log type's document carries (where the line came from, its id, tags),
// shared by the connection- and health-check-log schemas. The access-log schema (fields.ts) lists
// the same paths with its own wording.

export const SOURCE_FIELDS = [
  { path: 'event.id', type: 'keyword', description: 'Deterministic id: a hash of the source object/file and byte offset when known, else of the line itself.' },
  { path: 'event.original', type: 'keyword', description: 'The raw log line; only when asked for (`--original`, transform option).' },
  { path: 'cloud.provider', type: 'keyword', description: 'Always `aws`.' },
  { path: 'cloud.account.id', type: 'keyword', description: 'AWS account id, from the S3 object key.' },
  { path: 'cloud.region', type: 'keyword', description: 'AWS region, from the S3 object key.' },
  { path: 'log.file.path', type: 'keyword', description: 'Object (`s3://bucket/key`) or file the line came from, when known.' },
  { path: 'log.offset', type: 'long', description: 'Byte offset of the line in the decompressed object or file, when known.' },
  { path: 'tags', type: 'keyword', array: true, description: 'Flags such as `malformed_source.ip`: a value that could not be typed was left out of its field.' },
] as const;
