// The backfill worker as the local end-to-end test runs it: the real loader handler in direct
// delivery with a progress table (what the stack deploys as the backfill worker), its clients
// pointed at the loopback stand-ins (s3rver, dynalite) and the embedded engine. Shared by the test
// and its crash child, so both run exactly the same worker.
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { S3Client } from '@aws-sdk/client-s3';
import { Client } from '@opensearch-project/opensearch';
import { LOCAL_S3_CREDENTIALS } from '../../../scripts/local/s3-server.ts';
import { BackfillProgressStore } from '../../../transform/backfill/progress.ts';
import type { BulkSender } from '../../../transform/bulk-index/bulk.ts';
import { enricherForLambda } from '../../../transform/enrich/data.ts';
import { DynamoDbCheckpointStore, type CheckpointStore } from '../../../transform/loader/checkpoint.ts';
import { DirectoryErrorRecordSink } from '../../../transform/loader/error-records.ts';
import { MemoryFailureSink } from '../../../transform/loader/failures.ts';
import { createHandler } from '../../../transform/loader/handler.ts';
import { createLogger, createMetrics, SERVICE_NAMES } from '../../../transform/observability.ts';
import { Semaphore } from '../../../transform/semaphore.ts';

export interface WorkerSettings {
  s3Endpoint: string;
  dynamodbEndpoint: string;
  opensearchUrl: string;
  indexPrefix: string;
  checkpointTable: string;
  progressTable: string;
  errorsDirectory: string;
  maxReceiveCount: number;
}

/** `checkpoints` wraps the worker's DynamoDB checkpoint store (the crash child watches its commits). */
export async function backfillWorker(settings: WorkerSettings, hooks: { send?: BulkSender; checkpoints?: (store: CheckpointStore) => CheckpointStore } = {}) {
  const { send } = hooks;
  const dynamodb = new DynamoDBClient({ endpoint: settings.dynamodbEndpoint, region: 'us-east-2', credentials: { accessKeyId: 'local', secretAccessKey: 'local' } });
  const checkpoints = new DynamoDbCheckpointStore(dynamodb, settings.checkpointTable);
  const enrich = await enricherForLambda({});
  const client = new Client({ node: settings.opensearchUrl });
  const handler = createHandler({
    s3: new S3Client({ endpoint: settings.s3Endpoint, forcePathStyle: true, region: 'us-east-2', credentials: LOCAL_S3_CREDENTIALS }),
    checkpoints: hooks.checkpoints?.(checkpoints) ?? checkpoints,
    failures: new MemoryFailureSink(),
    logger: createLogger(SERVICE_NAMES.backfill),
    metrics: createMetrics(SERVICE_NAMES.backfill),
    direct: {
      client, indexPrefix: settings.indexPrefix, errors: new DirectoryErrorRecordSink(settings.errorsDirectory),
      // Small requests, one at a time, a checkpoint after each: several per object, so a crash can fall between them.
      bulkSlots: new Semaphore(1), bulkBytes: 32 * 1024, retryWindowMs: 10_000, checkpointEvery: { milliseconds: 0 },
      ...(enrich ? { enrich } : {}), ...(send ? { send } : {}),
    },
    backfill: { progress: new BackfillProgressStore(dynamodb, settings.progressTable), maxReceiveCount: settings.maxReceiveCount },
    deadlineMarginMs: 0,
  });
  return { handler, close: async () => { dynamodb.destroy(); await client.close(); } };
}
