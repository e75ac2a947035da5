// A log bucket in another account: the loader's S3 client names its owner (ExpectedBucketOwner) on every
// request to it, through the real SDK against the local S3, which refuses a wrong owner as S3 does.
import { S3Client } from '@aws-sdk/client-s3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { expectBucketOwner } from '../../../transform/loader/bucket-owner.ts';
import { loadObject } from '../../../transform/loader/load-object.ts';
import { MemoryCheckpointStore } from '../../../transform/loader/checkpoint.ts';
import { MemoryFailureSink } from '../../../transform/loader/failures.ts';
import { LOCAL_BUCKET_OWNER } from '../../../scripts/local/s3-server.ts';
import { ACCESS_LOG_KEY, BUCKET, CREDENTIALS, STREAM, expectExactlyOnce, gzipText, logLines, startStandIns, type StandIns } from './harness.ts';

let env: StandIns;
beforeEach(async () => { env = await startStandIns(); });
afterEach(async () => { await env.stop(); });

function clientExpecting(owner: string): S3Client {
  const s3 = new S3Client({ endpoint: env.localS3.endpoint, forcePathStyle: true, region: 'us-east-2', credentials: CREDENTIALS });
  expectBucketOwner(s3, BUCKET, owner);
  return s3;
}

describe('expectBucketOwner', () => {
  it('loads from the bucket of the expected owner, and refuses to read a bucket someone else owns', async () => {
    const text = logLines(50).join('\n') + '\n';
    await env.put(ACCESS_LOG_KEY, gzipText(text));
    const load = (s3: S3Client) => loadObject({
      s3, firehose: env.firehose, deliveryStream: STREAM, checkpoints: new MemoryCheckpointStore(), failures: new MemoryFailureSink(),
      bucket: BUCKET, key: ACCESS_LOG_KEY,
    });
    const wrong = clientExpecting('999988887777');
    await expect(load(wrong)).rejects.toMatchObject({ name: 'AccessDenied', $metadata: { httpStatusCode: 403 } });
    expect(env.sink.records).toEqual([]);
    const right = clientExpecting(LOCAL_BUCKET_OWNER);
    expect((await load(right)).recordsSent).toBe(50);
    expectExactlyOnce(env.sink.records, ACCESS_LOG_KEY, text);
    wrong.destroy();
    right.destroy();
  });

  it('leaves requests to other buckets alone, and refuses an owner that is not an account id', async () => {
    const s3 = clientExpecting('999988887777');
    await expect(s3.send(new (await import('@aws-sdk/client-s3')).ListObjectsV2Command({ Bucket: 'another-bucket' }))).rejects.toMatchObject({ name: 'NoSuchBucket' });
    s3.destroy();
    expect(() => expectBucketOwner(new S3Client({}), BUCKET, 'me')).toThrow(/must be a 12-digit account id, got "me"/);
  });
});
