// Where the direct delivery keeps what it could not index: the backup bucket, in the layout Firehose
// uses (`errors/<error-output-type>/yyyy/MM/dd/HH/<name>`, one JSON error record per line, gzip as
// the stack's Firehose writes them), so `albatross backfill --firehose-errors` and `albatross parse
// --firehose-errors` read both pipelines' failures alike. Names are deterministic per object
// version and part, so retrying an object rewrites the same files instead of adding copies.
import { createHash } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import type { ErrorOutputType, FirehoseErrorRecord } from '../firehose-error-record.ts';
import type { ObjectVersion } from './checkpoint.ts';

/** Error records per file: bounds the memory an object full of bad lines needs. */
export const RECORDS_PER_FILE = 10_000;

export interface ErrorRecordSink {
  /** Durably stores one file of records; resolves once it is stored. */
  put(relativeKey: string, records: FirehoseErrorRecord[]): Promise<void>;
}

/**
 * `errors/<type>/yyyy/MM/dd/HH/direct-<object hash>-<first line>`: dated by the source object's
 * LastModified (the same on every retry), named by its version and the line number where the part
 * of the object the file covers starts (a checkpointed offset, where a resumed run starts again).
 */
export function errorRecordKey(type: ErrorOutputType, object: ObjectVersion, lastModified: Date, firstLine: number): string {
  const iso = lastModified.toISOString();
  const hash = createHash('sha256').update(`${object.bucket}/${object.key}#${object.etag}`).digest('hex').slice(0, 32);
  return `errors/${type}/${iso.slice(0, 4)}/${iso.slice(5, 7)}/${iso.slice(8, 10)}/${iso.slice(11, 13)}/direct-${hash}-${String(firstLine).padStart(10, '0')}`;
}

/** One JSON record a line; no records: an empty file (it replaces a file an interrupted run left). */
function ndjson(records: FirehoseErrorRecord[]): string {
  return records.length === 0 ? '' : records.map((r) => JSON.stringify(r)).join('\n') + '\n';
}

/** The backup bucket (gzip, as Firehose writes it with CompressionFormat GZIP). */
export class S3ErrorRecordSink implements ErrorRecordSink {
  constructor(private readonly s3: S3Client, private readonly bucket: string) {}

  async put(relativeKey: string, records: FirehoseErrorRecord[]): Promise<void> {
    await this.s3.send(new PutObjectCommand({ Bucket: this.bucket, Key: `${relativeKey}.gz`, Body: gzipSync(ndjson(records)), ContentType: 'application/gzip' }));
  }
}

/** A local folder standing in for the backup bucket (the demo, tests): plain NDJSON files. */
export class DirectoryErrorRecordSink implements ErrorRecordSink {
  constructor(private readonly directory: string) {}

  async put(relativeKey: string, records: FirehoseErrorRecord[]): Promise<void> {
    const file = path.join(this.directory, ...relativeKey.split('/'));
    await mkdir(path.dirname(file), { recursive: true });
    await writeFile(file, ndjson(records));
  }
}
