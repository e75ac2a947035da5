// s3rver checked against the current @aws-sdk/client-s3, for everything the loader and the local
// pipeline use.
import {
  CreateBucketCommand, GetObjectCommand, HeadObjectCommand, ListObjectsV2Command, NoSuchKey, PutObjectCommand, S3Client,
} from '@aws-sdk/client-s3';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import { createRequire, syncBuiltinESMExports } from 'node:module';
import { Readable, Writable } from 'node:stream';
import { setTimeout as delay } from 'node:timers/promises';
import { pipeline } from 'node:stream/promises';
import { afterEach, describe, expect, it } from 'vitest';

const require = createRequire(import.meta.url);
import { decodeAwsChunked, LOCAL_S3_CREDENTIALS, startLocalS3, type LocalS3, type S3EventNotification } from '../../../scripts/local/s3-server.ts';
import { decodeS3Key } from '../../../transform/loader/handler.ts';

let s3: LocalS3 | undefined;
let client: S3Client | undefined;
afterEach(async () => {
  client?.destroy();
  await s3?.stop();
  client = undefined;
  s3 = undefined;
});

describe('local S3', () => {
  it('serves PutObject, streaming GetObject, Range, HeadObject and ListObjectsV2 with consistent ETags', async () => {
    const events: S3EventNotification[] = [];
    s3 = await startLocalS3({ buckets: ['alb-logs'], onObjectCreated: (e) => events.push(e) });
    client = new S3Client({ endpoint: s3.endpoint, forcePathStyle: true, region: 'us-east-1', credentials: LOCAL_S3_CREDENTIALS });
    const body = Buffer.alloc(8 * 1024 * 1024 + 7, 'abc');
    const key = 'logs +2024 %/été.log.gz';
    const put = await client.send(new PutObjectCommand({ Bucket: 'alb-logs', Key: key, Body: body }));
    const md5 = createHash('md5').update(body).digest('hex');
    expect(put.ETag).toBe(`"${md5}"`);

    const head = await client.send(new HeadObjectCommand({ Bucket: 'alb-logs', Key: key }));
    expect(head).toMatchObject({ ETag: `"${md5}"`, ContentLength: body.length });

    const get = await client.send(new GetObjectCommand({ Bucket: 'alb-logs', Key: key }));
    expect(get.ETag).toBe(`"${md5}"`);
    const hash = createHash('md5');
    let chunks = 0;
    for await (const chunk of get.Body as AsyncIterable<Buffer>) {
      hash.update(chunk);
      chunks += 1;
    }
    expect(hash.digest('hex')).toBe(md5);
    expect(chunks).toBeGreaterThan(1); // streamed, not one buffer

    const range = await client.send(new GetObjectCommand({ Bucket: 'alb-logs', Key: key, Range: 'bytes=3-8' }));
    expect(await range.Body!.transformToString()).toBe('abcabc');

    const list = await client.send(new ListObjectsV2Command({ Bucket: 'alb-logs', Prefix: 'logs ' }));
    expect(list.Contents?.map((c) => [c.Key, c.ETag, c.Size])).toEqual([[key, `"${md5}"`, body.length]]);

    const missing = await client.send(new GetObjectCommand({ Bucket: 'alb-logs', Key: 'nope' })).catch((e: unknown) => e);
    expect(missing).toBeInstanceOf(NoSuchKey);

    // The notification is in S3's wire shape: form-encoded key, unquoted ETag.
    expect(events).toHaveLength(1);
    const record = events[0]!.Records[0]!;
    expect(record.eventName).toBe('ObjectCreated:Put');
    expect(record.s3.object.key).toBe('logs+%2B2024+%25/%C3%A9t%C3%A9.log.gz');
    expect(decodeS3Key(record.s3.object.key)).toBe(key);
    expect(record.s3.object).toMatchObject({ eTag: md5, size: body.length });
    expect(record.s3.bucket.name).toBe('alb-logs');
  });

  it('stores stream uploads (sent aws-chunked with a checksum trailer by the current SDK) byte for byte', async () => {
    s3 = await startLocalS3({ buckets: ['alb-logs'] });
    client = new S3Client({ endpoint: s3.endpoint, forcePathStyle: true, region: 'us-east-1', credentials: LOCAL_S3_CREDENTIALS });
    const body = Buffer.from(Array.from({ length: 300_000 }, (_, i) => (i * 7919) % 251));
    await client.send(new PutObjectCommand({ Bucket: 'alb-logs', Key: 'stream', Body: Readable.from([body.subarray(0, 100_000), body.subarray(100_000)]), ContentLength: body.length }));
    const head = await client.send(new HeadObjectCommand({ Bucket: 'alb-logs', Key: 'stream' }));
    expect(head.ContentLength).toBe(body.length);
    expect(head.ContentEncoding).toBeUndefined();
    expect(head.ETag).toBe(`"${createHash('md5').update(body).digest('hex')}"`);
    const get = await client.send(new GetObjectCommand({ Bucket: 'alb-logs', Key: 'stream' }));
    expect(Buffer.from(await get.Body!.transformToByteArray()).equals(body)).toBe(true);
  });

  it('answers a PutObject only once the object is written, however slow the disk', async () => {
    // A slow disk cannot be caused here, so this test simulates one (the only mock in this file): every
    // file write stream, s3rver's (fs-extra) and the fix's (node:fs), opens and writes 50 ms late.
    // s3rver alone answers before its file is written, and the GetObject after it reads a missing or short object.
    const fsExtra = createRequire(require.resolve('s3rver'))('fs-extra') as typeof fs;
    const originals = [fs.createWriteStream, fsExtra.createWriteStream] as const;
    const slow = (real: typeof fs.createWriteStream) => ((file: fs.PathLike) => {
      let target: fs.WriteStream | undefined;
      const opened = () => delay(50).then(() => (target ??= real(file)));
      return new Writable({
        write(chunk: Buffer, _encoding, callback) { void opened().then((t) => t.write(chunk, callback)); },
        final(callback) { void opened().then((t) => t.end(callback)); },
      });
    }) as unknown as typeof fs.createWriteStream;
    fs.createWriteStream = slow(originals[0]);
    fsExtra.createWriteStream = slow(originals[1]);
    syncBuiltinESMExports();
    try {
      s3 = await startLocalS3({ buckets: ['alb-logs'] });
      client = new S3Client({ endpoint: s3.endpoint, forcePathStyle: true, region: 'us-east-1', credentials: LOCAL_S3_CREDENTIALS, maxAttempts: 1 });
      for (const [i, body] of [Buffer.alloc(200_000, 'a'), Buffer.alloc(300_000, 'b')].entries()) {
        // a new object, then its replacement; a buffer body, then a stream (sent aws-chunked)
        await client.send(new PutObjectCommand({
          Bucket: 'alb-logs', Key: 'slow', Body: i === 0 ? body : Readable.from([body]), ContentLength: body.length,
        }));
        const get = await client.send(new GetObjectCommand({ Bucket: 'alb-logs', Key: 'slow' }));
        expect(get.ETag).toBe(`"${createHash('md5').update(body).digest('hex')}"`);
        expect(Buffer.from(await get.Body!.transformToByteArray()).equals(body)).toBe(true);
      }
      const listed = await client.send(new ListObjectsV2Command({ Bucket: 'alb-logs' }));
      expect(listed.Contents?.map((c) => c.Key)).toEqual(['slow']); // no temporary file is listed
    } finally {
      [fs.createWriteStream, fsExtra.createWriteStream] = originals;
      syncBuiltinESMExports();
    }
  });

  it('decodes aws-chunked framing split at any byte', async () => {
    const framed = Buffer.from('5;chunk-signature=ab\r\nhello\r\n6\r\n world\r\n0\r\nx-amz-checksum-crc32:AAAAAA==\r\n\r\n');
    for (let cut = 1; cut < framed.length; cut += 1) {
      let length = -1;
      const decoder = decodeAwsChunked((n) => { length = n; });
      const out: Buffer[] = [];
      decoder.on('data', (d: Buffer) => out.push(d));
      await pipeline(Readable.from([framed.subarray(0, cut), framed.subarray(cut)]), decoder);
      expect(Buffer.concat(out).toString()).toBe('hello world');
      expect(length).toBe(11);
    }
    await expect(pipeline(Readable.from([Buffer.from('5\r\nhel')]), decodeAwsChunked())).rejects.toThrow(/ended before its final chunk/);
  });

  it('refuses other credentials (s3rver knows one key pair)', async () => {
    s3 = await startLocalS3({ buckets: ['alb-logs'] });
    client = new S3Client({ endpoint: s3.endpoint, forcePathStyle: true, region: 'us-east-1', credentials: { accessKeyId: 'other', secretAccessKey: 'other' } });
    const error = await client.send(new HeadObjectCommand({ Bucket: 'alb-logs', Key: 'a' })).catch((e: unknown) => e);
    expect((error as { $metadata: { httpStatusCode: number } }).$metadata.httpStatusCode).toBe(403);
  });

  it('creates buckets through the API, keeps objects in a given directory, and stops cleanly', async () => {
    const { mkdtemp, readdir } = await import('node:fs/promises');
    const os = await import('node:os');
    const path = await import('node:path');
    const directory = await mkdtemp(path.join(os.tmpdir(), 's3-dir-'));
    s3 = await startLocalS3({ directory });
    client = new S3Client({ endpoint: s3.endpoint, forcePathStyle: true, region: 'us-east-1', credentials: LOCAL_S3_CREDENTIALS });
    await client.send(new CreateBucketCommand({ Bucket: 'made-by-api' }));
    await client.send(new PutObjectCommand({ Bucket: 'made-by-api', Key: 'a', Body: 'x' }));
    expect(await readdir(directory)).toContain('made-by-api');
    await s3.stop();
    s3 = undefined;
    expect(await readdir(directory)).toContain('made-by-api'); // a caller's directory is kept
  });
});
