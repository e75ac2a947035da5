// S3 stand-in on loopback: s3rver (S3 REST/XML wire protocol on the local file system), checked
// against the current @aws-sdk/client-s3 (path-style PutObject/GetObject streaming/Range/HeadObject/
// ListObjectsV2, ETags, NoSuchKey) in test/scripts/local/s3-server.test.ts. Clients use
// `forcePathStyle: true` and LOCAL_S3_CREDENTIALS: s3rver checks SigV4 signatures against its one
// built-in key pair (S3RVER/S3RVER) and answers InvalidAccessKeyId for any other key.
//
// s3rver predates the SDK's default flexible checksums: PutObject/UploadPart with a stream body
// arrive as `Content-Encoding: aws-chunked` (chunk framing plus a checksum trailer), which s3rver
// would store verbatim. decodeAwsChunked() strips the framing before s3rver's store sees the body,
// so the unmodified SDK works with streams too (the trailer checksum is not verified).
//
// s3rver's store answers a PutObject once its hashing stage has seen the last byte, not once the
// file is written (a new object may not even exist yet): a GetObject right after the PUT could
// answer NoSuchKey or a short body. writeObjectsDurably() makes the store write to a temporary
// file, rename it into place and only then answer, as S3 does (read-after-write).
//
// `onObjectCreated` receives the S3 event notification S3 would send for each new object, in the
// real wire shape: the key URL-encoded with '+' for spaces, ETag without quotes.
import { createHash, randomUUID } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import type { IncomingMessage } from 'node:http';
import { Readable, Transform, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import os from 'node:os';
import path from 'node:path';
import S3rver from 's3rver';

export interface S3EventNotification {
  Records: Array<{
    eventVersion: string; eventSource: 'aws:s3'; awsRegion: string; eventTime: string; eventName: string;
    s3: { s3SchemaVersion: string; configurationId: string; bucket: { name: string; arn: string }; object: { key: string; size: number; eTag: string; sequencer: string } };
  }>;
}

export interface LocalS3Options {
  /** Where objects live; default a fresh temporary directory removed on stop(). */
  directory?: string;
  port?: number;
  /** Buckets created at start. */
  buckets?: string[];
  /** Called for every PutObject/CopyObject/POST, as an S3 ObjectCreated notification. */
  onObjectCreated?: (notification: S3EventNotification) => void;
  /**
   * The account owning every bucket: a request whose `x-amz-expected-bucket-owner` names another one is refused
   * with 403 AccessDenied, as S3 does. @default LOCAL_BUCKET_OWNER
   */
  bucketOwner?: string;
}

/** The account the local buckets belong to unless told otherwise. */
export const LOCAL_BUCKET_OWNER = '123456789012';

export interface LocalS3 { endpoint: string; stop(): Promise<void> }

/** The only key pair s3rver accepts (not a secret: it is hard-coded in s3rver). */
export const LOCAL_S3_CREDENTIALS = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' };

/** S3 event notifications form-encode keys: spaces become '+', other specials %XX. */
function encodeEventKey(key: string): string {
  return encodeURIComponent(key).replace(/%20/g, '+').replace(/%2F/g, '/');
}

interface S3rverRecord { eventName: string; awsRegion: string; eventTime: string; s3: { bucket: { name: string }; object: { key: string; size?: number; eTag?: string; sequencer: string } } }

/**
 * Decodes an `aws-chunked` body: `<hex size>[;extensions]\r\n<data>\r\n` ... `0\r\n<trailers>\r\n`.
 * Calls `onEnd` with the decoded length.
 */
export function decodeAwsChunked(onEnd?: (decodedLength: number) => void): Transform {
  let buffered: Buffer = Buffer.alloc(0);
  let state: 'size' | 'data' | 'crlf' | 'trailers' = 'size';
  let remaining = 0;
  let decoded = 0;
  return new Transform({
    transform(chunk: Buffer, _encoding, callback: TransformCallback) {
      buffered = buffered.length === 0 ? chunk : Buffer.concat([buffered, chunk]);
      for (;;) {
        if (state === 'size') {
          const eol = buffered.indexOf('\r\n');
          if (eol < 0) break;
          const size = Number.parseInt(buffered.toString('latin1', 0, eol).split(';')[0]!, 16);
          if (!Number.isInteger(size) || size < 0) return callback(new Error('malformed aws-chunked size line'));
          buffered = buffered.subarray(eol + 2);
          remaining = size;
          state = size === 0 ? 'trailers' : 'data';
        } else if (state === 'data') {
          if (buffered.length === 0) break;
          const take = Math.min(remaining, buffered.length);
          this.push(buffered.subarray(0, take));
          decoded += take;
          buffered = buffered.subarray(take);
          remaining -= take;
          if (remaining === 0) state = 'crlf';
        } else if (state === 'crlf') {
          if (buffered.length < 2) break;
          buffered = buffered.subarray(2);
          state = 'size';
        } else {
          buffered = Buffer.alloc(0); // checksum trailers: not part of the object
          break;
        }
      }
      callback();
    },
    flush(callback: TransformCallback) {
      if (state !== 'trailers') return callback(new Error('aws-chunked body ended before its final chunk'));
      onEnd?.(decoded);
      callback();
    },
  });
}

function isAwsChunked(stream: unknown): stream is IncomingMessage {
  const encoding = (stream as Partial<IncomingMessage> | null)?.headers?.['content-encoding'];
  return typeof encoding === 'string' && encoding.split(',').some((e) => e.trim() === 'aws-chunked');
}

interface StoredObject { bucket: string; key: string; content: unknown; metadata: Record<string, string | number> }
interface S3rverStore {
  putObject(object: StoredObject): Promise<{ size: number; md5: string }>;
  putPart(bucket: string, uploadId: string, partNumber: number, content: unknown): Promise<{ size: number; md5: string }>;
  putMetadata(bucket: string, key: string, metadata: Record<string, string | number>, md5: string): Promise<void>;
  getResourcePath(bucket: string, key: string | undefined, resource: string): string;
}

/** Writes `content` to `target` through a temporary file beside it; resolves once it is in place. */
async function writeFileFully(content: unknown, target: string): Promise<{ size: number; md5: string }> {
  await mkdir(path.dirname(target), { recursive: true });
  // Beside the target so rename() stays on one file system; the suffix keeps it out of listings.
  const temporary = `${target}.partial-${randomUUID()}`;
  const md5 = createHash('md5');
  let size = 0;
  const source = Buffer.isBuffer(content) ? Readable.from([content]) : content as Readable;
  try {
    await pipeline(source, new Transform({
      transform(chunk: Buffer, _encoding, callback) {
        md5.update(chunk);
        size += chunk.length;
        callback(null, chunk);
      },
    }), createWriteStream(temporary));
    await rename(temporary, target);
  } catch (error) {
    await rm(temporary, { force: true });
    throw error;
  }
  return { size, md5: md5.digest('hex') };
}

/** Makes s3rver's store answer uploads only once they are written (see the note at the top). */
function writeObjectsDurably(store: S3rverStore): void {
  store.putObject = async (object) => {
    const written = await writeFileFully(object.content, store.getResourcePath(object.bucket, object.key, 'object'));
    await store.putMetadata(object.bucket, object.key, object.metadata, written.md5);
    return written;
  };
  store.putPart = async (bucket, uploadId, partNumber, content) => {
    const partPath = path.join(store.getResourcePath(bucket, undefined, 'uploads'), uploadId, String(partNumber));
    const written = await writeFileFully(content, partPath);
    await writeFile(`${partPath}.md5`, written.md5);
    return written;
  };
}

/** Makes s3rver's store accept aws-chunked uploads (see the note at the top). */
function acceptAwsChunked(store: S3rverStore): void {
  const putObject = store.putObject.bind(store);
  const putPart = store.putPart.bind(store);
  store.putObject = (object) => {
    if (isAwsChunked(object.content)) {
      const rest = String(object.metadata['content-encoding']).split(',').map((e) => e.trim()).filter((e) => e !== 'aws-chunked');
      if (rest.length > 0) object.metadata['content-encoding'] = rest.join(',');
      else delete object.metadata['content-encoding'];
      object.content = (object.content as Readable).pipe(decodeAwsChunked((length) => { object.metadata['content-length'] = length; }));
    }
    return putObject(object);
  };
  store.putPart = (bucket, uploadId, partNumber, content) =>
    putPart(bucket, uploadId, partNumber, isAwsChunked(content) ? content.pipe(decodeAwsChunked()) : content);
}

export async function startLocalS3(options: LocalS3Options = {}): Promise<LocalS3> {
  const temporary = options.directory === undefined ? await mkdtemp(path.join(os.tmpdir(), 'albatross-s3-')) : undefined;
  const directory = options.directory ?? temporary!;
  const server = new S3rver({
    address: '127.0.0.1',
    port: options.port ?? 0,
    directory,
    silent: true,
    configureBuckets: (options.buckets ?? []).map((name) => ({ name, configs: [] })),
  });
  // First in line, before s3rver's own handlers (Koa composes its middleware list when the server starts).
  const owner = options.bucketOwner ?? LOCAL_BUCKET_OWNER;
  (server as unknown as { middleware: unknown[] }).middleware.unshift(async (ctx: { get(header: string): string; status: number; type: string; body: string }, next: () => Promise<void>) => {
    const expected = ctx.get('x-amz-expected-bucket-owner');
    if (expected === '' || expected === owner) return next();
    ctx.status = 403;
    ctx.type = 'application/xml';
    ctx.body = '<?xml version="1.0" encoding="UTF-8"?><Error><Code>AccessDenied</Code><Message>Access Denied</Message></Error>';
  });
  const store = (server as unknown as { store: S3rverStore }).store;
  writeObjectsDurably(store);
  acceptAwsChunked(store);
  if (options.onObjectCreated) {
    const notify = options.onObjectCreated;
    server.on('event', (event: { Records: S3rverRecord[] }) => {
      const records = event.Records.filter((r) => r.eventName.startsWith('ObjectCreated:')).map((r) => ({
        eventVersion: '2.1', eventSource: 'aws:s3' as const, awsRegion: r.awsRegion, eventTime: r.eventTime,
        eventName: r.eventName,
        s3: {
          s3SchemaVersion: '1.0', configurationId: 'albatross-local',
          bucket: { name: r.s3.bucket.name, arn: `arn:aws:s3:::${r.s3.bucket.name}` },
          object: { key: encodeEventKey(r.s3.object.key), size: r.s3.object.size ?? 0, eTag: r.s3.object.eTag ?? '', sequencer: r.s3.object.sequencer },
        },
      }));
      if (records.length > 0) notify({ Records: records });
    });
  }
  const address = await server.run();
  return {
    endpoint: `http://127.0.0.1:${address.port}`,
    stop: async () => {
      const closing = server.close();
      server.httpServer?.closeAllConnections();
      await closing;
      if (temporary) await rm(temporary, { recursive: true, force: true });
    },
  };
}
