// Where lines that cannot be sent to Firehose go (today: lines whose record would exceed
// Firehose's 1,000 KiB limit). Nothing is cut or dropped silently: each such line becomes one
// failure record naming its exact location in the source object (which S3 keeps), its length,
// the reason and its first bytes. Records use Firehose's own error-record shape so one tool reads
// both. A failure is written BEFORE the checkpoint moves past its line, and its key is
// deterministic, so a retry rewrites the same record instead of adding a second one.
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import type { Logger } from '@aws-lambda-powertools/logger';

export interface LineFailure {
  bucket: string;
  key: string;
  etag: string;
  /** 0-based line number. */
  line: number;
  /** Byte offset of the line in the uncompressed object. */
  offset: number;
  /** Line length in bytes (without its LF). */
  length: number;
  errorCode: string;
  errorMessage: string;
  /** First bytes of the line. */
  head: Buffer;
}

export interface FailureSink {
  /** Durably stores the failure; resolves only once it is stored. */
  put(failure: LineFailure): Promise<void>;
}

export const RECORD_TOO_LARGE = 'Loader.RecordTooLarge';
/** Key prefix of failure records in S3: next to Firehose's own `errors/<error-output-type>/` prefixes. */
export const DEFAULT_FAILURE_PREFIX = 'errors/loader-failed/';

/** The stored JSON document: Firehose's error-record fields plus the line's location. */
export function failureDocument(failure: LineFailure, now = Date.now()): Record<string, unknown> {
  return {
    attemptsMade: 0,
    arrivalTimestamp: now,
    errorCode: failure.errorCode,
    errorMessage: failure.errorMessage,
    attemptEndingTimestamp: now,
    source: {
      bucket: failure.bucket, key: failure.key, etag: failure.etag,
      line: failure.line, offset: failure.offset, length: failure.length,
    },
    // Only the head: the full line stays in the source object at source.offset.
    rawDataHead: failure.head.toString('base64'),
  };
}

/** Relative path of a failure record: one per line of an object version, so rewrites replace it. */
export function failureKey(failure: LineFailure): string {
  return `${failure.bucket}/${failure.key}/${failure.etag}/${String(failure.offset).padStart(15, '0')}.json`;
}

export class S3FailureSink implements FailureSink {
  constructor(private readonly s3: S3Client, private readonly bucket: string, private readonly prefix = DEFAULT_FAILURE_PREFIX) {}

  async put(failure: LineFailure): Promise<void> {
    await this.s3.send(new PutObjectCommand({
      Bucket: this.bucket,
      Key: this.prefix + failureKey(failure),
      Body: JSON.stringify(failureDocument(failure)),
      ContentType: 'application/json',
    }));
  }
}

export class DirectoryFailureSink implements FailureSink {
  constructor(private readonly directory: string) {}

  async put(failure: LineFailure): Promise<void> {
    const file = path.join(this.directory, ...failureKey(failure).split('/').map((part) => encodeURIComponent(part)));
    await mkdir(path.dirname(file), { recursive: true });
    await writeFile(file, JSON.stringify(failureDocument(failure)));
  }
}

export class MemoryFailureSink implements FailureSink {
  readonly failures: LineFailure[] = [];
  async put(failure: LineFailure): Promise<void> {
    if (!this.failures.some((f) => failureKey(f) === failureKey(failure))) this.failures.push(failure);
  }
}

/**
 * Fallback when no failure bucket is configured: the failure (location, reason, head) goes to the
 * structured log at error level; the line itself stays in the source object.
 */
export class LogFailureSink implements FailureSink {
  constructor(private readonly logger: Logger) {}
  async put(failure: LineFailure): Promise<void> {
    this.logger.error('line not sent', { failure: failureDocument(failure) });
  }
}
