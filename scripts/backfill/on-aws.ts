// `albatross backfill s3://… --on-aws`: instead of indexing here, queue one message per log object on
// the deployed stack's backfill queue (its worker Lambdas index them, transform/backfill/), and read
// a run's progress back from the stack's backfill table (`--status`). The stack's resources come
// from its CloudFormation outputs (BackfillQueueUrl, BackfillTableName) unless given explicitly.
// Every client is the SDK's default one: the default credentials chain, and the SDK's standard
// endpoint variables (AWS_ENDPOINT_URL_SQS, _DYNAMODB, _S3, _CLOUDFORMATION) point it at local
// stand-ins, which is how the local end-to-end test runs it.
import { SendMessageBatchCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { backfillMessageBody, backfillRunId, objectUrl, type BackfillObjectMessage } from '../../transform/backfill/message.ts';
import type { BackfillProgressStore, RunInfo } from '../../transform/backfill/progress.ts';
import { LOG_TYPE_SPECS, logTypeOfKey, type LogType } from '../../transform/log-types.ts';
import { parseAlbObjectKey } from '../../transform/source/s3-key.ts';
import { stackOutputs } from '../aws/stack-outputs.ts';
import { selectByDeliveryDate } from './run.ts';
import type { LogSource, SourceObject } from './sources.ts';

export interface StackResources {
  queueUrl: string;
  tableName: string;
}

/** The CloudFormation outputs the stack (infra/albatross-stack.ts) publishes for the CLI. */
export const STACK_OUTPUTS = { queueUrl: 'BackfillQueueUrl', tableName: 'BackfillTableName' } as const;

/** The backfill queue and table: the explicit ones, else the stack's outputs (DescribeStacks). */
export async function stackResources(options: { stack: string; queueUrl?: string; tableName?: string }): Promise<StackResources> {
  if (options.queueUrl !== undefined && options.tableName !== undefined) return { queueUrl: options.queueUrl, tableName: options.tableName };
  const outputs = await stackOutputs(options.stack);
  const queueUrl = options.queueUrl ?? outputs.get(STACK_OUTPUTS.queueUrl);
  const tableName = options.tableName ?? outputs.get(STACK_OUTPUTS.tableName);
  if (queueUrl === undefined || tableName === undefined) {
    throw new Error(`stack ${options.stack} has no ${STACK_OUTPUTS.queueUrl} / ${STACK_OUTPUTS.tableName} outputs: deploy this version of Albatross first`);
  }
  return { queueUrl, tableName };
}

export interface QueueOptions {
  source: LogSource;
  logTypes: readonly LogType[];
  from?: string;
  to?: string;
  queueUrl: string;
  sqs: SQSClient;
  progress: BackfillProgressStore;
  now?: () => number;
}

export interface QueueSummary {
  run: RunInfo;
  /** Log objects selected (type and delivery date). */
  objects: number;
  bytes: number;
  /** Queued now. */
  queued: number;
  bytesQueued: number;
  /** Queued (or done) by an earlier run of the same command. */
  alreadyQueued: number;
  objectsSkipped: { key: string; reason: string }[];
}

/** Lists the source, selects the log objects of the days and types, and queues those the run has not queued yet. */
export async function queueBackfill(options: QueueOptions): Promise<QueueSummary> {
  const { source } = options;
  if (source.bucket === undefined) {
    throw new Error(`--on-aws needs an s3://bucket/prefix source: the worker Lambdas read the objects from S3, not from ${source.description}`);
  }
  const now = options.now ?? Date.now;
  const run = await options.progress.startRun({
    run: backfillRunId({ source: source.description, logTypes: options.logTypes, ...(options.from ? { from: options.from } : {}), ...(options.to ? { to: options.to } : {}) }),
    source: source.description, createdAt: now(),
    ...(options.from ? { from: options.from } : {}), ...(options.to ? { to: options.to } : {}),
  });
  const summary: QueueSummary = { run, objects: 0, bytes: 0, queued: 0, bytesQueued: 0, alreadyQueued: 0, objectsSkipped: [] };
  let page: SourceObject[] = [];
  const flush = async () => {
    const byUrl = new Map(page.map((object) => [objectUrl({ bucket: source.bucket!, key: object.key }), object]));
    page = [];
    const wanted = new Set(await options.progress.toQueue(run.run, [...byUrl.keys()]));
    summary.alreadyQueued += byUrl.size - wanted.size;
    const messages: { url: string; object: SourceObject; message: BackfillObjectMessage }[] = [...wanted].map((url) => {
      const object = byUrl.get(url)!;
      return {
        url, object,
        message: {
          run: run.run, bucket: source.bucket!, key: object.key, etag: object.version.replace(/"/g, ''), size: object.size,
          ...(options.from ? { from: options.from } : {}), ...(options.to ? { to: options.to } : {}),
        },
      };
    });
    // The message first, then its progress item: a crash in between queues the object again next time
    // (indexed twice = overwritten), never leaves it marked queued without a message.
    for (let i = 0; i < messages.length; i += 10) {
      const batch = messages.slice(i, i + 10);
      let entries = batch.map((m, j) => ({ Id: String(j), MessageBody: backfillMessageBody(m.message) }));
      for (let attempt = 0; entries.length > 0; attempt++) {
        if (attempt >= 5) throw new Error(`SQS refused ${entries.length} backfill messages 5 times`);
        const out = await options.sqs.send(new SendMessageBatchCommand({ QueueUrl: options.queueUrl, Entries: entries }));
        const failed = new Set((out.Failed ?? []).map((f) => f.Id));
        entries = entries.filter((entry) => failed.has(entry.Id));
      }
      for (const m of batch) {
        await options.progress.markQueued(run.run, m.url, m.object.size, now());
        summary.queued++;
        summary.bytesQueued += m.object.size;
      }
    }
  };
  for await (const object of source.list()) {
    const type = logTypeOfKey(object.key);
    const key = parseAlbObjectKey(object.key);
    if (type === undefined) summary.objectsSkipped.push({ key: object.key, reason: key.reason ?? key.kind });
    else if (!options.logTypes.includes(type)) summary.objectsSkipped.push({ key: object.key, reason: `${LOG_TYPE_SPECS[type].label} (not among the log types selected)` });
    else if (!selectByDeliveryDate(key.date, options.from, options.to)) summary.objectsSkipped.push({ key: object.key, reason: 'delivery date outside --from/--to' });
    else {
      summary.objects++;
      summary.bytes += object.size;
      page.push(object);
      if (page.length >= 100) await flush();
    }
  }
  if (page.length > 0) await flush();
  return summary;
}
