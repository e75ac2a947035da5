// Child process for the hard-crash test (load-object-crash.test.ts): loads one object with a file
// checkpoint store until the parent kills it with SIGKILL from inside the Firehose stand-in's sink.
import { S3Client } from '@aws-sdk/client-s3';
import { FileCheckpointStore } from '../../../transform/loader/checkpoint.ts';
import { MemoryFailureSink } from '../../../transform/loader/failures.ts';
import { createFirehoseClient } from '../../../transform/loader/firehose-client.ts';
import { loadObject } from '../../../transform/loader/load-object.ts';

const env = (name: string): string => {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set`);
  return value;
};
const credentials = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' };
await loadObject({
  s3: new S3Client({ endpoint: env('CRASH_S3_ENDPOINT'), forcePathStyle: true, region: 'us-east-2', credentials }),
  firehose: createFirehoseClient({ endpoint: env('CRASH_FIREHOSE_ENDPOINT'), region: 'us-east-2', credentials, maxAttempts: 1 }),
  deliveryStream: env('CRASH_STREAM'),
  checkpoints: new FileCheckpointStore(env('CRASH_CHECKPOINT_DIR')),
  failures: new MemoryFailureSink(),
  bucket: env('CRASH_BUCKET'),
  key: env('CRASH_KEY'),
  concurrency: Number(env('CRASH_CONCURRENCY')),
  limits: { maxRecordsPerBatch: Number(env('CRASH_BATCH')) },
  leaseUntil: Date.now() + Number(env('CRASH_LEASE_MS')),
});
process.stdout.write('finished\n');
